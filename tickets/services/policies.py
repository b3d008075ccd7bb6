"""Changing the rules managers set: the venue's (approval above a size, the issuers' withdrawal
window) and each event's (cut-off, approval on or off, its own size).

A rule nobody set has no row (`selectors.policies` reads the defaults); the first change writes
one. Every change is audited with each field's old and new value; saving what is already there
writes nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets import roles
from tickets.models import Event, EventPolicy, VenuePolicy
from tickets.selectors import policies as policy_selectors
from tickets.services import audit

PolicyT = TypeVar("PolicyT", VenuePolicy, EventPolicy)


class PolicyError(Exception):
    """The rules cannot be changed so; the message is fit to show to staff."""


def _check_permission(user: AbstractBaseUser | AnonymousUser) -> None:
    if not user.is_authenticated or not user.has_perm(roles.MANAGE_ALLOWANCES):
        raise PolicyError(_("You may not change the rules."))


def _check_size(size: int | None) -> None:
    if size is not None and size < 1:
        raise PolicyError(_("Ask for approval above one holder or more, or leave it empty."))


def _shown(value: Any) -> Any:
    """A value as the audit log keeps it (JSON)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _changes(row: Any, new: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: {"old": _shown(getattr(row, name)), "new": _shown(value)}
        for name, value in new.items()
        if getattr(row, name) != value
    }


def set_venue_policy(
    *,
    approval_over_size: int | None,
    issuer_withdrawal_minutes: int,
    user: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> VenuePolicy:
    """Set the venue's rules; returns them as saved."""
    _check_permission(user)
    _check_size(approval_over_size)
    if issuer_withdrawal_minutes < 0:
        raise PolicyError(_("The withdrawal window is a number of minutes, 0 or more."))
    new = {
        "approval_over_size": approval_over_size,
        "issuer_withdrawal_minutes": issuer_withdrawal_minutes,
    }
    with transaction.atomic():
        policy, _created = VenuePolicy.objects.select_for_update().get_or_create(pk=1)
        return _save_changes(
            policy, new, action="venue_policy.changed", target=policy, user=user, request=request
        )


def set_event_policy(
    *,
    event: Event,
    cut_off_at: dt.datetime | None,
    approval_required: bool,
    approval_over_size: int | None,
    user: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> EventPolicy:
    """Set an event's rules. `cut_off_at` None: the default (its doors opening); a cut-off equal
    to the default is stored as the default, so it follows the event if its time changes."""
    _check_permission(user)
    _check_size(approval_over_size)
    if cut_off_at is not None and cut_off_at == policy_selectors.default_cut_off(event):
        cut_off_at = None
    night_over = max(
        policy_selectors.end_of_night(event), event.ends_at or policy_selectors.end_of_night(event)
    )
    if cut_off_at is not None and cut_off_at > night_over:
        raise PolicyError(
            _("Set the cut-off no later than the end of the event (%(end)s).")
            % {"end": date_format(timezone.localtime(night_over), "DATETIME_FORMAT")}
        )
    new = {
        "cut_off_at": cut_off_at,
        "approval_required": approval_required,
        "approval_over_size": approval_over_size,
    }
    with transaction.atomic():
        existing = EventPolicy.objects.select_for_update().filter(event=event).first()
        return _save_changes(
            existing or EventPolicy(event=event),
            new,
            action="event_policy.changed",
            target=event,
            user=user,
            request=request,
        )


def _save_changes(
    policy: PolicyT,
    new: dict[str, object],
    *,
    action: str,
    target: Model,
    user: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None,
) -> PolicyT:
    """Save `new` over `policy` and audit old -> new; nothing at all when nothing changes."""
    changes = _changes(policy, new)
    if changes:
        for name, value in new.items():
            setattr(policy, name, value)
        policy.save()
        audit.record(
            action=action, actor=user, target=target, data={"changes": changes}, request=request
        )
    return policy
