"""Allowances in a real browser: what is left follows the event and the promoter on the issue
form (htmx, under the Content Security Policy), and the managers' pages pass axe."""

import pytest
from django.test import Client
from playwright.sync_api import Browser, Page, expect

from tests import factories as f
from tests.browser.accessibility import WIDTHS, Audit
from tickets.models import Allowance, AllowancePeriod, IssuerGroup


def log_in(page: Page, live_server, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_what_is_left_follows_the_event_and_the_promoter(page: Page, live_server):
    f.CredentialFactory()
    issuer = f.issuer(username="ivy")
    limited = f.PriceOptionFactory(rate__event__name="Limited night").rate.event
    free = f.PriceOptionFactory(rate__event__name="Open night").rate.event
    promoter = f.PromoterFactory(first_name="Pat", last_name="Party")
    Allowance.objects.create(user=issuer, event=limited, people=4)
    Allowance.objects.create(promoter=promoter, event=free, people=7)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, live_server, "ivy")
    page.goto(f"{live_server.url}/issue/")

    left = page.get_by_test_id("allowances-left")
    page.locator("#id_event").select_option(str(limited.pk))
    expect(left).to_contain_text("Your allowance")
    expect(left).to_contain_text("4 left")
    page.locator("#id_event").select_option(str(free.pk))
    expect(left).not_to_contain_text("Your allowance")
    page.get_by_label("A promoter").check()
    page.get_by_label("Promoter", exact=True).select_option(str(promoter.pk))
    expect(left).to_contain_text("The allowance of promoter Pat Party")
    expect(left).to_contain_text("7 left")
    assert errors == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.parametrize("language", ["es-ES", "en-GB"])
def test_the_allowances_pages_have_no_axe_violation(browser: Browser, live_server, language):
    f.CredentialFactory()
    manager = f.manager()
    issuer = f.issuer(first_name="Iris", last_name="Issuer")
    event = f.PriceOptionFactory().rate.event
    group = IssuerGroup.objects.create(name="Door team")
    group.members.set([issuer])
    allowance = Allowance.objects.create(user=issuer, event=event, people=4)
    Allowance.objects.create(issuer_group=group, period=AllowancePeriod.WEEK, people=9)
    client = Client()
    client.force_login(manager)
    context = browser.new_context(locale=language, viewport=WIDTHS["desktop"])
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])
    page = context.new_page()
    audit = Audit()
    try:
        for url in (
            "/allowances/",
            "/allowances/new/",
            f"/allowances/{allowance.pk}/",
            "/allowances/groups/new/",
            f"/allowances/groups/{group.pk}/",
        ):
            response = page.goto(f"{live_server.url}{url}")
            assert response is not None
            assert response.status == 200, url
            for width, size in WIDTHS.items():
                page.set_viewport_size(size)
                audit.check(page, f"{language} {width} {url}")
    finally:
        context.close()
    audit.assert_clean()
