"""Every page each role can open, in Spanish and in English, at desktop and phone widths, has no
axe-core violation of any impact.

The pages are the URL matrix's (tests/test_url_matrix.py) that answer the role with a whole HTML
page: fragments that htmx swaps in, downloads and redirects are left out, and so is Django's
admin site, whose templates are Django's. The pages the journeys reach through a form (a review,
search results) are scanned by those journeys.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Browser

from tests import factories
from tests.browser.accessibility import WIDTHS, Audit
from tests.test_url_matrix import ADMIN, ANON, ISSUER, MANAGER, MATRIX, World, build_world

LANGUAGES = {"es": "es-ES", "en": "en-GB"}
NOT_OURS = {"admin:index"}  # Django's admin site
PERSONAS: dict[str, Callable[[], User] | None] = {
    ANON: None,
    MANAGER: factories.manager,
    ADMIN: factories.admin,
}


def log_in_as(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def pages_for(client: Client, world: World) -> list[str]:
    """The whole HTML pages the client's person can open, of those the URL matrix lists."""
    urls = []
    for name, (args, _expected) in sorted(MATRIX.items()):
        if name in NOT_OURS:
            continue
        url = reverse(name, args=args(world))
        response = client.get(url)
        is_page = response.get("Content-Type", "").startswith("text/html")
        if response.status_code == 200 and is_page and b"<html" in response.content:
            urls.append(url)
    return urls


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("language", sorted(LANGUAGES))
@pytest.mark.parametrize("role", [ANON, ISSUER, MANAGER, ADMIN])
def test_every_page_of_a_role_has_no_axe_violation(
    browser: Browser, live_server, role: str, language: str
) -> None:
    world = build_world()
    # The issuer is the one who issued the world's ticket, so their own issuance's pages count.
    persona = world.issuance.created_by if role == ISSUER else PERSONAS[role]
    client = log_in_as(persona() if callable(persona) else persona)
    urls = pages_for(client, world)
    assert urls, f"no page found for {role}"
    expected_minimum = {ANON: 1, ISSUER: 5, MANAGER: 12, ADMIN: 18}[role]
    assert len(urls) >= expected_minimum, urls  # the matrix still reaches the pages it did

    context = browser.new_context(
        locale=LANGUAGES[language], viewport=WIDTHS["desktop"], reduced_motion="reduce"
    )
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    if cookie is not None:
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    audit = Audit()
    try:
        for url in urls:
            response = page.goto(f"{live_server.url}{url}")
            assert response is not None, url
            assert response.status == 200, url
            # The browser's language chose the page's: it is not English by default.
            assert page.locator("html").get_attribute("lang") == language, url
            for width, size in WIDTHS.items():
                page.set_viewport_size(size)
                audit.check(page, f"{role} {language} {width} {url}")
    finally:
        context.close()
    audit.assert_clean()
