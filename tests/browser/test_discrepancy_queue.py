"""A manager, in a real browser, works through the discrepancy queue that a reconciliation
against the sandbox filled: filters it, adopts a ticket issued by hand on Fourvenues, and
acknowledges the rest in bulk with a reason."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from tests.browser.test_search_flow import PASSWORD, log_in
from tests.services.reconciliation.support import plant, reconcile
from tickets import roles
from tickets.models import Discrepancy, DiscrepancyState, IssuedTicket


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_manager_adopts_one_difference_and_acknowledges_the_others(
    page: Page, live_server, issuing
):
    planted = plant(issuing)
    reconcile(issuing)
    manager = get_user_model().objects.create_user("mona", password=PASSWORD)
    manager.groups.add(Group.objects.get(name=roles.MANAGER))
    log_in(page, live_server, "mona")

    page.get_by_role("link", name="Reconciliation", exact=True).click()
    event_row = page.locator(f"#event-{issuing.event.pk}")
    expect(event_row.locator(".sync-badge")).to_have_text("Out of sync · 3 open")
    event_row.get_by_role("link", name="3").click()
    expect(page.get_by_role("heading", name="Discrepancy queue")).to_be_visible()
    expect(page.locator("#discrepancies tbody tr")).to_have_count(3)

    page.get_by_label("Kind").select_option(label="Unknown here")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"kind=unknown_locally"))
    rows = page.locator("#discrepancies tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Issued By Hand")
    rows.first.get_by_role("button", name="Adopt").click()
    expect(page.get_by_role("alert").filter(has_text="adopted")).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind=unknown_locally"))  # the filter survives

    page.get_by_label("Kind").select_option(label="Any kind")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(2)
    for checkbox in page.get_by_role("checkbox").all():
        checkbox.check()
    page.get_by_label("Reason for acknowledging the selected").fill("Edited at the door")
    page.get_by_role("button", name="Acknowledge selected").click()
    expect(page.get_by_role("alert").filter(has_text="2 differences acknowledged")).to_be_visible()
    expect(page.locator("#discrepancies")).to_contain_text("Nothing to show")

    states = dict(Discrepancy.objects.values_list("kind", "state"))
    assert states == {
        "unknown_locally": DiscrepancyState.ADOPTED,
        "drift": DiscrepancyState.ACKNOWLEDGED,
        "missing_remotely": DiscrepancyState.ACKNOWLEDGED,
    }
    adopted = IssuedTicket.objects.get(remote_id=planted.by_hand["_id"])
    assert adopted.adopted_at is not None
    assert adopted.line is None
