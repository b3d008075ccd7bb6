"""Two-factor sign-in through the pages, with COMPS_REQUIRE_TWO_FACTOR on: between the password
and the code nothing opens but the code page (or the set-up page) and logout; the code page,
recovery codes, the person's own page and the admin's reset."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tests.services.test_two_factor import app_code, enrolled
from tests.test_spanish_pages import ALLOWED, _english_vocabulary, _visible_text, _words
from tickets.models import AuditEntry

PASSWORD = "a-long-password-1"  # tests.factories.UserFactory's


@pytest.fixture(autouse=True)
def _two_factor_required(db, settings, time_machine):
    settings.COMPS_REQUIRE_TWO_FACTOR = True
    # A still clock: each test moves it on where a new code must be typed (an app's code is
    # valid once, and wrong codes make the next attempt wait).
    time_machine.move_to(timezone.now(), tick=False)


def sign_in_with_password(username: str) -> Client:
    """The real login page, as a person types their password (axes and all)."""
    client = Client()
    response = client.post(reverse("login"), {"username": username, "password": PASSWORD})
    assert response.status_code == 302, "the password was refused"
    return client


# Pages, an htmx fragment, exports and Django's admin: none may open before the code.
GUARDED = [
    ("home", {}),
    ("issuance-list", {}),
    ("ticket-search", {}),
    ("ticket-export", {}),
    ("reports", {}),
    ("audit-log", {}),
    ("user-list", {}),
    ("two-factor", {}),
    ("catalogue-status", {"HTTP_HX_REQUEST": "true"}),
    ("admin:index", {}),
]


def assert_nothing_opens(client: Client, step: str) -> None:
    target = reverse(step)
    for name, headers in GUARDED:
        response = client.get(reverse(name), **headers)
        if headers:
            assert response.status_code == 200, name
            assert response["HX-Redirect"] == target, name
        else:
            assert response.status_code == 302, name
            assert response["Location"].startswith(target), name
    # A post is refused before its view runs, too.
    response = client.post(reverse("catalogue-refresh"))
    assert response.status_code == 302
    assert response["Location"] == target


def assert_pages_open(client: Client) -> None:
    for name in ("home", "issuance-list", "ticket-search", "reports", "two-factor"):
        assert client.get(reverse(name)).status_code == 200, name


def test_a_manager_without_an_app_sets_it_up_first_and_reaches_nothing_else():
    max_ = factories.manager(username="max")
    client = sign_in_with_password("max")
    response = client.get(reverse("home"))
    assert response["Location"] == f"{reverse('two-factor-enrol')}?next=%2F"
    assert_nothing_opens(client, "two-factor-enrol")
    # The code page, without an app to take the code from, sends them to set it up.
    assert client.get(reverse("two-factor-verify"))["Location"] == reverse("two-factor-enrol")

    page = client.get(reverse("two-factor-enrol"), {"next": "/reports/"})
    html = page.content.decode()
    assert page.status_code == 200
    assert re.search(r"<svg[^>]*>.*<path", html, re.S), "the QR is drawn inline"
    assert "<img" not in html.split('id="main"')[1]
    device = TOTPDevice.objects.get(user=max_, confirmed=False)
    secret = re.search(r'data-testid="two-factor-secret">([A-Z2-7 ]+)<', html).group(1)
    assert secret.replace(" ", "")
    assert reverse("issuance-list") not in html, "no navigation while the step is pending"
    assert page["Cache-Control"].startswith("max-age=0") or "no-store" in page["Cache-Control"]

    response = client.post(
        reverse("two-factor-enrol"), {"code": app_code(device), "next": "/reports/"}
    )
    assert response.status_code == 200
    codes = re.findall(
        r'<code class="recovery-code">([a-z2-7]{8})</code>', response.content.decode()
    )
    assert len(codes) == 10
    assert set(codes) == set(
        StaticToken.objects.filter(device__user=max_).values_list("token", flat=True)
    )
    assert 'href="/reports/"' in response.content.decode()
    assert AuditEntry.objects.filter(action="auth.two_factor_enrolled").count() == 1
    assert_pages_open(client)
    # Shown once: the set-up page no longer makes new codes or shows the secret.
    assert client.get(reverse("two-factor-enrol"))["Location"] == reverse("two-factor")


def test_the_next_sign_in_asks_for_the_code_and_a_wrong_one_is_refused_and_audited(
    time_machine,
):
    max_ = factories.manager(username="max")
    device, _codes = enrolled(max_)
    time_machine.shift(timedelta(seconds=60))
    client = sign_in_with_password("max")
    response = client.get(reverse("home"))
    assert response["Location"] == f"{reverse('two-factor-verify')}?next=%2F"
    assert_nothing_opens(client, "two-factor-verify")
    # With an app already on, no second one can be set up from a session without the code.
    assert client.get(reverse("two-factor-enrol"))["Location"] == reverse("two-factor-verify")
    assert client.post(reverse("two-factor-enrol"), {"code": "123456"}).status_code == 302
    assert TOTPDevice.objects.filter(user=max_).count() == 1

    right = app_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = client.post(reverse("two-factor-verify"), {"code": wrong, "next": "/reports/"})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    entry = AuditEntry.objects.get(action="auth.two_factor_failed")
    assert entry.target == f"user:{max_.pk}"
    assert wrong not in str(list(AuditEntry.objects.values()))
    assert_nothing_opens(client, "two-factor-verify")

    time_machine.shift(timedelta(seconds=2))  # the wait after one wrong code
    response = client.post(
        reverse("two-factor-verify"), {"code": app_code(device), "next": "/reports/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/reports/"
    assert_pages_open(client)


def test_a_recovery_code_signs_in_once_only(time_machine):
    max_ = factories.manager(username="max")
    _device, codes = enrolled(max_)
    first = sign_in_with_password("max")
    response = first.post(reverse("two-factor-verify"), {"code": codes[0]}, follow=True)
    assert response.status_code == 200
    assert "recovery code" in response.content.decode()
    assert "9 codes are left" in response.content.decode()
    assert AuditEntry.objects.filter(action="auth.recovery_code_used").count() == 1
    assert_pages_open(first)

    time_machine.shift(timedelta(seconds=60))
    second = sign_in_with_password("max")
    response = second.post(reverse("two-factor-verify"), {"code": codes[0]})
    assert response.status_code == 400
    assert_nothing_opens(second, "two-factor-verify")


def test_new_recovery_codes_from_the_own_page_void_the_old(time_machine):
    max_ = factories.manager(username="max")
    _device, old = enrolled(max_)
    client = sign_in_with_password("max")
    client.post(reverse("two-factor-verify"), {"code": old[0]})
    page = client.get(reverse("two-factor")).content.decode()
    assert 'data-testid="recovery-codes-left">9<' in page
    response = client.post(reverse("two-factor-recovery-codes"))
    new = re.findall(r'<code class="recovery-code">([a-z2-7]{8})</code>', response.content.decode())
    assert len(new) == 10
    assert AuditEntry.objects.filter(action="auth.recovery_codes_created").count() == 1

    time_machine.shift(timedelta(seconds=60))
    other = sign_in_with_password("max")
    assert other.post(reverse("two-factor-verify"), {"code": old[1]}).status_code == 400
    time_machine.shift(timedelta(seconds=5))
    assert other.post(reverse("two-factor-verify"), {"code": new[1]}).status_code == 302
    assert_pages_open(other)


def test_an_admin_resets_someones_two_factor_on_the_users_page(time_machine):
    ada = factories.admin(username="ada")
    max_ = factories.manager(username="max")
    enrolled(ada)
    max_device, max_codes = enrolled(max_)
    # Max is signed in (with his code) somewhere already.
    max_client = sign_in_with_password("max")
    max_client.post(reverse("two-factor-verify"), {"code": max_codes[0]})
    assert_pages_open(max_client)

    time_machine.shift(timedelta(seconds=60))  # past the step whose code set the app up
    admin_client = sign_in_with_password("ada")
    admin_client.post(reverse("two-factor-verify"), {"code": app_code(ada.totpdevice_set.get())})
    detail = admin_client.get(reverse("user-detail", args=[max_.pk])).content.decode()
    assert re.search(r'data-testid="user-two-factor"><span class="badge [^"]*">On<', detail)
    assert reverse("user-two-factor-reset", args=[max_.pk]) in detail
    own = admin_client.get(reverse("user-detail", args=[ada.pk])).content.decode()
    assert reverse("user-two-factor-reset", args=[ada.pk]) not in own

    response = admin_client.post(reverse("user-two-factor-reset", args=[max_.pk]), follow=True)
    assert "two-factor sign-in is reset" in response.content.decode()
    assert re.search(
        r'data-testid="user-two-factor"><span class="badge [^"]*">Off<', response.content.decode()
    )
    entry = AuditEntry.objects.get(action="user.two_factor_reset")
    assert (entry.actor_label, entry.target) == ("ada", f"user:{max_.pk}")
    assert not TOTPDevice.objects.filter(pk=max_device.pk).exists()
    # Max's open session lost its second factor with the app: set it up again.
    assert_nothing_opens(max_client, "two-factor-enrol")
    # Their own: refused, kept.
    response = admin_client.post(reverse("user-two-factor-reset", args=[ada.pk]), follow=True)
    assert "ask another admin" in response.content.decode()
    assert ada.totpdevice_set.filter(confirmed=True).exists()


def test_only_admins_reset(time_machine):
    max_ = factories.manager(username="max")
    other = factories.manager(username="mia")
    _device, codes = enrolled(max_)
    enrolled(other)
    client = sign_in_with_password("max")
    client.post(reverse("two-factor-verify"), {"code": codes[0]})
    assert client.post(reverse("user-two-factor-reset", args=[other.pk])).status_code == 403
    assert other.totpdevice_set.exists()


def test_an_issuer_is_never_asked():
    factories.issuer(username="iris")
    client = sign_in_with_password("iris")
    assert client.get(reverse("home")).status_code == 200
    assert client.get(reverse("issuance-list")).status_code == 200
    assert client.get(reverse("two-factor-enrol"))["Location"] == reverse("two-factor")
    assert "password only" in client.get(reverse("two-factor")).content.decode()


def test_with_the_setting_off_no_one_is_asked(settings):
    settings.COMPS_REQUIRE_TWO_FACTOR = False
    factories.admin(username="ada")
    client = sign_in_with_password("ada")
    for name in ("home", "reports", "user-list", "audit-log", "two-factor"):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("two-factor-verify"))["Location"] == reverse("home")


def test_a_superuser_is_asked_too():
    factories.UserFactory(username="root", is_superuser=True, is_staff=True)
    client = sign_in_with_password("root")
    assert client.get(reverse("admin:index"))["Location"].startswith(reverse("two-factor-enrol"))


def test_logout_stays_reachable_between_password_and_code():
    factories.manager(username="max")
    client = sign_in_with_password("max")
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "code", ["", " ", "x" * 33, "12345", "ñandú", "<script>", "1234567890", "\u200b123456"]
)
def test_nonsense_codes_get_a_message_never_a_500(code, time_machine):
    max_ = factories.manager(username="max")
    device = TOTPDevice.objects.create(user=max_, confirmed=False)
    client = sign_in_with_password("max")
    response = client.post(reverse("two-factor-enrol"), {"code": code})
    assert response.status_code == 400
    assert 'class="invalid-feedback"' in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed

    enrolled_device, _codes = TOTPDevice.objects.get(pk=device.pk), None
    enrolled_device.confirmed = True
    enrolled_device.save()
    time_machine.shift(timedelta(seconds=120))
    response = client.post(reverse("two-factor-verify"), {"code": code})
    assert response.status_code == 400
    assert 'class="invalid-feedback"' in response.content.decode()
    assert_nothing_opens(client, "two-factor-verify")


def test_a_next_elsewhere_is_ignored(time_machine):
    max_ = factories.manager(username="max")
    _device, codes = enrolled(max_)
    client = sign_in_with_password("max")
    response = client.post(
        reverse("two-factor-verify"), {"code": codes[0], "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_the_steps_read_in_spanish():
    vocabulary = _english_vocabulary()
    max_ = factories.manager(username="max", first_name="Max", last_name="Manager")
    client = sign_in_with_password("max")
    es = {"HTTP_ACCEPT_LANGUAGE": "es-ES,es"}
    pages = {"set-up": client.get(reverse("two-factor-enrol"), **es)}
    device = TOTPDevice.objects.get(user=max_)
    pages["wrong code"] = client.post(reverse("two-factor-enrol"), {"code": "000000x"}, **es)
    pages["codes"] = client.post(reverse("two-factor-enrol"), {"code": app_code(device)}, **es)
    pages["own page"] = client.get(reverse("two-factor"), **es)
    other = sign_in_with_password("max")
    pages["code"] = other.get(reverse("two-factor-verify"), **es)
    for label, response in pages.items():
        found = _words(_visible_text(response.content.decode())) & vocabulary
        found -= ALLOWED | {"max", "manager"}
        assert found == set(), f"English on the {label} page: {sorted(found)}"


def test_djangos_admin_shows_no_secrets_of_the_devices():
    from django.contrib import admin
    from django_otp.plugins.otp_static.models import StaticDevice

    assert not admin.site.is_registered(TOTPDevice)
    assert not admin.site.is_registered(StaticDevice)
