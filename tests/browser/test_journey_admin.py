"""An admin's round, in Spanish, in a real browser: adds a Fourvenues credential beside the one
in use, tests it against the sandbox, makes it the active one (told which one it replaces),
creates a user, and reads both in the audit log. Every page on the way is scanned by axe and
photographed at desktop and phone widths (tests/browser/screenshots/)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import Page, expect

from tests import factories as f
from tests.browser.accessibility import look
from tests.browser.journeys import go_to, log_in
from tickets import roles
from tickets.fourvenues.sandbox import SandboxServer
from tickets.models import Credential
from tickets.services.credentials import register_credential


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_an_admin_adds_tests_and_activates_a_credential_then_creates_a_user(
    spanish_page: Page, live_server, sandbox: SandboxServer
) -> None:
    page = spanish_page
    # Active on alpha: the one being replaced.
    current = register_credential(
        name="Sandbox",
        environment="alpha",
        api_key=sandbox.app.api_key,
        base_url_override=sandbox.base_url,
        actor=None,
    )
    assert current.is_active
    f.admin(username="adela", first_name="Adela")

    log_in(page, live_server, "adela")
    look(page, "admin-01-home")

    go_to(page, "Credenciales")
    expect(page.get_by_role("link", name=current.name)).to_be_visible()
    look(page, "admin-02-credentials")
    page.locator(f"a[href='{reverse('credential-new')}']").click()
    page.locator("#id_name").fill("Clave nueva")
    page.locator("#id_environment").select_option("alpha")
    page.locator("#id_base_url_override").fill(current.base_url)
    page.locator("#id_api_key").fill(current.api_key)
    look(page, "admin-03-new-credential")
    page.locator("form button[type=submit]").last.click()

    added = Credential.objects.get(name="Clave nueva")
    expect(page).to_have_url(re.compile(rf"/credentials/{added.pk}/$"))
    expect(page.get_by_test_id("untested")).to_be_visible()  # not used before a test
    look(page, "admin-04-untested")

    page.locator(f"form[action='{reverse('credential-test', args=[added.pk])}'] button").click()
    result = page.locator("#test-result")
    expect(result).to_contain_text("GET /channels/")
    # Another credential is in use: the page says which one the new one would replace.
    expect(result.get_by_test_id("replaces")).to_contain_text(current.name)
    look(page, "admin-05-tested")
    result.get_by_test_id("activate-form").get_by_role("button").click()
    expect(page.get_by_role("alert").filter(has_text=current.name)).to_be_visible()
    look(page, "admin-06-activated")
    added.refresh_from_db()
    current.refresh_from_db()
    assert added.is_active
    assert not current.is_active

    go_to(page, "Usuarios")
    look(page, "admin-07-users")
    page.locator(f"a[href='{reverse('user-new')}']").click()
    page.locator("#id_username").fill("rocio")
    page.locator("#id_first_name").fill("Rocío")
    page.locator("#id_last_name").fill("Núñez")
    page.locator("#id_email").fill("rocio@example.com")
    page.locator("#id_role").select_option(roles.ISSUER)
    page.locator("#id_password").fill("una-contraseña-larga-7")
    look(page, "admin-08-new-user")
    page.locator("form button[type=submit]").last.click()
    person = User.objects.get(username="rocio")
    expect(page).to_have_url(re.compile(rf"/users/{person.pk}/$"))
    assert person.groups.filter(name=roles.ISSUER).exists()
    look(page, "admin-09-user")

    go_to(page, "Registro de auditoría")
    log = page.locator("main")
    expect(log).to_contain_text("Clave nueva")
    expect(log).to_contain_text("rocio")
    look(page, "admin-10-audit-log")
