"""Two-factor sign-in in a real browser, in Spanish, with COMPS_REQUIRE_TWO_FACTOR on: a
manager's first sign-in sets up the authenticator app from the page (its inline QR, and the key
in text, from which this test computes the code as an app would), keeps the recovery codes
shown once, and signs in next time with one of them. Every step is scanned by axe."""

from __future__ import annotations

import re
from base64 import b32decode

import pytest
from django.urls import reverse
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from tests import factories as f
from tests.browser.accessibility import look
from tests.browser.journeys import log_in


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_manager_sets_up_two_factor_then_signs_in_with_a_recovery_code(
    spanish_page: Page, live_server, settings
) -> None:
    settings.COMPS_REQUIRE_TWO_FACTOR = True
    page = spanish_page
    f.manager(username="marta", first_name="Marta")

    log_in(page, live_server, "marta")
    expect(page).to_have_url(re.compile(re.escape(reverse("two-factor-enrol"))))
    expect(
        page.get_by_role("heading", name="Configura el inicio de sesión en dos pasos")
    ).to_be_visible()
    expect(page.get_by_test_id("two-factor-qr").locator("svg")).to_be_visible()
    look(page, "two-factor-1-set-up")

    secret = page.get_by_test_id("two-factor-secret").inner_text().replace(" ", "")
    code = f"{totp(b32decode(secret)):06d}"  # what the app shows now
    page.get_by_label("Código de seis dígitos").fill(code)
    page.get_by_role("button", name="Activar el inicio de sesión en dos pasos").click()
    expect(page.get_by_text("El inicio de sesión en dos pasos está activado.")).to_be_visible()
    codes = page.get_by_test_id("recovery-codes").locator("code").all_inner_texts()
    assert len(codes) == 10
    look(page, "two-factor-2-recovery-codes")
    page.get_by_role("link", name="Ya los he guardado: continuar").click()
    expect(page).to_have_url(f"{live_server.url}/")

    page.get_by_test_id("nav-user-menu").click()
    page.get_by_test_id("nav-two-factor").click()
    expect(page.get_by_test_id("two-factor-state")).to_contain_text("Activado")
    expect(page.get_by_test_id("recovery-codes-left")).to_have_text("10")
    look(page, "two-factor-3-own-page")
    page.get_by_role("button", name="Cerrar sesión").click()

    log_in(page, live_server, "marta")
    expect(page).to_have_url(re.compile(re.escape(reverse("two-factor-verify"))))
    look(page, "two-factor-4-code")
    page.get_by_label("Código").fill(codes[0])
    page.get_by_role("button", name="Entrar").click()
    expect(page.get_by_text("Te quedan 9 códigos")).to_be_visible()
    expect(page).to_have_url(f"{live_server.url}/")
