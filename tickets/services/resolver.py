"""The resolver: settles lines whose create may or may not have reached Fourvenues.

A line is `unknown` when its create timed out, the connection broke, Fourvenues answered 5xx or
garbage, or the worker died mid-call. Sending it again could issue a second ticket, so instead
the resolver lists the event's tickets created since just before the call and looks for it: by
our `qr_code` when Fourvenues echoes it, else by email and name on the same rate. Found, the line
is `confirmed` and mirrored; still missing once the grace period after sending has passed (any
request still in flight has ended by then), it is `failed`, and only then may it be sent again.

Fourvenues may still commit a create after that (a late commit). So a ticket carrying one of our
QR codes settles its line wherever it turns up, a `failed` line included: here (the issuance's
failed lines are looked for by QR code alongside its unknown ones), in reconciliation, and in a
retry, which Fourvenues refuses because our code is taken: that refusal is not "nothing was
created" but the news that the ticket exists, and the line comes back here to be looked up.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from tickets import tasks
from tickets.fourvenues.errors import FourvenuesError, Rejected
from tickets.models import FailureCause, Issuance, IssuanceLine, IssuedTicket, LineState
from tickets.services import audit
from tickets.services.credentials import build_client
from tickets.services.ledger import (
    LOOKUP_MARGIN,
    confirm_lines,
    mark_failed,
    mark_unknown,
    match_by_qr_code,
    match_tickets,
    refresh_status,
)

MAX_RETRY_DELAY = dt.timedelta(minutes=30)

# What a line refused because its QR code is taken says while it is looked up (its cause is
# `FailureCause.QR_CODE_TAKEN`: a ticket with that code exists, "not created" would be false).
# The reasons below are stored in English on the line (and the audit log) and only marked here:
# the issuance page translates them when it shows them (`{% translate line.last_error %}`).
QR_CODE_TAKEN = gettext_noop(
    "Fourvenues says this ticket's QR code is already in use, so the ticket was probably created "
    "after all (by an earlier send). Checking with Fourvenues."
)
QR_CODE_TAKEN_NOT_FOUND = gettext_noop(
    "Fourvenues says this ticket's QR code is already in use, but no ticket with it can be found "
    "for this event. Check the event on Fourvenues before sending it again."
)
NOT_CREATED = gettext_noop(
    "Fourvenues has no such ticket: the call did not create it. It can be sent again."
)
_TAKEN_WORDS = ("in use", "already", "exist", "duplicate", "taken", "unique")


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
    # Lines declared failed that were sent: a late commit may have created their tickets since.
    late = list(
        issuance.lines.filter(state=LineState.FAILED, sent_at__isnull=False, qr_code__isnull=False)
        .exclude(qr_code="")
        .order_by("position")
    )
    since = min(_sent_since(issuance, line) for line in (*lines, *late))
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

    # A remote ticket already recorded for another line belongs to that line, not to these.
    taken = set(
        IssuedTicket.objects.filter(
            environment=issuance.credential.environment,
            remote_id__in=[ticket.id for ticket in candidates],
            line__isnull=False,
        )
        .exclude(line_id__in=[line.pk for line in (*lines, *late)])
        .values_list("remote_id", flat=True)
    )
    matching = match_tickets(lines, [t for t in candidates if t.id not in taken])
    found_late = match_by_qr_code(late, matching.tickets)
    confirm_lines(issuance, matching.pairs + found_late.pairs)

    grace = dt.timedelta(seconds=settings.FOURVENUES_RESOLVE_GRACE_SECONDS)
    overdue = [
        line for line in matching.lines if line.sent_at is None or line.sent_at + grace <= now
    ]
    code_taken = [line for line in overdue if line.failure_cause == FailureCause.QR_CODE_TAKEN]
    mark_failed(
        issuance,
        [line for line in overdue if line not in code_taken],
        reason=NOT_CREATED,
        cause=FailureCause.NOT_CREATED,
    )
    # Fourvenues holds our code, so "not created" cannot be said; yet nothing can be settled.
    mark_failed(issuance, code_taken, reason=QR_CODE_TAKEN_NOT_FOUND, cause=FailureCause.REFUSED)
    waiting = [line for line in matching.lines if line not in overdue]
    if waiting:
        _look_again_at(issuance, waiting, when=max(line.sent_at for line in waiting) + grace)
    refresh_status(issuance)


def _sent_since(issuance: Issuance, line: IssuanceLine) -> dt.datetime:
    """From when a line's ticket may have been created: its last send, or, when it was sent more
    than once, the issuance's start (an earlier send may have been committed late)."""
    if line.sent_at is None or line.attempts > 1:  # a code taken means an earlier send, too
        return issuance.created_at - LOOKUP_MARGIN
    return line.sent_at - LOOKUP_MARGIN


def lines_with_taken_qr_codes(
    error: FourvenuesError, lines: list[IssuanceLine]
) -> list[IssuanceLine]:
    """The lines of a refused create whose own QR code Fourvenues says is already in use.

    Our codes are random and sent only by us, so a code of ours in use means the ticket of an
    earlier send of that line exists. The lines the refusal names, or every line with a code
    when it names the QR code without saying whose.
    """
    if not isinstance(error, Rejected) or not error.api_message:
        return []
    message = error.api_message
    named = [line for line in lines if line.qr_code and line.qr_code in message]
    if named:
        return named
    text = message.lower().replace("_", " ")
    if "qr code" in text and any(word in text for word in _TAKEN_WORDS):
        return [line for line in lines if line.qr_code]
    return []


def settle_taken_qr_codes(
    issuance: Issuance,
    batch: list[IssuanceLine],
    *,
    taken: list[IssuanceLine],
    error: FourvenuesError,
) -> None:
    """A create refused because QR codes of ours are taken: those lines' tickets exist, so they
    are looked up (`unknown`), never told "nothing was created"; the rest of the call was
    refused with them and was not created, so those lines fail as any refusal does."""
    with transaction.atomic(savepoint=False):
        mark_unknown(issuance, taken, reason=QR_CODE_TAKEN, cause=FailureCause.QR_CODE_TAKEN)
        mark_failed(
            issuance,
            [line for line in batch if line not in taken],
            reason=error.message,
            cause=FailureCause.REFUSED,
        )


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
