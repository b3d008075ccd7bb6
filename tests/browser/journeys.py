"""What the role journeys share: a browser that asks for Spanish, and logging in through the
login page as a person would (in Spanish: the journeys select by Spanish names or by ids)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tickets.fourvenues.sandbox import SandboxServer
from tickets.models import Event, PriceOption, Rate
from tickets.services.catalogue import refresh_catalogue
from tickets.services.credentials import register_credential

PASSWORD = "a-long-password-1"  # the factories' password
SPANISH = "es-ES"


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    page.get_by_label("Usuario").fill(username)
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_role("link", name="Comps", exact=True)).to_be_visible()


def go_to(page: Page, section: str) -> None:
    """Open a section from the navigation bar (by its Spanish name), opening the menu it sits in
    ("Control", "Administrador") first, as a person would."""
    link = page.locator("#nav").get_by_role("link", name=section, exact=True)
    if not link.is_visible():
        # A closed menu's items are hidden, which role locators skip: found by their text.
        item = page.locator("a.dropdown-item", has_text=re.compile(f"^{re.escape(section)}$"))
        page.locator("#nav .dropdown").filter(has=item).locator(".dropdown-toggle").click()
    link.click()


def sandbox_free_option(sandbox: SandboxServer) -> tuple[Event, Rate, PriceOption]:
    """A credential on the sandbox with its catalogue mirrored, as an admin would set it up;
    the first event's free rate and its first option, to issue with."""
    credential = register_credential(
        name="Sandbox",
        environment="alpha",
        api_key=sandbox.app.api_key,
        base_url_override=sandbox.base_url,
        actor=None,
    )
    # A week of nights is enough for the first event, and keeps the refresh quick.
    refresh_catalogue(credential=credential, actor=None, days=7)
    remote_event = sandbox.catalogue.events[0]
    remote_rate = sandbox.catalogue.free_rate(remote_event["_id"])
    event = Event.objects.get(environment="alpha", remote_id=remote_event["_id"])
    rate = Rate.objects.get(event=event, remote_id=remote_rate["_id"])
    option = PriceOption.objects.get(rate=rate, remote_id=remote_rate["options"][0]["_id"])
    return event, rate, option
