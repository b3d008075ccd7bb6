"""What the product remembers for a person: their language, their last issuing choices."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser

from tickets.models import Issuance, UserPreferences


def choose_language(user: AbstractBaseUser, language: str) -> None:
    """Save the language a person picked in the switch; every later page and login uses it."""
    if language not in dict(settings.LANGUAGES):
        raise ValueError(f"Unknown language: {language!r}")
    UserPreferences.objects.update_or_create(user=user, defaults={"language": language})


def remember_issuing_choices(issuance: Issuance) -> None:
    """The issuer's next form starts from what they just issued with."""
    UserPreferences.objects.update_or_create(
        user_id=issuance.created_by_id,
        defaults={
            "last_event_id": issuance.event_id,
            "last_rate_id": issuance.rate_id,
            "last_price_option_id": issuance.price_option_id,
            "last_reason_id": issuance.reason_id,
            "last_channel_id": issuance.channel_id,
            "last_promoter_id": issuance.promoter_id,
        },
    )
