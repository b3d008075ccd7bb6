"""Reads: every query the views and services need, with their own select_related/prefetch."""

from __future__ import annotations

from django.db.models import QuerySet

from tickets.models import Credential, Environment


def active_credentials() -> QuerySet[Credential]:
    return Credential.objects.filter(is_active=True).order_by("environment")


def active_credential(*, environment: str | None = None) -> Credential | None:
    """The credential issuing uses: production when one is active, else alpha."""
    credentials = active_credentials()
    if environment is not None:
        return credentials.filter(environment=environment).first()
    by_environment = {c.environment: c for c in credentials}
    return by_environment.get(Environment.PRODUCTION) or by_environment.get(Environment.ALPHA)
