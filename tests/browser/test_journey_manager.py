"""A manager's night, in Spanish, in a real browser: searches the tickets, filters them to one
event, exports the result, opens a ticket, reconciles the event against the sandbox and settles
a discrepancy with a reason. Every page on the way is scanned by axe and photographed at desktop
and phone widths (tests/browser/screenshots/)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import factories as f
from tests.browser.accessibility import look
from tests.browser.journeys import go_to, log_in
from tests.fixtures.worker import drain_tasks
from tests.services.reconciliation.support import plant
from tickets.models import Discrepancy, DiscrepancyState, IssuedTicket


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_manager_searches_exports_reconciles_and_settles_a_discrepancy(
    spanish_page: Page, live_server, issuing
) -> None:
    page = spanish_page
    planted = plant(issuing)  # five tickets issued through Comps, then changed on Fourvenues
    ours = IssuedTicket.objects.filter(event=issuing.event)
    elsewhere = f.IssuedTicketFactory(name="Guest Elsewhere", code="ELS-0001")
    f.manager(username="mona", first_name="Mona")

    log_in(page, live_server, "mona")
    look(page, "manager-01-home")

    # Search: every guest, then only the night being reconciled.
    go_to(page, "Entradas")
    page.locator("#id_q").fill("Guest")
    page.locator("#ticket-search-form button[type=submit]").first.click()
    results = page.locator("#ticket-results tbody tr")
    expect(results).to_have_count(ours.count() + 1)
    look(page, "manager-02-search")

    page.locator("#search-filters > summary").click()  # folded away once results show
    page.locator("#id_event").select_option(str(issuing.event.pk))
    page.locator("#ticket-search-form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(rf"event={issuing.event.pk}"))
    expect(page.locator("#filter-chips")).to_contain_text(issuing.event.name)
    expect(results).to_have_count(ours.count())
    expect(page.get_by_text(elsewhere.code)).to_have_count(0)
    look(page, "manager-03-filtered")

    with page.expect_download() as download_info:
        page.locator("a[href$='format=csv-es']").click()  # the CSV Spanish Excel opens
    exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert ";" in exported.splitlines()[0]
    assert all(ticket.code in exported for ticket in ours)
    assert elsewhere.code not in exported  # exactly the filtered results

    page.get_by_role("link", name=planted.untouched.code).click()
    expect(page).to_have_url(re.compile(rf"/tickets/{planted.untouched.pk}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(planted.untouched.code)
    look(page, "manager-04-ticket")

    # Reconcile the event: the button queues a run, which the worker carries out.
    go_to(page, "Conciliación")
    look(page, "manager-05-reconciliation")
    page.locator(f"#event-{issuing.event.pk}").get_by_role("link", name=issuing.event.name).click()
    expect(page.locator("#last-run")).to_be_visible()
    page.locator(f"#full-{issuing.event.pk}").check()
    page.get_by_role("button", name="Conciliar ahora").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    drain_tasks()
    page.reload()
    # One of each kind: missing on Fourvenues, unknown here, a holder who differs.
    expect(page.locator("#open-counts strong")).to_have_text(["1", "1", "1"])
    look(page, "manager-06-event")

    # Settle the ticket issued by hand on Fourvenues: reviewed, with a reason.
    go_to(page, "Conciliación")
    page.get_by_role("link", name="Discrepancias por revisar").first.click()
    rows = page.locator("#discrepancies tbody tr")
    expect(rows).to_have_count(3)
    look(page, "manager-07-queue")
    by_hand = rows.filter(has_text="Issued By Hand")
    by_hand.get_by_role("checkbox").check()
    page.get_by_label("Motivo para dar por revisadas las seleccionadas").fill("Vendida en taquilla")
    page.get_by_role("button", name="Dar por revisadas las seleccionadas").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    look(page, "manager-08-settled")

    states = dict(Discrepancy.objects.values_list("remote_id", "state"))
    assert states.pop(planted.by_hand["_id"]) == DiscrepancyState.ACKNOWLEDGED
    assert set(states.values()) == {DiscrepancyState.OPEN}
    settled = Discrepancy.objects.get(remote_id=planted.by_hand["_id"])
    assert settled.reason == "Vendida en taquilla"
