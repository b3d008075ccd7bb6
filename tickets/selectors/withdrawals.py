"""Reads about withdrawals: who may withdraw which comp, and the managers' list.

A manager (`roles.WITHDRAW_TICKETS`) may withdraw any issued comp; the issuer of a comp only
their own, within the venue's `issuer_withdrawal_minutes` of issuing it (0: never).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets import roles
from tickets.models import (
    Issuance,
    IssuedTicket,
    LineState,
    Withdrawal,
    WithdrawalState,
)
from tickets.selectors.policies import venue_policy

User = AbstractBaseUser | AnonymousUser

# Not yet settled: the ticket is being withdrawn.
OPEN_STATES = (
    WithdrawalState.PENDING,
    WithdrawalState.SENDING,
    WithdrawalState.AWAITING_DASHBOARD,
    WithdrawalState.UNKNOWN,
)


def withdrawal_of(ticket: IssuedTicket) -> Withdrawal | None:
    return Withdrawal.objects.select_related("requested_by").filter(ticket=ticket).first()


def issuer_window_ends(ticket: IssuedTicket, *, minutes: int | None = None) -> dt.datetime | None:
    """Until when the ticket's issuer may withdraw it; None when issuers may not at all."""
    if minutes is None:
        minutes = venue_policy().issuer_withdrawal_minutes
    line = ticket.line
    if not minutes or line is None:
        return None
    issued = ticket.issued_at or line.issuance.created_at
    return issued + dt.timedelta(minutes=minutes)


def _may_as_person(
    ticket: IssuedTicket, user: User, now: dt.datetime, *, minutes: int | None = None
) -> bool:
    if not user.is_authenticated:
        return False
    if user.has_perm(roles.WITHDRAW_TICKETS):
        return True
    line = ticket.line
    if line is None or line.issuance.created_by_id != user.pk:
        return False
    if not user.has_perm(roles.ISSUE_COMPS):
        return False
    ends = issuer_window_ends(ticket, minutes=minutes)
    return ends is not None and now < ends


_UNREAD = object()


def refusal(
    ticket: IssuedTicket,
    user: User,
    *,
    now: dt.datetime | None = None,
    existing_state: str | object | None = _UNREAD,
    minutes: int | None = None,
) -> str | None:
    """Why `user` may not ask to withdraw `ticket` now, in words for them; None when they may.
    `existing_state` (the state of the ticket's withdrawal, None for none) and `minutes` (the
    issuers' window) spare a page of many tickets a query each."""
    now = now or timezone.now()
    if not _may_as_person(ticket, user, now, minutes=minutes):
        if user.is_authenticated and not user.has_perm(roles.WITHDRAW_TICKETS):
            return _("Only a manager can withdraw this comp now.")
        return _("You may not withdraw this comp.")
    line = ticket.line
    if line is None:
        return _("Only comps issued through Comps can be withdrawn here.")
    if line.state != LineState.CONFIRMED:
        return _("This comp is not issued, so there is nothing to withdraw.")
    if ticket.withdrawn_at is not None:
        return _("This comp is already withdrawn.")
    if existing_state is _UNREAD:
        existing_state = (
            Withdrawal.objects.filter(ticket=ticket).values_list("state", flat=True).first()
        )
    if existing_state == WithdrawalState.FAILED:
        return _("An earlier withdrawal of this comp failed: use “Try again”.")
    if existing_state is not None:
        return _("This comp is already being withdrawn.")
    return None


def may_withdraw(ticket: IssuedTicket, user: User) -> bool:
    return refusal(ticket, user) is None


def retry_refusal(withdrawal: Withdrawal, user: User) -> str | None:
    """Why `user` may not try this withdrawal again; None when they may."""
    ticket = withdrawal.ticket
    if not _may_as_person(ticket, user, timezone.now()):
        return _("Only a manager can try this withdrawal again.")
    if withdrawal.state != WithdrawalState.FAILED:
        return _("Only a failed withdrawal can be tried again.")
    if ticket.withdrawn_at is not None:
        return _("This comp is already withdrawn.")
    return None


def may_retry(withdrawal: Withdrawal, user: User) -> bool:
    return retry_refusal(withdrawal, user) is None


@dataclass(frozen=True)
class TicketWithdrawal:
    """What the ticket and issuance pages show about withdrawing one ticket."""

    withdrawal: Withdrawal | None
    may_withdraw: bool
    may_retry: bool

    @property
    def is_open(self) -> bool:
        return self.withdrawal is not None and self.withdrawal.state in OPEN_STATES

    @property
    def in_dashboard(self) -> bool:
        return (
            self.withdrawal is not None
            and self.withdrawal.state == WithdrawalState.AWAITING_DASHBOARD
        )


def ticket_withdrawal(ticket: IssuedTicket, user: User) -> TicketWithdrawal:
    withdrawal = withdrawal_of(ticket)
    return TicketWithdrawal(
        withdrawal=withdrawal,
        may_withdraw=withdrawal is None and may_withdraw(ticket, user),
        may_retry=withdrawal is not None and may_retry(withdrawal, user),
    )


def issuance_withdrawals(issuance: Issuance, user: User) -> dict[int, TicketWithdrawal]:
    """Per line (its pk) of the issuance with a ticket: its withdrawal and what `user` may do."""
    tickets = IssuedTicket.objects.filter(line__issuance=issuance).select_related("line__issuance")
    withdrawals = {
        w.ticket_id: w
        for w in Withdrawal.objects.filter(ticket__line__issuance=issuance).select_related(
            "requested_by"
        )
    }
    minutes = venue_policy().issuer_withdrawal_minutes
    now = timezone.now()
    result = {}
    for ticket in tickets:
        withdrawal = withdrawals.get(ticket.pk)
        if withdrawal is not None:
            withdrawal.ticket = ticket
        result[ticket.line_id] = TicketWithdrawal(
            withdrawal=withdrawal,
            may_withdraw=withdrawal is None
            and refusal(ticket, user, now=now, existing_state=None, minutes=minutes) is None,
            may_retry=withdrawal is not None and may_retry(withdrawal, user),
        )
    return result


def withdrawal_list(*, state: str = "") -> QuerySet[Withdrawal]:
    """The managers' list, newest first; `state` one of `WithdrawalState` (else every one)."""
    withdrawals = Withdrawal.objects.select_related(
        "ticket__event", "ticket__line__issuance__event", "requested_by", "credential"
    ).order_by("-created_at", "-id")
    if state in WithdrawalState.values:
        withdrawals = withdrawals.filter(state=state)
    return withdrawals


def counts_by_state() -> dict[str, int]:
    counts = dict(
        Withdrawal.objects.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    return {state: counts.get(state, 0) for state in WithdrawalState.values}
