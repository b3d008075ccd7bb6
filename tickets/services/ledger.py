"""The ledger's line state machine: every service that settles a line goes through here.

Line states (design.md, "The one rule that shapes everything"):

    pending_approval -> pending | rejected          (approval)
    pending          -> sending | failed            (claimed by a worker; a refused key fails all)
    sending          -> confirmed | failed | unknown | pending
                                                    (the call's outcome; pending: provably not sent)
    unknown          -> confirmed | failed          (the resolver, reconciliation)
    failed           -> pending | confirmed         (a retry; a ticket of ours found after all)

`TRANSITIONS` is that table, and `move` the one way a line's state changes: an UPDATE that only
takes lines in a state the target may be reached from, so a line settled meanwhile by another
process (a slow worker beside the reaper, the resolver beside reconciliation) keeps its outcome.
`confirmed` and `rejected` are final.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from tickets import tasks
from tickets.fourvenues.schemas import Ticket
from tickets.models import (
    FailureCause,
    Issuance,
    IssuanceLine,
    IssuanceStatus,
    IssuedTicket,
    LineState,
)
from tickets.services import audit
from tickets.services.deliveries import queueing as deliveries
from tickets.services.mirror import mirror_tickets
from tickets.text import fold

# Stored in English on the lines and marked for translation: the issuance page translates it.
NO_TICKET_IN_ANSWER = gettext_noop(
    "Fourvenues answered without these tickets; checking whether they exist."
)

# Remote and local clocks differ: a lookup looks a little before the moment a line was sent.
LOOKUP_MARGIN = dt.timedelta(minutes=5)

TRANSITIONS: dict[str, frozenset[str]] = {
    LineState.PENDING_APPROVAL: frozenset({LineState.PENDING, LineState.REJECTED}),
    LineState.PENDING: frozenset({LineState.SENDING, LineState.FAILED}),
    LineState.SENDING: frozenset(
        {LineState.CONFIRMED, LineState.FAILED, LineState.UNKNOWN, LineState.PENDING}
    ),
    LineState.UNKNOWN: frozenset({LineState.CONFIRMED, LineState.FAILED}),
    LineState.FAILED: frozenset({LineState.PENDING, LineState.CONFIRMED}),
    LineState.CONFIRMED: frozenset(),
    LineState.REJECTED: frozenset(),
}


def sources_of(target: str) -> frozenset[str]:
    """The states a line may be in to move to `target`."""
    return frozenset(state for state, targets in TRANSITIONS.items() if target in targets)


def may_move(source: str, target: str) -> bool:
    return target in TRANSITIONS[source]


def move(
    line_ids: Collection[int],
    *,
    to: str,
    only_from: Collection[str] | None = None,
    **fields: Any,
) -> int:
    """Move the lines among `line_ids` whose state allows it to `to`, setting `fields` in the same
    UPDATE; returns how many moved. Lines in any other state are left as they are.

    `only_from` narrows the states moved from (a retry takes failed lines back to pending, not
    lines awaiting approval); it cannot widen them.
    """
    sources = sources_of(to)
    if only_from is not None:
        if not set(only_from) <= sources:
            raise ValueError(f"A line cannot move from {sorted(set(only_from) - sources)} to {to}.")
        sources = frozenset(only_from)
    return IssuanceLine.objects.filter(pk__in=line_ids, state__in=sources).update(
        state=to, **fields
    )


def mark_failed(
    issuance: Issuance, lines: list[IssuanceLine], *, reason: str, cause: FailureCause
) -> None:
    if not lines:
        return
    with transaction.atomic(savepoint=False):
        # Never over a confirmed line: its ticket exists, whatever happened after.
        move(
            [line.pk for line in lines],
            to=LineState.FAILED,
            last_error=reason[:500],
            failure_cause=cause,
            settled_at=timezone.now(),
        )
        audit.record(
            action="issuance.lines_failed",
            target=issuance,
            data={"lines": [line.position for line in lines], "reason": reason},
        )


def mark_unknown(
    issuance: Issuance,
    lines: list[IssuanceLine],
    *,
    reason: str,
    cause: FailureCause = FailureCause.NONE,
) -> None:
    """The create may have reached Fourvenues: never resend; let the resolver find out.
    `cause`: what the resolver should know of why, if it may fail the lines later."""
    resolve_at = timezone.now() + dt.timedelta(seconds=settings.FOURVENUES_RESOLVE_DELAY_SECONDS)
    with transaction.atomic(savepoint=False):
        # Only lines still `sending`: a line settled meanwhile (the reaper racing a slow but
        # live worker) keeps its outcome.
        move(
            [line.pk for line in lines],
            to=LineState.UNKNOWN,
            last_error=reason[:500],
            failure_cause=cause,
            next_resolve_at=resolve_at,
        )
        audit.record(
            action="issuance.lines_unknown",
            target=issuance,
            data={"lines": [line.position for line in lines], "reason": reason},
        )
        tasks.resolve_issuance.using(run_after=resolve_at).enqueue(issuance.pk)


@dataclass
class Matching:
    pairs: list[tuple[IssuanceLine, Ticket]]
    lines: list[IssuanceLine]  # lines no ticket matched
    tickets: list[Ticket]  # tickets no line matched


def match_tickets(
    lines: list[IssuanceLine], tickets: list[Ticket], *, by_identity: bool = True
) -> Matching:
    """Pair lines with remote tickets: by our `qr_code` when the remote echoes it (certain),
    else (`by_identity`) by email and name (the same person on the same call)."""
    free = list(tickets)
    pairs: list[tuple[IssuanceLine, Ticket]] = []
    unmatched: list[IssuanceLine] = []
    for line in lines:
        found = next(
            (t for t in free if line.qr_code and line.qr_code in (t.qr_code, t.code)), None
        )
        if found is None and by_identity:
            # Only tickets that carry no code of ours may match by identity: a ticket showing
            # another line's code belongs to that line.
            found = next(
                (
                    t
                    for t in free
                    if not (t.qr_code and t.qr_code != line.qr_code)
                    and fold(t.email) == fold(line.email)
                    and fold(t.name) == fold(line.full_name)
                ),
                None,
            )
        if found is None:
            unmatched.append(line)
        else:
            free.remove(found)
            pairs.append((line, found))
    return Matching(pairs=pairs, lines=unmatched, tickets=free)


def match_by_qr_code(lines: list[IssuanceLine], tickets: list[Ticket]) -> Matching:
    """Pair lines with the remote tickets that carry their own `qr_code`, and nothing else.

    For lines already declared `failed`: a ticket found with one of our codes was created after
    all (Fourvenues committed the create late). Their email and name prove nothing: the same
    person may well hold another ticket, and a failed line may have been refused outright.
    """
    return match_tickets(lines, tickets, by_identity=False)


@transaction.atomic(savepoint=False)  # the caller's transaction when there is one
def settle_matching(issuance: Issuance, matching: Matching) -> None:
    """Matched lines are confirmed, stray tickets kept; lines still without a ticket are unknown."""
    confirm_lines(issuance, matching.pairs, just_created=True)
    adopt_strays(issuance, matching.tickets)
    if matching.lines:
        mark_unknown(
            issuance,
            matching.lines,
            reason=NO_TICKET_IN_ANSWER,
        )


def confirm_lines(
    issuance: Issuance, pairs: list[tuple[IssuanceLine, Ticket]], *, just_created: bool = False
) -> None:
    """Confirm the lines and mirror their tickets, in one transaction.

    The lines move first, and only those that could (sending, unknown, failed) get their ticket
    linked: a line taken back to `pending` meanwhile (a retry of a failed line racing this) is
    left to its send, whose refusal of our taken QR code leads the resolver back to the ticket;
    that ticket is meanwhile kept unlinked, so it is never lost and never hides a resend.
    """
    if not pairs:
        return
    now = timezone.now()
    environment = issuance.credential.environment
    with transaction.atomic(savepoint=False):
        ids = [line.pk for line, _ in pairs]
        moved = move(
            ids,
            to=LineState.CONFIRMED,
            settled_at=now,
            last_error="",
            failure_cause=FailureCause.NONE,
            next_resolve_at=None,
        )
        left: list[tuple[IssuanceLine, Ticket]] = []
        if moved < len(pairs):
            # Which ones moved: this UPDATE's own settled_at marks them.
            mine = set(
                IssuanceLine.objects.filter(
                    pk__in=ids, state=LineState.CONFIRMED, settled_at=now
                ).values_list("pk", flat=True)
            )
            left = [(line, ticket) for line, ticket in pairs if line.pk not in mine]
            pairs = [(line, ticket) for line, ticket in pairs if line.pk in mine]
        if pairs:
            mirrored = mirror_tickets(
                pairs=[(ticket, line) for line, ticket in pairs],
                environment=environment,
                event=issuance.event,
                issued_at=issuance.created_at,
                just_created=just_created,
            )
            # With the confirmation, or not at all: the guest's page, and the e-mail to send.
            deliveries.record_confirmed(issuance, mirrored)
            audit.record(
                action="issuance.lines_confirmed",
                target=issuance,
                data={"lines": {str(line.position): ticket.code for line, ticket in pairs}},
            )
        if left:
            already = set(
                IssuedTicket.objects.filter(
                    environment=environment, remote_id__in=[ticket.id for _, ticket in left]
                ).values_list("remote_id", "line_id")
            )
            adopt_strays(
                issuance,
                [ticket for line, ticket in left if (ticket.id, line.pk) not in already],
            )


def adopt_strays(issuance: Issuance, tickets: list[Ticket]) -> None:
    """A ticket came back that matches no line: mirror it anyway so it is never lost, and say so."""
    if tickets:
        mirror_tickets(
            pairs=[(ticket, None) for ticket in tickets],
            environment=issuance.credential.environment,
        )
    for ticket in tickets:
        audit.record(
            action="issuance.unmatched_ticket",
            target=issuance,
            data={"remote_id": ticket.id, "code": ticket.code},
        )


# --- Status ------------------------------------------------------------------------------------


def derive_status(states: set[str]) -> str:
    """An issuance's status, from the states of its lines."""
    if not states:
        return IssuanceStatus.FAILED
    if LineState.PENDING_APPROVAL in states:
        return IssuanceStatus.AWAITING_APPROVAL
    if states & {LineState.PENDING, LineState.SENDING}:
        return IssuanceStatus.IN_PROGRESS
    if LineState.UNKNOWN in states:
        return IssuanceStatus.CHECKING
    if states == {LineState.CONFIRMED}:
        return IssuanceStatus.COMPLETED
    if states == {LineState.REJECTED}:
        return IssuanceStatus.REJECTED
    if LineState.CONFIRMED in states:
        return IssuanceStatus.PARTIAL
    return IssuanceStatus.FAILED


@transaction.atomic(savepoint=False)  # the caller's transaction when there is one
def refresh_status(issuance: Issuance) -> str:
    """Store the issuance's status, derived from its lines.

    Whoever settles lines refreshes it after committing: the worker (two, when a retry runs
    beside a send), the resolver, reconciliation. The issuance row is locked before the lines
    are read, so of two refreshes at once the second waits and reads what the first committed:
    an older picture of the lines is never written over a newer one. (SQLite has no row locks;
    its write transactions run one at a time, which gives the same.)
    """
    if connection.features.has_select_for_update:
        Issuance.objects.select_for_update().values_list("pk", flat=True).get(pk=issuance.pk)
    states = set(issuance.lines.order_by().values_list("state", flat=True).distinct())
    status = derive_status(states)
    finished = status not in (
        IssuanceStatus.IN_PROGRESS,
        IssuanceStatus.CHECKING,
        IssuanceStatus.AWAITING_APPROVAL,
    )
    Issuance.objects.filter(pk=issuance.pk).update(
        status=status, completed_at=timezone.now() if finished else None
    )
    issuance.status = status
    return status
