"""Reads for approvals: the queue of issuances waiting for a manager, one issuance's request,
and its grounds in words.

Grounds are data written when the issuance was submitted (`ApprovalRequest.grounds`); they are
worded here, in the reader's language, and tolerantly: a key missing from an older or a newer
shape leaves its part of the sentence out rather than breaking the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from tickets import roles
from tickets.models import ApprovalRequest, ApprovalState, Event, Issuance, LineState


def waiting_requests(*, event: Event | None = None) -> QuerySet[ApprovalRequest]:
    """Requests still to be decided, oldest first, with what the queue shows of each."""
    requests = ApprovalRequest.objects.filter(state=ApprovalState.REQUESTED)
    if event is not None:
        requests = requests.filter(issuance__event=event)
    return (
        requests.select_related(
            "issuance__event",
            "issuance__rate",
            "issuance__reason",
            "issuance__created_by",
            "issuance__channel",
            "issuance__promoter",
        )
        .annotate(
            holders=Count(
                "issuance__lines", filter=Q(issuance__lines__state=LineState.PENDING_APPROVAL)
            )
        )
        .order_by("created_at", "id")
    )


def waiting_count() -> int:
    """How many requests wait (the partial index `approval_waiting` keeps this cheap)."""
    return ApprovalRequest.objects.filter(state=ApprovalState.REQUESTED).count()


def events_with_requests() -> QuerySet[Event]:
    """The events the queue may be filtered by: those any request was ever made for."""
    return (
        Event.objects.filter(issuances__approval_request__isnull=False)
        .distinct()
        .order_by("-night", "name")
    )


def request_of(issuance: Issuance) -> ApprovalRequest | None:
    return ApprovalRequest.objects.filter(issuance=issuance).select_related("decided_by").first()


def may_decide(user: AbstractBaseUser | AnonymousUser, approval: ApprovalRequest) -> bool:
    """Whether `user` may approve or reject it now: an approver, and never its requester."""
    return (
        approval.state == ApprovalState.REQUESTED
        and user.has_perm(roles.APPROVE_ISSUANCES)
        and approval.issuance.created_by_id != user.pk
    )


@dataclass(frozen=True)
class QueueRow:
    """One waiting request as the queue lists it."""

    approval: ApprovalRequest
    grounds: list[str]
    people_asked: int

    @property
    def issuance(self) -> Issuance:
        return self.approval.issuance


def queue_rows(requests: list[ApprovalRequest]) -> list[QueueRow]:
    return [
        QueueRow(
            approval=approval,
            grounds=grounds_in_words(approval.grounds),
            people_asked=people_asked(approval),
        )
        for approval in requests
    ]


def people_asked(approval: ApprovalRequest) -> int:
    """The people the issuance would admit: as an allowance counted them, else one per holder."""
    holders = getattr(approval, "holders", None)
    if holders is None:
        holders = approval.issuance.lines.filter(state=LineState.PENDING_APPROVAL).count()
    counted = [
        value
        for ground in _ground_dicts(approval.grounds)
        if isinstance(value := ground.get("people_asked"), int) and not isinstance(value, bool)
    ]
    return max(counted) if counted else holders


def _ground_dicts(grounds: Any) -> list[dict[str, Any]]:
    if not isinstance(grounds, list):
        return []
    return [ground for ground in grounds if isinstance(ground, dict)]


def grounds_in_words(grounds: Any) -> list[str]:
    """Why an issuance waits, one sentence per ground."""
    words = [_ground_in_words(ground) for ground in _ground_dicts(grounds)]
    return words or [_("A manager's approval was asked for.")]


def _number(value: Any) -> str | None:
    """A count or an amount as stored (int, or a decimal written as a string), else None."""
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, (int, float, str)):
        return str(value)
    return None


def _ground_in_words(ground: dict[str, Any]) -> str:
    kind = ground.get("kind")
    if kind == "size":
        return _size_in_words(ground)
    if kind == "allowance":
        return _allowance_in_words(ground)
    return _("A manager's approval was asked for.")


def _size_in_words(ground: dict[str, Any]) -> str:
    size, holders = _number(ground.get("size")), _number(ground.get("holders"))
    if size is not None and holders is not None:
        return _("%(holders)s holders: more than the %(size)s above which a manager approves.") % {
            "holders": holders,
            "size": size,
        }
    if size is not None:
        return _("More holders than the %(size)s above which a manager approves.") % {"size": size}
    return _("More holders than a manager lets through without approval.")


def _allowance_in_words(ground: dict[str, Any]) -> str:
    holder = ground.get("holder")
    holder = holder.strip() if isinstance(holder, str) else ""
    head = (
        _("Over the allowance of %(holder)s.") % {"holder": holder}
        if holder
        else _("Over an allowance.")
    )
    parts = [head]
    limit, used, asked = (
        _number(ground.get(key)) for key in ("people_limit", "people_used", "people_asked")
    )
    if limit is not None and used is not None and asked is not None:
        parts.append(
            _("People: %(used)s of %(limit)s used; this asks for %(asked)s more.")
            % {"used": used, "limit": limit, "asked": asked}
        )
    elif limit is not None:
        parts.append(_("It allows %(limit)s people.") % {"limit": limit})
    value_limit, value_used, value_asked = (
        _number(ground.get(key)) for key in ("value_limit", "value_used", "value_asked")
    )
    if value_limit is not None and value_used is not None and value_asked is not None:
        parts.append(
            _("Face value: %(used)s of %(limit)s used; this asks for %(asked)s more.")
            % {"used": value_used, "limit": value_limit, "asked": value_asked}
        )
    elif value_limit is not None:
        parts.append(_("It allows a face value of %(limit)s.") % {"limit": value_limit})
    return " ".join(parts)


@dataclass(frozen=True)
class ApprovalPanel:
    """What the issuance page shows of its approval: why it waits, the decision once made, and
    whether the reader may make it."""

    approval: ApprovalRequest
    grounds: list[str]
    may_decide: bool

    @property
    def decider(self) -> str:
        user = self.approval.decided_by
        return (user.get_full_name() or user.get_username()) if user is not None else ""


def approval_panel(
    user: AbstractBaseUser | AnonymousUser, issuance: Issuance
) -> ApprovalPanel | None:
    approval = request_of(issuance)
    if approval is None:
        return None
    approval.issuance = issuance
    return ApprovalPanel(
        approval=approval,
        grounds=grounds_in_words(approval.grounds),
        may_decide=may_decide(user, approval),
    )
