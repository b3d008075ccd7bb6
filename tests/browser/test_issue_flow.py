"""An issuer, in a real browser, issues comps for three holders and sees their codes.

Everything is real except Fourvenues: the login page, the issuing form with its htmx, the review
and confirm pages, the background worker sending over HTTP to the sandbox, and the detail page
that polls itself until the codes are there.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests import factories as f
from tests.browser.journeys import sandbox_free_option

HOLDERS = [
    ("Ada Lovelace", "ada@example.com"),
    ("Grace Hopper", "grace@example.com"),
    ("Alan Turing", "alan@example.com"),
]
# Generous: on a slow CI machine the worker sends one ticket per call, throttled.
SENT_TIMEOUT_MS = 30_000


@pytest.mark.browser
# The live server and the worker run in other threads: they must see committed rows, and the
# roles and reasons the migrations made must come back after the flush.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_issuer_issues_comps_for_three_holders_and_sees_their_codes(
    page: Page, live_server, sandbox, worker
):
    event, rate, option = sandbox_free_option(sandbox)
    f.issuer(username="ivy", first_name="Ivy", last_name="Issuer")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill("a-long-password-1")  # the factories' password
    page.get_by_role("button", name="Log in").click()

    page.locator("#nav").get_by_role("link", name="Issue comps").click()
    expect(page.get_by_role("heading", name="Issue comps")).to_be_visible()
    # Rates and options arrive by htmx once the event (then the rate) is picked; select_option
    # waits until the option exists.
    page.locator("#id_event").select_option(str(event.pk))
    page.get_by_label("Rate").select_option(str(rate.pk))
    page.get_by_label("Price option").select_option(str(option.pk))
    page.get_by_label("Reason").select_option(label="Artist")

    rows = page.locator("#holder-rows [data-holder-row]")
    for index, (name, email) in enumerate(HOLDERS):
        if index > 0:
            page.get_by_role("button", name="Add a holder").click()
        expect(rows).to_have_count(index + 1)
        rows.nth(index).get_by_label("Full name").fill(name)
        rows.nth(index).get_by_label("Email").fill(email)

    page.get_by_role("button", name="Review before issuing").click()
    expect(page.get_by_role("heading", name="Review before issuing")).to_be_visible()
    page.get_by_role("button", name="Confirm and issue 3 comps").click()

    # The detail page updates by itself while the worker sends; no reload, no sleep.
    expect(page).to_have_url(re.compile(r"/issuances/\d+/$"))
    codes = page.locator("#issuance-progress code.ticket-code")
    expect(codes).to_have_count(3, timeout=SENT_TIMEOUT_MS)
    expect(page.get_by_text("Completed", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name=re.compile("^QR code of "))).to_have_count(3)
    for name, email in HOLDERS:
        expect(page.get_by_role("row", name=re.compile(re.escape(name)))).to_contain_text(email)

    remote_codes = sorted(ticket["code"] for ticket in sandbox.tickets())
    assert sorted(codes.all_inner_texts()) == remote_codes
    assert len(remote_codes) == 3
