"""A manager, in a real browser, finds a holder by their document number: the number is posted,
never in the address bar, and the results, their export and a saved search all work by a token.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from tests import factories as f
from tests.browser.test_search_flow import PASSWORD, log_in
from tickets import roles
from tickets.text import document_digest

DOCUMENT = "98765432W"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_manager_finds_a_holder_by_document_without_it_in_any_address(page: Page, live_server):
    line = f.IssuanceLineFactory(
        state="confirmed",
        document_type="dni",
        document_number=DOCUMENT,
        document_digest=document_digest(DOCUMENT),
    )
    wanted = f.IssuedTicketFactory(line=line, name="Dora Canary", code="DC-0001")
    other = f.IssuedTicketFactory(name="Marta Ruiz", code="MR-0815")
    manager = get_user_model().objects.create_user("mona", password=PASSWORD)
    manager.groups.add(Group.objects.get(name=roles.MANAGER))
    addresses: list[str] = []
    page.on("request", lambda request: addresses.append(request.url))
    log_in(page, live_server, "mona")

    page.get_by_role("link", name="Tickets", exact=True).click()
    page.get_by_label("Find by document number").fill("98765432-w")
    page.get_by_role("button", name="Find by document number").click()

    expect(page).to_have_url(re.compile(r"/tickets/\?doc=[\w-]+$"))
    results = page.locator("#ticket-results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Dora Canary")
    expect(page.get_by_text(other.code)).to_have_count(0)
    expect(page.locator("#document-search")).to_contain_text("•••32W")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV", exact=True).click()
    exported = Path(download_info.value.path()).read_text(encoding="utf-8-sig")
    assert wanted.code in exported
    assert other.code not in exported

    page.get_by_placeholder("Name this search").fill("Dora")
    page.get_by_role("button", name="Save search").click()
    page.get_by_role("link", name="Dora", exact=True).click()
    expect(page.locator("#ticket-results tbody tr")).to_have_count(1)

    assert addresses, "the browser made requests"
    for address in addresses:
        assert "98765432" not in address.upper(), address


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_document_number_typed_into_the_search_box_never_reaches_an_address(
    page: Page, live_server
):
    line = f.IssuanceLineFactory(
        state="confirmed",
        document_type="dni",
        document_number=DOCUMENT,
        document_digest=document_digest(DOCUMENT),
    )
    f.IssuedTicketFactory(line=line, name="Dora Canary", code="DC-0001")
    f.IssuedTicketFactory(name="Pablo 600123456", phone="+34600123456", code="PH-0001")
    manager = get_user_model().objects.create_user("mona", password=PASSWORD)
    manager.groups.add(Group.objects.get(name=roles.MANAGER))
    addresses: list[str] = []
    page.on("request", lambda request: addresses.append(request.url))
    log_in(page, live_server, "mona")
    page.get_by_role("link", name="Tickets", exact=True).click()

    page.get_by_label("Search", exact=True).fill(DOCUMENT)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tickets/\?doc=[\w-]+$"))
    expect(page.locator("#ticket-results tbody tr")).to_have_count(1)
    expect(page.locator("#ticket-results tbody tr").first).to_contain_text("Dora Canary")
    for address in addresses:
        assert "98765432" not in address.upper(), address

    # Digits that are no one's document number are an ordinary search, in the address.
    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Search", exact=True).fill("600123456")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tickets/\?q=600123456$"))
    expect(page.locator("#ticket-results tbody tr")).to_have_count(1)
