"""Reading a person's saved preferences."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from tickets.models import UserPreferences


def saved_language(user: AbstractBaseUser) -> str:
    """The language the person chose, or "" when they never chose (the browser decides)."""
    return (
        UserPreferences.objects.filter(user=user).values_list("language", flat=True).first() or ""
    )


def preferences_of(user: AbstractBaseUser) -> UserPreferences | None:
    return UserPreferences.objects.filter(user=user).first()
