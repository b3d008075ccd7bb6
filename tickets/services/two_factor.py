"""Two-factor sign-in with django-otp: an authenticator app (TOTP) confirmed by a code, ten
single-use recovery codes (django-otp's static device), and an admin's reset. Every step is
audited; a code typed, right or wrong, never is (nor a secret, nor a recovery code)."""

from __future__ import annotations

import math
import re
from base64 import b32encode
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_otp.models import Device, VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tickets.selectors import two_factor as selectors
from tickets.services import audit

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"
# What an app shows: six digits, perhaps typed with a space in the middle.
APP_CODE = re.compile(r"^\d{6}$")
# django-otp's static tokens: eight characters of base32, lowercase.
RECOVERY_CODE = re.compile(r"^[a-z2-7]{8}$")


class TwoFactorError(Exception):
    """A code was refused or a change cannot be made; the message is fit for staff."""


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the app's link (as a QR image) and the same secret
    in text, for typing into an app by hand."""

    device: TOTPDevice
    config_url: str
    secret: str


def _normalise(code: str) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def start_enrolment(*, user: User) -> Enrolment:
    """The person's app not yet confirmed: the same one on every visit until they confirm it
    (a reload must not change the QR under an app that already scanned it)."""
    if selectors.confirmed_app(user) is not None:
        raise TwoFactorError(_("Two-factor sign-in is already on for you."))
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    secret = b32encode(device.bin_key).decode()
    return Enrolment(
        device=device,
        config_url=device.config_url,
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    )


WRONG_CODE = "wrong"


def _throttled_message(device: Device) -> str | None:
    """The wait left when earlier wrong codes locked the device for a while (django-otp's
    throttling doubles it with each one), else None."""
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    until = (details or {}).get("locked_until")
    if (details or {}).get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS and until is not None:
        seconds = max(1, math.ceil((until - timezone.now()).total_seconds()))
        return ngettext(
            "Too many wrong codes. Wait %(seconds)d second and try again.",
            "Too many wrong codes. Wait %(seconds)d seconds and try again.",
            seconds,
        ) % {"seconds": seconds}
    return _("Too many wrong codes. Wait a moment and try again.")


def _check(device: Device | None, typed: str, *, shape: re.Pattern[str]) -> str | None:
    """Try the code on the device: None when it is right, else why it was refused (a wrong
    code counts towards the device's throttling, whatever its shape)."""
    if device is None:
        return WRONG_CODE
    throttled = _throttled_message(device)
    if throttled is not None:
        return throttled
    if not shape.match(typed):
        device.throttle_increment()
        return WRONG_CODE
    return None if device.verify_token(typed) else WRONG_CODE


def _failed(
    *, user: User, stage: str, kind: str, refusal: str, request: HttpRequest | None
) -> TwoFactorError:
    audit.record(
        action="auth.two_factor_failed",
        actor=user,
        target=user,
        data={"stage": stage, "kind": kind, "throttled": refusal != WRONG_CODE},
        request=request,
    )
    if refusal != WRONG_CODE:
        return TwoFactorError(refusal)
    if stage == "enrolment":
        return TwoFactorError(_("That code is not right. Type the six digits your app shows now."))
    return TwoFactorError(
        _("That code is not right. Type the code your app shows now, or a recovery code.")
    )


def _new_recovery_codes(user: User) -> list[str]:
    """Ten new codes in the person's one static device; the old ones are void."""
    device, _created = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    StaticDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _index in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def confirm_enrolment(
    *, user: User, code: str, request: HttpRequest | None = None
) -> tuple[TOTPDevice, list[str]]:
    """The first code from the app proves it holds the secret: the app is on, and the ten
    recovery codes (shown to the person once, by the caller) are made."""
    typed = _normalise(code)
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=False)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise TwoFactorError(_("Start again: open the set-up page and scan the new code."))
        refusal = _check(device, typed, shape=APP_CODE)
        if refusal is None:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            # Another app left unconfirmed (a second tab) is of no use any more.
            TOTPDevice.objects.filter(user_id=user.pk).exclude(pk=device.pk).delete()
            codes = _new_recovery_codes(user)
            audit.record(
                action="auth.two_factor_enrolled", actor=user, target=user, request=request
            )
    # Outside the transaction, so that the failure counted above stays counted.
    if refusal is not None:
        raise _failed(user=user, stage="enrolment", kind="app", refusal=refusal, request=request)
    return device, codes


def verify(*, user: User, code: str, request: HttpRequest | None = None) -> Device:
    """The second step of signing in: a code from the app, or a recovery code (used up)."""
    typed = _normalise(code)
    kind = "app" if APP_CODE.match(typed) else "recovery"
    model = TOTPDevice if kind == "app" else StaticDevice
    with transaction.atomic():
        device = (
            model.objects.select_for_update()
            .filter(user_id=user.pk, confirmed=True)
            .order_by("pk")
            .first()
        )
        refusal = _check(device, typed, shape=APP_CODE if kind == "app" else RECOVERY_CODE)
        if refusal is None and kind == "recovery":
            audit.record(
                action="auth.recovery_code_used",
                actor=user,
                target=user,
                data={"codes_left": StaticToken.objects.filter(device=device).count()},
                request=request,
            )
    # Outside the transaction, so that the failure counted above stays counted.
    if refusal is not None or device is None:
        raise _failed(
            user=user, stage="sign_in", kind=kind, refusal=refusal or WRONG_CODE, request=request
        )
    return device


@transaction.atomic
def make_recovery_codes(*, user: User, request: HttpRequest | None = None) -> list[str]:
    """New recovery codes for someone whose app is on; every earlier code stops working."""
    if selectors.confirmed_app(user) is None:
        raise TwoFactorError(_("Turn on two-factor sign-in first."))
    codes = _new_recovery_codes(user)
    audit.record(action="auth.recovery_codes_created", actor=user, target=user, request=request)
    return codes


@transaction.atomic
def reset_devices(
    *, user: User, actor: AbstractBaseUser, request: HttpRequest | None = None
) -> None:
    """An admin removes someone's app and recovery codes (a lost phone): they set two-factor
    up again at their next sign-in, and any session of theirs signed in with it stops."""
    if user.pk == actor.pk:
        raise TwoFactorError(_("You cannot reset your own two-factor sign-in; ask another admin."))
    removed = TOTPDevice.objects.filter(user_id=user.pk).delete()[0]
    removed += StaticDevice.objects.filter(user_id=user.pk).delete()[0]
    audit.record(
        action="user.two_factor_reset",
        actor=actor,
        target=user,
        data={"had_two_factor": removed > 0},
        request=request,
    )
