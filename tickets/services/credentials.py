"""Fourvenues credentials: registering them, checking them, and building an API client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from tickets.fourvenues.client import ApiKeyAuth, CallRecord, FourvenuesClient, LegacyAuth
from tickets.fourvenues.errors import FourvenuesError
from tickets.fourvenues.schemas import Channel
from tickets.models import ApiCall, AuthScheme, Credential
from tickets.services import audit


class CredentialError(Exception):
    """A credential cannot be saved or used; the message is fit for staff."""


@transaction.atomic
def register_credential(
    *,
    name: str,
    environment: str,
    auth_scheme: str = AuthScheme.API_KEY,
    api_key: str = "",
    integration_id: str = "",
    secret: str = "",
    base_url_override: str = "",
    expires_on: dt.date | None = None,
    notes: str = "",
    actor: AbstractBaseUser | None,
) -> Credential:
    """Store a new credential and make it the active one for its environment."""
    if auth_scheme == AuthScheme.API_KEY and not api_key:
        raise CredentialError("An API key is required for the API key scheme.")
    if auth_scheme == AuthScheme.LEGACY and not (integration_id and secret):
        raise CredentialError("Both the integration id and the secret are required for v1.")
    Credential.objects.filter(environment=environment, is_active=True).update(is_active=False)
    credential = Credential.objects.create(
        name=name,
        environment=environment,
        auth_scheme=auth_scheme,
        api_key=api_key if auth_scheme == AuthScheme.API_KEY else "",
        integration_id=integration_id if auth_scheme == AuthScheme.LEGACY else "",
        secret=secret if auth_scheme == AuthScheme.LEGACY else "",
        base_url_override=base_url_override,
        expires_on=expires_on,
        notes=notes,
        is_active=True,
    )
    audit.record(
        action="credential.created",
        actor=actor,
        target=str(credential),
        data={
            "environment": environment,
            "auth_scheme": auth_scheme,
            "base_url": credential.base_url,
        },
    )
    return credential


def record_call(credential: Credential, record: CallRecord) -> None:
    ApiCall.objects.create(
        credential=credential,
        method=record.method,
        path=record.path[:500],
        query=record.query,
        status=record.status,
        duration_ms=round(record.duration_ms),
        attempt=record.attempt,
        request_body=record.request_body,
        response_body=record.response_body,
        error=(record.error or "")[:500],
    )


def build_client(
    credential: Credential,
    *,
    record_calls: bool = True,
    on_call: Callable[[CallRecord], None] | None = None,
) -> FourvenuesClient:
    """A client for `credential`, with the project's timeouts and limits, recording every call
    (and telling `on_call` about each, for callers that count them)."""
    auth: ApiKeyAuth | LegacyAuth
    if credential.auth_scheme == AuthScheme.LEGACY:
        auth = LegacyAuth(integration_id=credential.integration_id, secret=credential.secret)
    else:
        auth = ApiKeyAuth(api_key=credential.api_key)
    return FourvenuesClient(
        base_url=credential.base_url,
        auth=auth,
        connect_timeout=settings.FOURVENUES_CONNECT_TIMEOUT,
        read_timeout=settings.FOURVENUES_READ_TIMEOUT,
        get_retries=settings.FOURVENUES_GET_RETRIES,
        backoff_seconds=settings.FOURVENUES_BACKOFF_SECONDS,
        rate_limit_per_second=settings.FOURVENUES_RATE_LIMIT,
        on_call=(
            (lambda record: _on_call(credential, record, record_calls, on_call))
            if record_calls or on_call is not None
            else None
        ),
    )


def _on_call(
    credential: Credential,
    record: CallRecord,
    record_calls: bool,
    listener: Callable[[CallRecord], None] | None,
) -> None:
    if record_calls:
        record_call(credential, record)
    if listener is not None:
        listener(record)


def verify_credential(*, credential: Credential, actor: AbstractBaseUser | None) -> list[Channel]:
    """Call `GET /channels/` (the documented key check) and remember when it last worked."""
    client = build_client(credential)
    try:
        channels = client.check_connection()
    except FourvenuesError as exc:
        audit.record(
            action="credential.verify_failed",
            actor=actor,
            target=str(credential),
            data={"error": exc.message, "status": exc.status},
        )
        raise
    now = timezone.now()
    Credential.objects.filter(pk=credential.pk).update(last_verified_at=now, last_used_at=now)
    credential.last_verified_at = credential.last_used_at = now
    audit.record(
        action="credential.verified",
        actor=actor,
        target=str(credential),
        data={"channels": len(channels)},
    )
    return channels
