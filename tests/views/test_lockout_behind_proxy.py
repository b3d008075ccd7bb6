"""Behind the reverse proxy every request comes from the proxy's address: the lockout must hit
the address of whoever typed the wrong passwords (COMPS_TRUSTED_PROXY_COUNT, tickets/client_ip.py),
and an admin locked out all the same can be let in by another admin."""

import pytest
from django.test import Client
from django.urls import reverse

from tests import factories
from tickets.models import AuditEntry

PROXY = "10.0.0.2"
ATTACKER = "203.0.113.66"
ADMIN_HOME = "198.51.100.7"
PASSWORD = "a-long-password-1"


def _sign_in(client: Client, *, username: str, password: str, via: str, forwarded: str):
    return client.post(
        reverse("login"),
        {"username": username, "password": password},
        REMOTE_ADDR=via,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


@pytest.mark.django_db
def test_wrong_passwords_lock_out_the_typists_address_not_the_proxys(settings):
    settings.COMPS_TRUSTED_PROXY_COUNT = 1
    factories.admin(username="ada")
    attacker, ada = Client(), Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # A forged entry first: the proxy appends the real address after it.
        _sign_in(
            attacker, username="ada", password="guess", via=PROXY, forwarded=f"1.2.3.4, {ATTACKER}"
        )
    refused = _sign_in(attacker, username="ada", password=PASSWORD, via=PROXY, forwarded=ATTACKER)
    assert refused.status_code == 403

    _sign_in(ada, username="ada", password=PASSWORD, via=PROXY, forwarded=ADMIN_HOME)
    assert "_auth_user_id" in ada.session
    failed = AuditEntry.objects.filter(action="auth.login_failed")
    assert set(failed.values_list("ip_address", flat=True)) == {ATTACKER}


@pytest.mark.django_db
def test_without_trusted_proxies_the_forwarded_header_is_ignored(settings):
    settings.COMPS_TRUSTED_PROXY_COUNT = 0
    factories.issuer(username="ivy")
    for spoofed in ("1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4", "5.5.5.5"):
        _sign_in(Client(), username="ivy", password="guess", via=ATTACKER, forwarded=spoofed)
    refused = _sign_in(
        Client(), username="ivy", password=PASSWORD, via=ATTACKER, forwarded="6.6.6.6"
    )
    assert refused.status_code == 403


@pytest.mark.django_db
def test_another_admin_lets_a_locked_out_admin_in_keeping_their_password(settings, admin_client):
    ada = factories.admin(username="ada")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post(reverse("login"), {"username": "ada", "password": "guess"})
    page = admin_client.get(reverse("user-detail", args=[ada.pk]))
    assert "Let them sign in again" in page.content.decode()

    admin_client.post(reverse("user-unlock", args=[ada.pk]))

    again = Client()
    again.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    assert again.session["_auth_user_id"] == str(ada.pk)
    assert AuditEntry.objects.filter(action="user.unlocked", target=f"user:{ada.pk}").exists()
    assert (
        "Let them sign in again"
        not in admin_client.get(reverse("user-detail", args=[ada.pk])).content.decode()
    )


@pytest.mark.django_db
def test_only_admins_may_unlock(client):
    manager = factories.manager()
    ada = factories.admin(username="ada")
    client.force_login(manager)
    assert client.post(reverse("user-unlock", args=[ada.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action="user.unlocked").exists()
