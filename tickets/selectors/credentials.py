"""Reads of the credentials: which credential issuing uses, and the API calls made with one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass

from django.db.models import QuerySet

from tickets.models import ApiCall, Credential, Environment


def active_credentials() -> QuerySet[Credential]:
    return Credential.objects.filter(is_active=True).order_by("environment")


# Issuing uses production when a credential is active there, else alpha.
ISSUING_PREFERENCE = (Environment.PRODUCTION, Environment.ALPHA)


def _preferred(environments: Collection[str]) -> str | None:
    return next((e for e in ISSUING_PREFERENCE if e in environments), None)


def issuing_environment() -> str | None:
    """The environment issuing uses, without loading (and decrypting) a credential."""
    return _preferred(set(active_credentials().values_list("environment", flat=True)))


def active_credential(*, environment: str | None = None) -> Credential | None:
    """The credential issuing uses, or the one active in `environment`."""
    credentials = active_credentials()
    if environment is not None:
        return credentials.filter(environment=environment).first()
    by_environment = {c.environment: c for c in credentials}
    preferred = _preferred(by_environment)
    return by_environment[preferred] if preferred else None


def credential_list() -> QuerySet[Credential]:
    """The credentials page: active ones first, then by environment and name."""
    return Credential.objects.order_by("-is_active", "environment", "name")


def expiring_credentials() -> list[Credential]:
    """Active credentials expired or within the warning window: the admins' banner."""
    return [c for c in active_credentials().exclude(expires_on=None) if c.expires_soon]


def recent_api_calls(*, credential: Credential, limit: int = 10) -> QuerySet[ApiCall]:
    return ApiCall.objects.filter(credential=credential)[:limit]


@dataclass(frozen=True, slots=True)
class CredentialHealth:
    """One credential on the admin's home page."""

    credential: Credential
    name: str
    environment: str
    active: bool
    last_success_at: dt.datetime | None  # the last successful connection test
    expires_on: dt.date | None
    expired: bool
    expires_soon: bool


def credential_health() -> list[CredentialHealth]:
    """Every credential, those in use first: whether it is used, its last successful test and
    its expiry (the admin's home page)."""
    return [
        CredentialHealth(
            credential=c,
            name=c.name,
            environment=c.environment,
            active=c.is_active,
            last_success_at=c.last_verified_at,
            expires_on=c.expires_on,
            expired=c.is_expired,
            expires_soon=c.expires_soon,
        )
        for c in credential_list().defer("api_key", "integration_id", "secret")
    ]
