"""The resolver: settles lines whose create may or may not have reached Fourvenues.

A line is `unknown` when its create timed out, the connection broke, Fourvenues answered 5xx or
garbage, or the worker died mid-call. Sending it again could issue a second ticket, so instead
the resolver lists the event's tickets created since just before the call and looks for it: by
our `qr_code` when Fourvenues echoes it, else by email and name on the same rate. Found, the line
is `confirmed` and mirrored; still missing once the grace period after sending has passed (any
request still in flight has ended by then), it is `failed`, and only then may it be sent again.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tickets import tasks
from tickets.fourvenues.errors import FourvenuesError
from tickets.models import FailureCause, Issuance, IssuanceLine, IssuedTicket, LineState
from tickets.services import audit
from tickets.services.credentials import build_client
from tickets.services.ledger import (
    LOOKUP_MARGIN,
    confirm_lines,
    mark_failed,
    match_tickets,
    refresh_status,
)

MAX_RETRY_DELAY = dt.timedelta(minutes=30)


def resolve_issuance(*, issuance_id: int) -> None:
    issuance = Issuance.objects.select_related("credential", "event", "rate").get(pk=issuance_id)
    now = timezone.now()
    lines = list(
        issuance.lines.filter(state=LineState.UNKNOWN, next_resolve_at__lte=now).order_by(
            "position"
        )
    )
    if not lines:
        refresh_status(issuance)
        return
    since = min(line.sent_at or issuance.created_at for line in lines) - LOOKUP_MARGIN
    client = build_client(issuance.credential)
    try:
        candidates = [
            ticket
            for ticket in client.iter_tickets(event_id=issuance.event.remote_id, start_date=since)
            if not ticket.rate_id or ticket.rate_id == issuance.rate.remote_id
        ]
    except FourvenuesError as exc:
        _postpone(issuance, lines, reason=exc.message)
        return
    finally:
        client.close()

    # A remote ticket already recorded for a line belongs to that line, not to this one.
    taken = set(
        IssuedTicket.objects.filter(
            environment=issuance.credential.environment,
            remote_id__in=[ticket.id for ticket in candidates],
            line__isnull=False,
        ).values_list("remote_id", flat=True)
    )
    matching = match_tickets(lines, [t for t in candidates if t.id not in taken])
    confirm_lines(issuance, matching.pairs)

    grace = dt.timedelta(seconds=settings.FOURVENUES_RESOLVE_GRACE_SECONDS)
    overdue = [
        line for line in matching.lines if line.sent_at is None or line.sent_at + grace <= now
    ]
    mark_failed(
        issuance,
        overdue,
        reason="Fourvenues has no such ticket: the call did not create it. It can be sent again.",
        cause=FailureCause.NOT_CREATED,
    )
    waiting = [line for line in matching.lines if line not in overdue]
    if waiting:
        _look_again_at(issuance, waiting, when=max(line.sent_at for line in waiting) + grace)
    refresh_status(issuance)


def _look_again_at(issuance: Issuance, lines: list[IssuanceLine], *, when: dt.datetime) -> None:
    with transaction.atomic():
        IssuanceLine.objects.filter(pk__in=[line.pk for line in lines]).update(next_resolve_at=when)
        tasks.resolve_issuance.using(run_after=when).enqueue(issuance.pk)


def _postpone(issuance: Issuance, lines: list[IssuanceLine], *, reason: str) -> None:
    """Fourvenues could not be asked: keep the lines unknown and ask again later, backing off."""
    attempts = max(line.resolve_attempts for line in lines) + 1
    delay = min(MAX_RETRY_DELAY, dt.timedelta(seconds=30 * 2 ** (attempts - 1)))
    when = timezone.now() + delay
    with transaction.atomic():
        IssuanceLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            resolve_attempts=attempts, next_resolve_at=when
        )
        audit.record(
            action="resolver.postponed",
            target=issuance,
            data={"lines": [line.position for line in lines], "reason": reason},
        )
        tasks.resolve_issuance.using(run_after=when).enqueue(issuance.pk)
