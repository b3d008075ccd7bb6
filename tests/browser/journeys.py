"""What the role journeys share: a browser that asks for Spanish, and logging in through the
login page as a person would (in Spanish: the journeys select by Spanish names or by ids)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

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
    """Open a section from the navigation bar (by its Spanish name)."""
    page.locator("#nav").get_by_role("link", name=section, exact=True).click()
