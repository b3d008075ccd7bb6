"""The issuing form's htmx and static JavaScript in a real browser: choices that follow the
event and rate, rows added and removed (and renumbered), the attribution switch, and a CSV
appended to the rows. The flow through to the codes is in test_issue_flow.py."""

import re

import pytest
from playwright.sync_api import Page, expect

from tests import factories as f
from tickets.models import Issuance

CSV = "nombre;apellidos;correo\nDora;Díaz;DORA@example.com\nEd;;ed@\nFay;Fox;fay@example.com\n"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_form_follows_choices_and_manages_rows_without_reloading(page: Page, live_server):
    f.CredentialFactory()
    option = f.PriceOptionFactory(content="Free entry", min_age=21)
    rate, event = option.rate, option.rate.event
    f.PriceOptionFactory(rate__name="Other event's rate")
    f.SupplementFactory(label="Welcome drink", rate_names=[rate.name])
    f.SupplementFactory(label="VIP table", rate_names=["Some other rate"])
    channel = f.ChannelFactory(name="Box office")
    f.issuer(username="ivy")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/issue/")

    # The rate list follows the event, the option list the rate, and the supplements the rate.
    page.locator("#id_event").select_option(str(event.pk))
    expect(page.get_by_label("Rate").locator("option")).to_have_count(2)  # placeholder + 1
    page.get_by_label("Rate").select_option(str(rate.pk))
    page.get_by_label("Price option").select_option(label="20.00 € face value · Free entry · 21+")
    expect(page.locator("#supplement-hint")).to_contain_text("Welcome drink")
    expect(page.locator("#supplement-hint")).not_to_contain_text("VIP table")
    page.get_by_label("Reason").select_option(label="Press")

    # Choosing "A channel" hides the promoter list.
    page.get_by_label("A channel").check()
    expect(page.locator("[data-attribution-target='promoter']")).to_be_hidden()
    page.get_by_label("Channel", exact=True).select_option(label=channel.name)

    rows = page.locator("#holder-rows [data-holder-row]")
    for index, name in enumerate(["Ann", "Ben", "Cat"]):
        if index:
            page.get_by_role("button", name="Add a holder").click()
        expect(rows).to_have_count(index + 1)
        rows.nth(index).get_by_label("Full name").fill(name)
        rows.nth(index).get_by_label("Email").fill(f"{name.lower()}@example.com")
    # New rows offer the rate's supplements only.
    expect(rows.nth(2).get_by_label("Supplements").locator("option")).to_have_text(
        ["Welcome drink (5.00 €)"]
    )

    # Removing the middle row renumbers the rest, so the formset sees no gap.
    rows.nth(1).get_by_role("button", name="Remove holder 2").click()
    expect(rows).to_have_count(2)
    expect(page.locator("#id_holders-TOTAL_FORMS")).to_have_value("2")
    expect(page.locator("[name='holders-1-full_name']")).to_have_value("Cat")
    expect(rows.nth(1).locator("[data-row-number]")).to_have_text("2")

    # A CSV appended after the typed rows; its bad line arrives as a row with its error, and is
    # fixed in place.
    page.get_by_text("Fill the rows from a list").click()
    page.get_by_label("Paste a list").fill(CSV)
    page.get_by_label("Add after the rows").check()
    page.get_by_role("button", name="Import into the rows").click()
    expect(page.locator("#csv-report")).to_contain_text("Imported 3 holders into the rows.")
    expect(page.locator("#csv-report")).to_contain_text("Holder 4 (line 3)")
    expect(rows).to_have_count(5)
    expect(page.locator("[name='holders-2-full_name']")).to_have_value("Dora Díaz")
    expect(page.locator("[name='holders-3-email']")).to_have_value("ed@")
    expect(rows.nth(3)).to_contain_text("Enter a valid email address.")
    expect(page.locator("[name='holders-4-email']")).to_have_value("fay@example.com")
    page.locator("[name='holders-3-email']").fill("ed@example.com")

    page.get_by_role("button", name="Review before issuing").click()
    expect(page.get_by_role("heading", name="Review before issuing")).to_be_visible()
    expect(page.locator("table.review-holders tbody tr")).to_have_count(5)
    expect(page.get_by_text("Channel: Box office")).to_be_visible()

    page.get_by_role("button", name="Confirm and issue 5 comps").click()
    expect(page).to_have_url(re.compile(r"/issuances/\d+/$"))
    issuance = Issuance.objects.get()
    assert [line.full_name for line in issuance.lines.order_by("position")] == [
        "Ann",
        "Cat",
        "Dora Díaz",
        "Ed",
        "Fay Fox",
    ]
    assert errors == []


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_filter_enter_and_fixing_a_warned_row_from_the_review(page: Page, live_server):
    f.CredentialFactory()
    option = f.PriceOptionFactory(content="Free entry")
    rate, event = option.rate, option.rate.event
    for n in range(24):
        f.EventFactory(name=f"Night {n:02d}")
    f.issuer(username="ivy")
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "ivy")
    page.goto(f"{live_server.url}/issue/")

    # The event picker filters as one types; a single match is picked and its rates load.
    events = page.locator("#id_event")
    page.get_by_label("Find an event").fill(event.name)
    expect(page.locator("#event-filter-count")).to_have_text("One event matches.")
    expect(events).to_have_value(str(event.pk))
    expect(page.get_by_label("Rate").locator("option")).to_have_count(2)
    page.get_by_label("Find an event").fill("night")
    expect(page.locator("#event-filter-count")).to_have_text("24 events match.")
    expect(events.locator("option:not([hidden])")).to_have_count(25)  # + the placeholder

    page.get_by_label("Rate").select_option(str(rate.pk))
    page.get_by_label("Price option").select_option(str(option.pk))
    page.get_by_label("Reason").select_option(label="Press")
    rows = page.locator("#holder-rows [data-holder-row]")
    rows.nth(0).get_by_label("Full name").fill("Ann")
    rows.nth(0).get_by_label("Email").fill("ann@example.com")
    page.get_by_role("button", name="Add a holder").click()
    rows.nth(1).get_by_label("Full name").fill("Ann Again")
    rows.nth(1).get_by_label("Email").fill("ann@example.com")

    # Enter in a holder field goes to the review: never the hidden CSV import.
    rows.nth(1).get_by_label("Email").press("Enter")
    expect(page.get_by_role("heading", name="Review before issuing")).to_be_visible()
    expect(page.locator("#review-warnings")).to_contain_text("Row 2 has the same email as row 1")
    expect(page.locator("#review-row-2")).to_have_class(re.compile("review-flagged"))

    # "Edit" goes back to the form at that row, with the cursor in it.
    page.get_by_role("link", name="Edit row 2").click()
    expect(page.locator("#holder-2 input").first).to_be_focused()
    page.go_back()

    # Remove it from the review itself: the review shows one holder, no warning.
    page.get_by_role("button", name="Remove row 2").click()
    expect(page.get_by_text("Row 2 (Ann Again) was removed")).to_be_visible()
    expect(page.locator("table.review-holders tbody tr")).to_have_count(1)
    expect(page.locator("#review-warnings")).to_have_count(0)
    page.get_by_role("button", name="Confirm and issue one comp").click()
    expect(page).to_have_url(re.compile(r"/issuances/\d+/$"))
    assert [line.full_name for line in Issuance.objects.get().lines.all()] == ["Ann"]

    # Back from the issuance page never shows the old draft to submit again.
    page.go_back()
    expect(page).to_have_url(re.compile(r"/issuances/\d+/$"))
    assert Issuance.objects.count() == 1
    assert errors == []
