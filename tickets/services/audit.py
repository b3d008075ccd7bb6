"""The append-only audit log: every action, with dotted action codes and secrets masked."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import HttpRequest

from tickets.models import AuditEntry
from tickets.text import mask_document

_SECRET_KEY_PATTERN = re.compile(r"(secret|api_?key|password|token)", re.IGNORECASE)
_DOCUMENT_KEY_PATTERN = re.compile(r"document_number", re.IGNORECASE)


def redact(data: Any) -> Any:
    """A copy of `data` with secrets removed and document numbers masked, at any depth."""
    if isinstance(data, dict):
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if _SECRET_KEY_PATTERN.search(str(key)):
                cleaned[key] = "[redacted]" if value else value
            elif _DOCUMENT_KEY_PATTERN.search(str(key)) and isinstance(value, str) and value:
                cleaned[key] = mask_document(value)
            else:
                cleaned[key] = redact(value)
        return cleaned
    if isinstance(data, list | tuple):
        return [redact(item) for item in data]
    return data


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    target: str = "",
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=user,
        actor_label=user.get_username() if user is not None else "system",
        action=action,
        target=target[:200],
        data=redact(data or {}),
        ip_address=client_ip(request),
    )
