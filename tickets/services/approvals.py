"""Approving and rejecting issuances that wait for a manager (four eyes), and telling the
requester.

An issuance over an allowance, or with more holders than a manager set, is written with its
lines `pending_approval` and an `ApprovalRequest` (`services.issuance`). Here a manager who is
not the requester decides, one request or many at once:

- approve: the lines go `pending_approval -> pending` through the ledger and the sending task is
  queued, in one transaction with the decision;
- reject (a reason is required): the lines go `rejected`, nothing is sent.

A request is decided once: the decision is a conditional UPDATE on its state (as
`ledger.move` does for lines), so of two managers deciding at once only one wins, and the other
is told it was decided already. The requester gets an e-mail in their language, sent by the
worker (`tasks.notify_approval_decision`), queued with the decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import formataddr

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tickets import roles, tasks
from tickets.models import ApprovalRequest, ApprovalState, Issuance, LineState
from tickets.selectors import preferences as preference_selectors
from tickets.services import audit
from tickets.services.ledger import move, refresh_status

REASON_MAX_LENGTH = ApprovalRequest._meta.get_field("decision_reason").max_length or 500


class ApprovalError(Exception):
    """Nothing could be decided; the message is fit to show to staff. `refused` lists every
    request asked about with why it was not decided."""

    def __init__(
        self, message: str, refused: list[tuple[ApprovalRequest, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.refused = refused or []


@dataclass
class Decisions:
    """What a (bulk) decision did: the requests decided, and those refused with why."""

    decided: list[ApprovalRequest] = field(default_factory=list)
    refused: list[tuple[ApprovalRequest, str]] = field(default_factory=list)


def approve(
    *,
    requests: Sequence[ApprovalRequest] | None = None,
    issuances: Sequence[Issuance] | None = None,
    user: AbstractBaseUser | AnonymousUser,
    reason: str = "",
    request: HttpRequest | None = None,
) -> Decisions:
    """Approve the requests (or the requests of the issuances): their comps are sent."""
    return _decide(
        approvals=_requests(requests, issuances),
        user=user,
        state=ApprovalState.APPROVED,
        reason=reason,
        request=request,
    )


def reject(
    *,
    requests: Sequence[ApprovalRequest] | None = None,
    issuances: Sequence[Issuance] | None = None,
    user: AbstractBaseUser | AnonymousUser,
    reason: str,
    request: HttpRequest | None = None,
) -> Decisions:
    """Reject the requests (or the requests of the issuances): nothing is sent. Needs a reason."""
    if not reason.strip():
        raise ApprovalError(_("Say why the comps are rejected: the requester will read it."))
    return _decide(
        approvals=_requests(requests, issuances),
        user=user,
        state=ApprovalState.REJECTED,
        reason=reason,
        request=request,
    )


def _requests(
    requests: Sequence[ApprovalRequest] | None, issuances: Sequence[Issuance] | None
) -> list[ApprovalRequest]:
    if requests is not None:
        return list(requests)
    if issuances is None:
        return []
    found = {
        approval.issuance_id: approval
        for approval in ApprovalRequest.objects.filter(issuance__in=list(issuances))
    }
    missing = [issuance for issuance in issuances if issuance.pk not in found]
    if missing:
        raise ApprovalError(
            _("Issuance #%(number)s does not wait for approval.") % {"number": missing[0].pk}
        )
    return [found[issuance.pk] for issuance in issuances]


def _decide(
    *,
    approvals: list[ApprovalRequest],
    user: AbstractBaseUser | AnonymousUser,
    state: str,
    reason: str,
    request: HttpRequest | None,
) -> Decisions:
    if not user.is_authenticated or not user.has_perm(roles.APPROVE_ISSUANCES):
        raise ApprovalError(_("You may not approve or reject comps."))
    if not approvals:
        raise ApprovalError(_("Select at least one request."))
    reason = " ".join(reason.split())
    if len(reason) > REASON_MAX_LENGTH:
        raise ApprovalError(
            _("Keep the reason under %(count)s characters.") % {"count": REASON_MAX_LENGTH}
        )
    outcome = Decisions()
    seen: set[int] = set()
    for approval in approvals:
        if approval.pk in seen:
            continue
        seen.add(approval.pk)
        refusal = _decide_one(approval, user=user, state=state, reason=reason, request=request)
        if refusal:
            outcome.refused.append((approval, refusal))
        else:
            outcome.decided.append(approval)
    if not outcome.decided:
        message = outcome.refused[0][1] if len(outcome.refused) == 1 else _nothing_decided(outcome)
        raise ApprovalError(message, outcome.refused)
    return outcome


def _nothing_decided(outcome: Decisions) -> str:
    return _("None of the selected requests could be decided: %(reasons)s") % {
        "reasons": " ".join(sorted({why for _request, why in outcome.refused}))
    }


def _decide_one(
    approval: ApprovalRequest,
    *,
    user: AbstractBaseUser | AnonymousUser,
    state: str,
    reason: str,
    request: HttpRequest | None,
) -> str:
    """Decide one request in its own transaction; "" when decided, else why not."""
    issuance = (
        Issuance.objects.select_related("event", "created_by").filter(pk=approval.issuance_id).get()
    )
    number = {"number": issuance.pk}
    # Four eyes: whoever asked never lets their own comps through, nor turns them down.
    if issuance.created_by_id == user.pk:
        return (
            _("Issuance #%(number)s is yours: another manager must approve or reject it.") % number
        )
    if state == ApprovalState.APPROVED and issuance.event.night < timezone.localdate():
        return (
            _("Issuance #%(number)s is for an event that has already taken place: reject it.")
            % number
        )
    now = timezone.now()
    with transaction.atomic():
        won = ApprovalRequest.objects.filter(pk=approval.pk, state=ApprovalState.REQUESTED).update(
            state=state, decided_by=user, decided_at=now, decision_reason=reason
        )
        if not won:
            return _("Issuance #%(number)s was decided already.") % number
        lines = list(
            issuance.lines.filter(state=LineState.PENDING_APPROVAL).values_list("pk", flat=True)
        )
        approved = state == ApprovalState.APPROVED
        move(
            lines,
            to=LineState.PENDING if approved else LineState.REJECTED,
            only_from=[LineState.PENDING_APPROVAL],
            **({} if approved else {"settled_at": now}),
        )
        refresh_status(issuance)
        audit.record(
            action="approval.approved" if approved else "approval.rejected",
            actor=user,
            target=issuance,
            data={"lines": len(lines), "reason": reason},
            request=request,
        )
        if approved:
            tasks.send_issuance.enqueue(issuance.pk)
        tasks.notify_approval_decision.enqueue(approval.pk)
    approval.refresh_from_db()
    return ""


# --- Telling the requester ----------------------------------------------------------------------


def notify_requester(*, approval_id: int) -> bool:
    """E-mail the requester the decision on their issuance, in their language (the worker's
    `notify_approval_decision`); False when there is nobody to tell."""
    approval = (
        ApprovalRequest.objects.select_related(
            "issuance__event", "issuance__rate", "issuance__created_by", "decided_by"
        )
        .filter(pk=approval_id)
        .exclude(state=ApprovalState.REQUESTED)
        .first()
    )
    if approval is None:
        return False
    requester = approval.issuance.created_by
    if not requester.email:
        return False
    language = preference_selectors.saved_language(requester) or settings.LANGUAGE_CODE
    build_decision_email(approval, language=language).send()
    return True


def build_decision_email(approval: ApprovalRequest, *, language: str) -> EmailMessage:
    issuance = approval.issuance
    decider = approval.decided_by
    with translation.override(language):
        context = {
            "approval": approval,
            "issuance": issuance,
            "approved": approval.state == ApprovalState.APPROVED,
            "holders": issuance.lines.count(),
            "decider": (decider.get_full_name() or decider.get_username()) if decider else "",
            "url": settings.COMPS_PUBLIC_URL + reverse("issuance-detail", args=[issuance.pk]),
            "venue": settings.COMPS_VENUE_NAME,
        }
        subject = render_to_string("tickets/approvals/email/decision_subject.txt", context)
        body = render_to_string("tickets/approvals/email/decision.txt", context)
    return EmailMessage(
        subject=" ".join(subject.split()),
        body=body,
        from_email=formataddr((settings.COMPS_VENUE_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[issuance.created_by.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
