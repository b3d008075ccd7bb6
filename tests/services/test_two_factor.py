"""Two-factor sign-in's services: setting up the app, the code after the password, recovery
codes, the admin's reset. Real django-otp devices in the test database; the codes are computed
here from the device's secret, as an authenticator app does."""

from __future__ import annotations

import time
from base64 import b32encode
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests import factories
from tickets.models import AuditEntry
from tickets.selectors import two_factor as selectors
from tickets.services import two_factor
from tickets.services.two_factor import TwoFactorError


def app_code(device: TOTPDevice, *, at: float | None = None) -> str:
    """What the person's authenticator app shows at `at` (now by default)."""
    device.refresh_from_db()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time() if at is None else at
    return f"{totp.token():06d}"


def enrolled(user: User) -> tuple[TOTPDevice, list[str]]:
    enrolment = two_factor.start_enrolment(user=user)
    return two_factor.confirm_enrolment(user=user, code=app_code(enrolment.device))


@pytest.fixture
def required(settings):
    settings.COMPS_REQUIRE_TWO_FACTOR = True


@pytest.fixture
def manager_user(db) -> User:
    return factories.manager(username="max")


def audited(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("pk"))


def everything_audited() -> str:
    return str(list(AuditEntry.objects.values()))


# --- Who must use it


@pytest.mark.usefixtures("required")
def test_managers_admins_and_superusers_must_use_it_issuers_never(db):
    assert selectors.two_factor_required(factories.manager())
    assert selectors.two_factor_required(factories.admin())
    assert selectors.two_factor_required(factories.UserFactory(is_superuser=True))
    assert not selectors.two_factor_required(factories.issuer())
    assert not selectors.two_factor_required(factories.UserFactory())


def test_with_the_setting_off_no_one_must(settings, db):
    settings.COMPS_REQUIRE_TWO_FACTOR = False
    assert not selectors.two_factor_required(factories.admin())
    assert not selectors.two_factor_required(factories.UserFactory(is_superuser=True))


# --- Setting up the app


def test_the_set_up_shows_the_same_secret_until_it_is_confirmed(manager_user):
    first = two_factor.start_enrolment(user=manager_user)
    again = two_factor.start_enrolment(user=manager_user)
    assert first.device.pk == again.device.pk
    assert not first.device.confirmed
    assert first.secret.replace(" ", "") == b32encode(first.device.bin_key).decode()
    assert first.config_url.startswith("otpauth://totp/Comps%3Amax?secret=")
    assert "issuer=Comps" in first.config_url


def test_a_right_first_code_turns_it_on_with_ten_recovery_codes(manager_user):
    device, codes = enrolled(manager_user)
    device.refresh_from_db()
    assert device.confirmed
    assert len(codes) == 10
    assert len(set(codes)) == 10
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=manager_user).values_list("token", flat=True)
    )
    assert selectors.state_of(manager_user).enabled
    [entry] = audited("auth.two_factor_enrolled")
    assert entry.target == f"user:{manager_user.pk}"
    for code in codes:
        assert code not in everything_audited()


def test_a_wrong_first_code_is_refused_counted_and_audited_without_the_code(
    manager_user, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    device = two_factor.start_enrolment(user=manager_user).device
    right = app_code(device)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    with pytest.raises(TwoFactorError, match="not right"):
        two_factor.confirm_enrolment(user=manager_user, code=wrong)
    device.refresh_from_db()
    assert not device.confirmed
    assert device.throttling_failure_count == 1
    [entry] = audited("auth.two_factor_failed")
    assert entry.data == {"stage": "enrolment", "kind": "app", "throttled": False}
    assert wrong not in everything_audited()
    # At once, even the right code waits out the throttle (django-otp's, doubling each time).
    with pytest.raises(TwoFactorError, match="Wait 1 second"):
        two_factor.confirm_enrolment(user=manager_user, code=right)
    assert audited("auth.two_factor_failed")[-1].data["throttled"] is True
    time_machine.shift(timedelta(seconds=2))
    two_factor.confirm_enrolment(user=manager_user, code=app_code(device))
    assert selectors.state_of(manager_user).enabled


def test_no_second_app_once_one_is_on(manager_user):
    enrolled(manager_user)
    with pytest.raises(TwoFactorError):
        two_factor.start_enrolment(user=manager_user)
    with pytest.raises(TwoFactorError):
        two_factor.confirm_enrolment(user=manager_user, code="123456")
    assert TOTPDevice.objects.filter(user=manager_user).count() == 1


# --- Signing in


def test_the_apps_code_signs_in_once(manager_user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    device, _codes = enrolled(manager_user)
    time_machine.shift(timedelta(seconds=60))
    code = app_code(device)
    assert two_factor.verify(user=manager_user, code=code) == device
    # The same code again (someone looking over the shoulder): refused.
    time_machine.shift(timedelta(seconds=5))
    with pytest.raises(TwoFactorError):
        two_factor.verify(user=manager_user, code=code)


def test_a_code_typed_with_a_space_is_fine(manager_user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    device, _codes = enrolled(manager_user)
    time_machine.shift(timedelta(seconds=60))
    code = app_code(device)
    assert two_factor.verify(user=manager_user, code=f" {code[:3]} {code[3:]} ") == device


def test_a_recovery_code_works_once_only(manager_user, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _device, codes = enrolled(manager_user)
    used = two_factor.verify(user=manager_user, code=codes[3].upper())
    assert isinstance(used, StaticDevice)
    [entry] = audited("auth.recovery_code_used")
    assert entry.data == {"codes_left": 9}
    time_machine.shift(timedelta(seconds=5))
    with pytest.raises(TwoFactorError, match="not right"):
        two_factor.verify(user=manager_user, code=codes[3])
    assert audited("auth.two_factor_failed")[-1].data == {
        "stage": "sign_in",
        "kind": "recovery",
        "throttled": False,
    }
    assert codes[3] not in everything_audited()
    assert selectors.state_of(manager_user).recovery_codes_left == 9


def test_new_recovery_codes_void_the_old(manager_user):
    _device, old = enrolled(manager_user)
    new = two_factor.make_recovery_codes(user=manager_user)
    assert len(new) == 10
    assert not set(old) & set(new)
    with pytest.raises(TwoFactorError):
        two_factor.verify(user=manager_user, code=old[0])
    assert len(audited("auth.recovery_codes_created")) == 1
    assert StaticDevice.objects.filter(user=manager_user).count() == 1


def test_no_recovery_codes_without_the_app(manager_user):
    with pytest.raises(TwoFactorError):
        two_factor.make_recovery_codes(user=manager_user)
    assert not StaticToken.objects.exists()


@pytest.mark.parametrize(
    "typed", ["", "   ", "12345", "1234567", "abcdefgh", "ñandú" * 6, "'; DROP TABLE x; --", "\x00"]
)
def test_nonsense_is_refused_with_a_message(manager_user, typed, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    enrolled(manager_user)
    with pytest.raises(TwoFactorError):
        two_factor.verify(user=manager_user, code=typed)
    assert audited("auth.two_factor_failed")


def test_someone_without_an_app_is_refused(manager_user):
    with pytest.raises(TwoFactorError):
        two_factor.verify(user=manager_user, code="123456")


# --- The admin's reset


def test_an_admin_resets_someones_app_and_codes(manager_user):
    admin = factories.admin(username="ada")
    enrolled(manager_user)
    two_factor.reset_devices(user=manager_user, actor=admin)
    assert not TOTPDevice.objects.filter(user=manager_user).exists()
    assert not StaticDevice.objects.filter(user=manager_user).exists()
    assert not selectors.state_of(manager_user).enabled
    [entry] = audited("user.two_factor_reset")
    assert (entry.actor_label, entry.target, entry.data) == (
        "ada",
        f"user:{manager_user.pk}",
        {"had_two_factor": True},
    )


def test_an_admin_cannot_reset_their_own(db):
    admin = factories.admin(username="ada")
    enrolled(admin)
    with pytest.raises(TwoFactorError, match="another admin"):
        two_factor.reset_devices(user=admin, actor=admin)
    assert selectors.state_of(admin).enabled
    assert not audited("user.two_factor_reset")
