"""A manager, in a real browser, finds a ticket by an accented fragment of the holder's name,
downloads the results as CSV, and opens the ticket.

`search_for` leaves the browser on the results page, so further steps (an export of the same
results, say) can start from there.
"""

import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from playwright.sync_api import Page, expect

from tests import factories as f
from tickets import roles

PASSWORD = "a-long-password-1"


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def search_for(page: Page, term: str) -> None:
    page.get_by_role("link", name="Tickets", exact=True).click()
    expect(page.get_by_role("heading", name="Tickets")).to_be_visible()
    page.get_by_label("Search", exact=True).fill(term)
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tickets/\?.*q="))


@pytest.fixture
def tickets_to_find():
    """Two holders, one of whom the search must find: (the wanted ticket, the other one)."""
    wanted = f.IssuedTicketFactory(
        name="Zoë Núñez Ibáñez", code="ZNI-4711", email="zoe@example.com"
    )
    other = f.IssuedTicketFactory(name="Marta Ruiz", code="MR-0815", email="marta@example.com")
    return wanted, other


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_manager_searches_by_an_accented_fragment_and_opens_the_ticket(
    page: Page, live_server, tickets_to_find
):
    wanted, other = tickets_to_find
    manager = get_user_model().objects.create_user("mona", password=PASSWORD, first_name="Mona")
    manager.groups.add(Group.objects.get(name=roles.MANAGER))
    log_in(page, live_server, "mona")

    search_for(page, "NUÑEZ ibá")

    results = page.locator("#ticket-results tbody tr")
    expect(results).to_have_count(1)
    expect(results.first).to_contain_text("Zoë Núñez Ibáñez")
    expect(page.get_by_text(other.code)).to_have_count(0)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV", exact=True).click()
    download = download_info.value
    assert download.suggested_filename.startswith("comps-tickets-")
    exported = Path(download.path()).read_text(encoding="utf-8-sig")
    assert wanted.code in exported
    assert other.code not in exported  # exactly the search's results

    page.get_by_role("link", name=wanted.code).click()
    expect(page).to_have_url(re.compile(rf"/tickets/{wanted.pk}/$"))
    expect(page.get_by_role("heading", name=re.compile(re.escape(wanted.code)))).to_be_visible()
    expect(page.get_by_text("zoe@example.com")).to_be_visible()
