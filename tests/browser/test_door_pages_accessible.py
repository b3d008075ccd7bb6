"""The door pages, with content, have no axe-core violation (at both widths, in both languages);
and the lookup answers as the name is typed."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tests import factories
from tests.browser.accessibility import WIDTHS, Audit, look
from tickets.selectors.reports import current_night

LANGUAGES = {"es": "es-ES", "en": "en-GB"}


def _world():
    factories.CredentialFactory()
    event = factories.EventFactory(name="Tonight Club", night=current_night())
    pat = factories.PromoterFactory(first_name="Pat", last_name="Promo")
    for name, extra in (
        ("José Pérez", {"admits": 3, "entered": 2, "entry_date": timezone.now()}),
        ("Ana Gil", {}),
        ("Walter Withdrawn", {"withdrawn_at": timezone.now()}),
    ):
        option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event))
        issuance = factories.IssuanceFactory(price_option=option, promoter=pat)
        line = factories.IssuanceLineFactory(issuance=issuance, full_name=name, state="confirmed")
        factories.IssuedTicketFactory(line=line, **extra)
    return event


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_door_pages_are_accessible_and_the_lookup_answers_as_one_types(
    browser: Browser, live_server, language: str
) -> None:
    event = _world()
    client = Client()
    client.force_login(factories.manager())
    urls = [
        reverse("door-list", args=[event.pk]),
        reverse("door-lookup") + f"?event={event.pk}&q=jose",
        reverse("event-summary", args=[event.pk]),
        reverse("reports") + "?group=promoter&environment=alpha",
    ]
    context = browser.new_context(locale=LANGUAGES[language], viewport=WIDTHS["desktop"])
    cookie = client.cookies.get(settings.SESSION_COOKIE_NAME)
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    audit = Audit()
    try:
        for index, url in enumerate(urls):
            response = page.goto(f"{live_server.url}{url}")
            assert response.status == 200, url
            look(page, f"door-{language}-{index}", audit)
        page.goto(f"{live_server.url}{reverse('door-lookup')}")
        page.locator("#id_q").fill("per")
        expect(page.locator("[data-testid=door-lookup-entry]")).to_have_count(1)
        expect(page.locator("#door-lookup-results")).to_contain_text("José Pérez")
        page.locator("#id_q").fill("walt")
        expect(page.locator("#door-lookup-results")).to_contain_text("Walter Withdrawn")
        audit.check(page, f"{language} lookup results")
    finally:
        context.close()
    audit.assert_clean()
