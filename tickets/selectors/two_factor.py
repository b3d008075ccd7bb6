"""Two-factor sign-in, read side: who must use it, and what a person has set up."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from tickets import roles


def two_factor_required(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Managers and admins (whoever sees every issuance or holds the API keys) and superusers,
    while COMPS_REQUIRE_TWO_FACTOR is on; issuers never."""
    if not settings.COMPS_REQUIRE_TWO_FACTOR or not user.is_authenticated:
        return False
    return bool(
        getattr(user, "is_superuser", False)
        or user.has_perm(roles.VIEW_ALL_ISSUANCES)
        or user.has_perm(roles.MANAGE_CREDENTIALS)
    )


def confirmed_app(user: AbstractBaseUser) -> TOTPDevice | None:
    """The person's authenticator app, once they confirmed it with a code."""
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


def recovery_codes_device(user: AbstractBaseUser) -> StaticDevice | None:
    return StaticDevice.objects.filter(user_id=user.pk, confirmed=True).order_by("pk").first()


@dataclass(frozen=True)
class TwoFactorState:
    required: bool
    enabled: bool  # an authenticator app is confirmed
    recovery_codes_left: int


def state_of(user: AbstractBaseUser) -> TwoFactorState:
    return TwoFactorState(
        required=two_factor_required(user),
        enabled=TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists(),
        recovery_codes_left=StaticToken.objects.filter(
            device__user_id=user.pk, device__confirmed=True
        ).count(),
    )
