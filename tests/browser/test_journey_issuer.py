"""An issuer's night, in Spanish, in a real browser and with the keyboard alone for the form:
pastes a list of 12 people of whom two have an error, imports it into the rows, fixes both in
place, reviews, confirms, sees the 12 codes arrive and prints them. Every page on the way is
scanned by axe and photographed at desktop and phone widths (tests/browser/screenshots/).

The form part uses Tab, typing, Enter and Space only (no click), and counts the interactions: a
field typed into, a choice made in a list, a button or link pressed. Tab presses only move the
focus; they are counted apart (`keys.tabs`).
"""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from tests import factories as f
from tests.browser.accessibility import look
from tests.browser.journeys import log_in, sandbox_free_option

PEOPLE = [(f"Invitada Número{i}", f"invitada{i}@example.com") for i in range(1, 13)]
BAD_EMAIL_ROW, NO_NAME_ROW = 4, 9  # 1-based rows, each with one error to fix
SENT_TIMEOUT_MS = 30_000
MAX_TABS = 80  # a field further than this in the tab order is out of a keyboard user's reach


class Keyboard:
    """The journey's hands: keys only, with the interactions counted."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.interactions = 0
        self.tabs = 0

    def _focused(self, target: Locator) -> bool:
        return bool(target.evaluate("element => element === document.activeElement"))

    def tab_to(self, target: Locator) -> None:
        """Tab (forward) until `target` has the focus: it must be reachable in the tab order."""
        for _ in range(MAX_TABS):
            if self._focused(target):
                return
            self.page.keyboard.press("Tab")
            self.tabs += 1
        raise AssertionError(f"{target} was not reached with {MAX_TABS} Tab presses")

    def type_into(self, target: Locator, text: str) -> None:
        self.tab_to(target)
        self.page.keyboard.press("ControlOrMeta+a")  # replace what the field holds
        self.page.keyboard.insert_text(text)  # as a paste does
        self.interactions += 1

    def choose(self, target: Locator, value: str) -> None:
        """Pick an option of a closed <select> with the arrow keys, as a keyboard user does."""
        self.tab_to(target)
        for _ in range(100):
            if target.input_value() == value:
                break
            self.page.keyboard.press("ArrowDown")
        assert target.input_value() == value
        self.interactions += 1

    def press(self, target: Locator, key: str = "Enter") -> None:
        self.tab_to(target)
        self.page.keyboard.press(key)
        self.interactions += 1


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_issuer_pastes_twelve_people_fixes_two_and_prints_their_codes_by_keyboard(
    spanish_page: Page, live_server, sandbox, worker
) -> None:
    page = spanish_page
    event, rate, option = sandbox_free_option(sandbox)
    f.issuer(username="ines", first_name="Inés")

    log_in(page, live_server, "ines")
    look(page, "issuer-01-home")
    page.goto(f"{live_server.url}{reverse('issue-new')}")
    expect(page.locator("#issue-form")).to_be_visible()
    look(page, "issuer-02-form")

    keys = Keyboard(page)
    page.evaluate("() => document.activeElement && document.activeElement.blur()")  # from the top
    keys.choose(page.locator("#id_event"), str(event.pk))
    expect(page.locator(f"#id_rate option[value='{rate.pk}']")).to_have_count(1)  # htmx
    keys.choose(page.locator("#id_rate"), str(rate.pk))
    expect(page.locator(f"#id_price_option option[value='{option.pk}']")).to_have_count(1)
    keys.choose(page.locator("#id_price_option"), str(option.pk))
    reason = page.locator("#id_reason")
    keys.choose(reason, reason.locator("option:not([value=''])").first.get_attribute("value"))

    lines = [f"{name}, {email}" for name, email in PEOPLE]
    lines[BAD_EMAIL_ROW - 1] = f"{PEOPLE[BAD_EMAIL_ROW - 1][0]}, invitada4@example"
    lines[NO_NAME_ROW - 1] = f", {PEOPLE[NO_NAME_ROW - 1][1]}"
    keys.press(page.locator(".csv-panel > summary"))  # Enter opens the list panel
    keys.type_into(page.locator("#id_csv_text"), "\n".join(lines))
    keys.press(page.locator(".csv-panel button[type=submit]"))  # "Import into the rows"
    rows = page.locator("#holder-rows [data-holder-row]")
    expect(rows).to_have_count(len(PEOPLE))
    expect(page.locator("#holder-rows [aria-invalid=true]")).to_have_count(2)
    look(page, "issuer-03-imported")

    bad_email = page.locator(f"#id_holders-{BAD_EMAIL_ROW - 1}-email")
    keys.type_into(bad_email, PEOPLE[BAD_EMAIL_ROW - 1][1])
    no_name = page.locator(f"#id_holders-{NO_NAME_ROW - 1}-full_name")
    keys.type_into(no_name, PEOPLE[NO_NAME_ROW - 1][0])
    page.keyboard.press("Enter")  # Enter in a field goes to the review, never to the import
    keys.interactions += 1

    expect(page).to_have_url(re.compile(r"/issue/[0-9a-f-]+/review/$"))
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for name, _email in PEOPLE:
        expect(page.get_by_text(name, exact=True)).to_have_count(1)
    look(page, "issuer-04-review")
    keys.press(page.get_by_role("button", name=re.compile(r"Confirmar y emitir 12 invitaciones")))

    expect(page).to_have_url(re.compile(r"/issuances/\d+/$"))
    codes = page.locator("#issuance-progress code.ticket-code")
    expect(codes).to_have_count(len(PEOPLE), timeout=SENT_TIMEOUT_MS)
    remote_codes = sorted(ticket["code"] for ticket in sandbox.tickets())
    assert sorted(codes.all_inner_texts()) == remote_codes
    look(page, "issuer-05-codes")

    keys.press(page.locator("#issuance-progress a[href$='/print/']"))
    expect(page).to_have_url(re.compile(r"/print/$"))
    expect(page.locator(".print-card")).to_have_count(len(PEOPLE))
    look(page, "issuer-06-print")
    page.evaluate("() => { window.printed = 0; window.print = () => { window.printed += 1; }; }")
    keys.press(page.locator("[data-print-page]"))
    assert page.evaluate("() => window.printed") == 1

    # Reported, not asserted: the count is the journey's own steps (issue 14 quoted 20 before).
    print(f"\nissuer journey: {keys.interactions} interactions, {keys.tabs} Tab presses")
