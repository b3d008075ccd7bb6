"""The append-only audit log: every action, with dotted action codes and secrets masked.

Each entry names its target one way, `<kind>:<pk>` (`issuance:42`, `ticket:7`, `user:3`), so a
page can find every entry about a thing; the codes are the registry `models.AuditAction`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Model
from django.http import HttpRequest

from tickets.client_ip import client_ip as request_address
from tickets.models import AuditAction, AuditEntry
from tickets.redaction import redact

# A target's kind is its model's name, but for these (a mirrored ticket is a "ticket" to staff).
KINDS = {"issuedticket": "ticket", "reconciliationrun": "run"}
# Kinds whose key alone does not tell staff what it is: the label they know it by.
LABELS = {"user", "credential", "event", "reason", "supplement"}
# Read once: `AuditAction.values` builds a new list on every access, and issuing records often.
KNOWN_ACTIONS = frozenset(AuditAction.values)


class UnknownAction(ValueError):
    """An action code missing from `AuditAction`: a programming error, caught by the tests."""


@dataclass(frozen=True)
class Ref:
    """A target known only by its model and primary key (no row fetched to name it)."""

    model: type[Model]
    pk: int


def kind_of(model: type[Model]) -> str:
    name = model._meta.model_name or ""
    return KINDS.get(name, name)


def target_key(target: Model | Ref) -> str:
    """`<kind>:<pk>`, the one way entries name what they are about."""
    # `_meta.model`, not `type()`: request.user is a lazy proxy of a User.
    model = target.model if isinstance(target, Ref) else target._meta.model
    return f"{kind_of(model)}:{target.pk}"


def _label(target: Model | Ref | None) -> str:
    if target is None or isinstance(target, Ref) or kind_of(target._meta.model) not in LABELS:
        return ""
    if isinstance(target, AbstractBaseUser):
        return target.get_username()
    return str(target)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    return request_address(request)


def record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    target: Model | Ref | None = None,
    target_label: str = "",
    data: dict[str, Any] | None = None,
    request: HttpRequest | None = None,
) -> AuditEntry:
    """Append one entry. `target_label` names a target that is no row (a user name typed at the
    login page); for a row it is derived."""
    if action not in KNOWN_ACTIONS:
        raise UnknownAction(f"{action!r} is not in tickets.models.AuditAction.")
    user = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=user,
        actor_label=user.get_username() if user is not None else "system",
        action=action,
        target=target_key(target) if target is not None else "",
        target_label=(target_label or _label(target))[:200],
        data=redact(data or {}),
        ip_address=client_ip(request),
    )
