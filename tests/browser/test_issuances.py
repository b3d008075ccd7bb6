"""The issuance page on a phone, in a real browser: each holder's code and QR without scrolling
sideways (the lines' table becomes a card per holder below the md breakpoint)."""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests import factories as f
from tickets.models import IssuanceStatus, IssuedTicket, LineState

PHONE = {"width": 375, "height": 812}


def sign_in(page: Page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )


def issuance_with_long_lines(issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.PARTIAL)
    for n in range(3):
        line = f.IssuanceLineFactory(
            issuance=issuance,
            state=LineState.CONFIRMED,
            full_name=f"Maximiliana de los Ángeles Fernández-Villaverde {n}",
            email=f"maximiliana.fernandez.villaverde.{n}@a-rather-long-domain.example.com",
        )
        IssuedTicket.objects.create(
            environment="alpha",
            remote_id=f"phone-{n}",
            line=line,
            event=issuance.event,
            code=f"COMPS-{n}-ABCDEFGHIJKLMNOPQRSTUVWX",
            status="activated",
        )
    f.IssuanceLineFactory(
        issuance=issuance,
        state=LineState.FAILED,
        last_error="Fourvenues refused the ticket (HTTP 400): " + "an-unbroken-error-text" * 5,
    )
    return issuance


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_a_phone_each_holders_code_and_qr_fit_without_scrolling_sideways(
    page: Page, live_server
):
    issuer = f.issuer()
    issuance = issuance_with_long_lines(issuer)
    sign_in(page, live_server, issuer)
    page.set_viewport_size(PHONE)

    page.goto(live_server.url + reverse("issuance-detail", args=[issuance.pk]))

    expect(page.locator(".ticket-code")).to_have_count(3)
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= PHONE["width"], f"the page is {scroll_width}px wide"
    for item in (*page.locator(".ticket-code").all(), *page.locator(".qr-thumb").all()):
        item.scroll_into_view_if_needed()
        expect(item).to_be_visible()
        box = item.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
    # The QR is larger than the desktop thumbnail: big enough to scan off the screen.
    assert page.locator(".qr-thumb").first.bounding_box()["width"] >= 128
    # The table's header row is hidden; each card names its fields instead.
    expect(page.locator(".issuance-lines thead")).not_to_be_in_viewport()
    expect(page.get_by_role("button", name="Retry")).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_on_a_desktop_the_lines_stay_a_table(page: Page, live_server):
    issuer = f.issuer()
    issuance = issuance_with_long_lines(issuer)
    sign_in(page, live_server, issuer)
    page.set_viewport_size({"width": 1280, "height": 800})

    page.goto(live_server.url + reverse("issuance-detail", args=[issuance.pk]))

    expect(page.locator(".issuance-lines thead")).to_be_visible()
    assert page.locator(".qr-thumb").first.bounding_box()["width"] == 64


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_qr_opens_a_large_card_that_fits_a_phone(page: Page, live_server):
    issuer = f.issuer()
    issuance = issuance_with_long_lines(issuer)
    sign_in(page, live_server, issuer)
    page.set_viewport_size(PHONE)
    page.goto(live_server.url + reverse("issuance-detail", args=[issuance.pk]))

    page.locator(".qr-link").first.click()

    card = page.get_by_test_id("ticket-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("COMPS-0-ABCDEFGHIJKLMNOPQRSTUVWX")
    qr = page.locator(".ticket-card-qr").bounding_box()
    assert qr["width"] >= 280  # most of a phone's width
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
