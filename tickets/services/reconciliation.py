"""Reconciliation: comparing an event's tickets on Fourvenues with the local mirror.

Fourvenues has no webhooks, and tickets change there after Comps issues them (checked in at the
door, refunded or cancelled in the dashboard, issued by hand). A run pages through
`GET /tickets/` for one event (every ticket, or only those updated since the previous run's
newest update) and sorts each difference:

- matched: the mirror takes Fourvenues' door and payment state (`remote_state_fields`), and
  each change is kept as a `TicketChange`;
- missing remotely: mirrored here, absent there (only a full run can tell);
- unknown locally: on Fourvenues, not here, and looking like ours (our channel or promoters, our
  `qr_code` prefix, a `payment_id` we know, a zero price on a rate we issue comps on); other
  tickets are ordinary sales and are left alone;
- drift: the same ticket with other holder details.

An open `unknown` ledger line whose ticket shows up is settled on the way (`confirm_lines`).

Nothing is written while Fourvenues is being asked: each page is compared with the local rows
for its ids and only the differences (and the ids seen) are kept; everything is applied in one
short transaction at the end. A run that fails (auth, outage, rate limit) changes nothing but its
own row, which says why.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from tickets import selectors, tasks
from tickets.fourvenues.client import CallRecord
from tickets.fourvenues.errors import FourvenuesError, NotFound
from tickets.fourvenues.schemas import Ticket
from tickets.models import (
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyState,
    Event,
    Issuance,
    IssuanceLine,
    IssuedTicket,
    LineState,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
    TicketChange,
)
from tickets.redaction import redact
from tickets.services import audit
from tickets.services.credentials import build_client, record_call
from tickets.services.issuance import confirm_lines, match_tickets, refresh_status
from tickets.services.mirror import holder_fields, mirror_tickets, remote_state_fields
from tickets.text import fold

logger = logging.getLogger(__name__)

# Fourvenues asks that one resource be polled at most once a minute.
MIN_SECONDS_BETWEEN_RUNS = 60
# A scheduled run is a full one (the only kind that finds tickets missing remotely) this often.
FULL_RUN_EVERY = dt.timedelta(hours=1)
# Incremental runs start a little before the previous high-water mark: clocks and equal
# timestamps must not let an update slip between two runs. Seeing a ticket twice is harmless.
INCREMENTAL_OVERLAP = dt.timedelta(seconds=5)
PAGE_SIZE = 500  # the API's largest page
HOLDER_FIELDS = ("name", "email", "phone")
# The remote state fields whose changes go to the ticket's history; `statuses` and `is_valid`
# follow `status`.
TRACKED_FIELDS = ("status", "admits", "entered", "entry_date", "refunded", "total_paid")
STATE_FIELDS = (*TRACKED_FIELDS, "statuses", "is_valid")
SNAPSHOT_FIELDS = (
    "_id",
    "code",
    "status",
    "event_id",
    "rate_id",
    "rate_name",
    "price",
    "total_paid",
    "channel_id",
    "referral_id",
    "payment_id",
    "sale_type",
    "name",
    "email",
    "phone",
    "enter",
    "entry_date",
    "refunded",
    "qr_code",
    "created_at",
    "updated_at",
)


class ReconciliationError(Exception):
    """A reconciliation action cannot be done; the message is fit for staff."""


# --- Starting runs ------------------------------------------------------------------------------


def request_run(
    *,
    event: Event,
    trigger: str,
    full: bool = False,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    request: HttpRequest | None = None,
    enqueue: bool = True,
) -> ReconciliationRun:
    """Record a queued run for `event` and (unless `enqueue` is off) hand it to the worker.

    Refused while another run of the event is queued or running, and from the page within a
    minute of the last one (Fourvenues asks for no more; the command, an operator's explicit
    act, is not held back). Without a previous successful run there is no high-water mark, so
    the run is full whatever was asked.
    """
    credential = selectors.active_credential(environment=event.environment)
    if credential is None:
        raise ReconciliationError(
            f"No active Fourvenues credential for {event.get_environment_display()}."
        )
    if trigger == RunTrigger.UI:
        _refuse_within_a_minute(event)
    previous = last_successful_run(event)
    since = None
    if not full and previous is not None and previous.high_water_mark is not None:
        since = previous.high_water_mark - INCREMENTAL_OVERLAP
    user = actor if actor is not None and actor.is_authenticated else None
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(
                event=event,
                credential=credential,
                trigger=trigger,
                started_by=user,
                full=since is None,
                since=since,
            )
            if trigger != RunTrigger.SCHEDULE:
                audit.record(
                    action="reconciliation.requested",
                    actor=actor,
                    target=f"event:{event.pk}",
                    data={"run": run.pk, "full": run.full, "trigger": trigger},
                    request=request,
                )
            if enqueue:
                tasks.reconcile_event.enqueue(run.pk)
    except IntegrityError:
        raise ReconciliationError(
            "A reconciliation of this event is already queued or running."
        ) from None
    return run


def _refuse_within_a_minute(event: Event) -> None:
    last = event.reconciliation_runs.order_by("-created_at").values_list("created_at", flat=True)
    latest = last.first()
    if latest is None:
        return
    wait = MIN_SECONDS_BETWEEN_RUNS - (timezone.now() - latest).total_seconds()
    if wait > 0:
        raise ReconciliationError(
            "Fourvenues asks for at most one look a minute at an event: try again in "
            f"{math.ceil(wait)} s."
        )


def last_successful_run(event: Event) -> ReconciliationRun | None:
    return (
        ReconciliationRun.objects.filter(event=event, status=RunStatus.SUCCEEDED)
        .order_by("-created_at", "-id")
        .first()
    )


# --- Running -----------------------------------------------------------------------------------


@dataclass
class _Found:
    """A discrepancy seen by this run, not yet written."""

    kind: str
    remote_id: str
    ticket_id: int | None
    details: dict[str, Any]
    snapshot: dict[str, Any]


@dataclass
class _Comparison:
    """What a run keeps while paging: differences only, and the ids it saw."""

    seen: set[str] = field(default_factory=set)
    remote_tickets: int = 0
    matched: int = 0
    high_water_mark: dt.datetime | None = None
    # mirror pk -> (remote state, changed fields as (field, old, new))
    updates: dict[int, tuple[dict[str, Any], list[tuple[str, Any, Any]]]] = field(
        default_factory=dict
    )
    found: list[_Found] = field(default_factory=list)
    # Remote tickets not mirrored here that may be ours: unknown locally unless they settle a line.
    candidates: list[Ticket] = field(default_factory=list)


@dataclass(frozen=True)
class _Ours:
    """What marks a remote ticket as issued through Comps (or by hand on its behalf)."""

    channel_ids: frozenset[str]
    promoter_ids: frozenset[str]
    comp_rate_ids: frozenset[str]
    line_codes: frozenset[str]
    line_emails: frozenset[str]  # folded, of open `unknown` lines: the resolver's other match
    qr_prefix: str

    def worth_keeping(self, ticket: Ticket, known_payment_ids: set[str]) -> bool:
        """Whether a ticket not mirrored here may be ours or settle a line: the rest are
        ordinary sales, dropped at once so a run's memory stays small."""
        return fold(ticket.email) in self.line_emails or bool(
            self.reasons(ticket, known_payment_ids)
        )

    def reasons(self, ticket: Ticket, known_payment_ids: set[str]) -> list[str]:
        reasons = []
        if ticket.channel_id and ticket.channel_id in self.channel_ids:
            reasons.append("our channel")
        if ticket.referral_id and ticket.referral_id in self.promoter_ids:
            reasons.append("our promoter")
        if self.qr_prefix and any(
            code and code.startswith(self.qr_prefix) for code in (ticket.qr_code, ticket.code)
        ):
            reasons.append("our QR code prefix")
        if ticket.qr_code and ticket.qr_code in self.line_codes:
            reasons.append("the QR code of one of our lines")
        if ticket.payment_id and ticket.payment_id in known_payment_ids:
            reasons.append("a payment id we know")
        if ticket.rate_id in self.comp_rate_ids and ticket.total_paid == 0:
            reasons.append("zero price on a rate we issue comps on")
        return reasons


def _ours(event: Event) -> _Ours:
    issuances = Issuance.objects.filter(event__environment=event.environment)
    channels = issuances.filter(channel__isnull=False).values_list("channel__remote_id", flat=True)
    promoters = issuances.filter(promoter__isnull=False).values_list(
        "promoter__remote_id", flat=True
    )
    return _Ours(
        channel_ids=frozenset(channels.distinct()),
        promoter_ids=frozenset(promoters.distinct()),
        comp_rate_ids=frozenset(
            issuances.filter(event=event).values_list("rate__remote_id", flat=True).distinct()
        ),
        line_codes=frozenset(
            IssuanceLine.objects.filter(issuance__event=event, qr_code__isnull=False)
            .exclude(state=LineState.CONFIRMED)
            .values_list("qr_code", flat=True)
        ),
        line_emails=frozenset(
            fold(email)
            for email in IssuanceLine.objects.filter(
                issuance__event=event, state=LineState.UNKNOWN
            ).values_list("email", flat=True)
        ),
        qr_prefix=settings.FOURVENUES_QR_PREFIX if settings.FOURVENUES_GENERATE_QR_CODES else "",
    )


def execute_run(*, run_id: int) -> ReconciliationRun:
    """Run a queued reconciliation. A run already taken by another worker is left alone."""
    now = timezone.now()
    claimed = ReconciliationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now
    )
    run = ReconciliationRun.objects.select_related("event", "credential").get(pk=run_id)
    if not claimed:
        return run
    # The calls are recorded from this thread: the page being fetched meanwhile must not write.
    calls: list[CallRecord] = []
    lock = threading.Lock()

    def collect(record: CallRecord) -> None:
        with lock:
            calls.append(record)

    recorded = 0

    def record_calls() -> int:
        nonlocal recorded
        with lock:
            fresh = calls[recorded:]
        for record in fresh:
            record_call(run.credential, record)
        recorded += len(fresh)
        return recorded

    comparison = _Comparison()
    client = None
    try:
        ours = _ours(run.event)
        client = build_client(run.credential, record_calls=False, on_call=collect)
        for page in _prefetched(_pages(client.iter_tickets(**_listing(run)))):
            record_calls()
            _compare_page(run, page, comparison, ours)
    except FourvenuesError as exc:
        _finish_failed(run, reason=exc.message, api_calls=record_calls())
        return run
    except Exception:
        _finish_failed(run, reason="An unexpected error stopped the run.", api_calls=record_calls())
        logger.exception("Reconciliation run %s failed", run.pk)
        raise
    finally:
        if client is not None:
            client.close()
    try:
        _apply(run, comparison, ours, api_calls=record_calls())
    except Exception:  # rolled back: nothing of the run was applied
        _finish_failed(run, reason="An unexpected error stopped the run.", api_calls=recorded)
        logger.exception("Reconciliation run %s failed while applying", run.pk)
        raise
    return run


def _listing(run: ReconciliationRun) -> dict[str, Any]:
    if run.full or run.since is None:
        return {"event_id": run.event.remote_id}
    return {"event_id": run.event.remote_id, "start_date": run.since, "date_field": "updated_at"}


def _pages(tickets: Iterator[Ticket]) -> Iterator[list[Ticket]]:
    page: list[Ticket] = []
    for ticket in tickets:
        page.append(ticket)
        if len(page) == PAGE_SIZE:
            yield page
            page = []
    if page:
        yield page


def _prefetched(pages: Iterator[list[Ticket]]) -> Iterator[list[Ticket]]:
    """The next page is fetched in a second thread while this one is compared, so the wait for
    Fourvenues (and for the rate limit) overlaps the comparison instead of adding to it."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-fetch") as pool:
        upcoming = pool.submit(next, pages, None)
        while (page := upcoming.result()) is not None:
            upcoming = pool.submit(next, pages, None)
            yield page


def _compare_page(
    run: ReconciliationRun, page: list[Ticket], comparison: _Comparison, ours: _Ours
) -> None:
    if not page:
        return
    local = {
        row["remote_id"]: row
        for row in IssuedTicket.objects.filter(
            environment=run.credential.environment, remote_id__in=[t.id for t in page]
        ).values("id", "remote_id", *STATE_FIELDS, *HOLDER_FIELDS)
    }
    strangers = [t.payment_id for t in page if t.id not in local and t.payment_id]
    known_payment_ids = (
        set(
            IssuedTicket.objects.filter(
                environment=run.credential.environment, payment_id__in=strangers
            ).values_list("payment_id", flat=True)
        )
        if strangers
        else set()
    )
    for ticket in page:
        comparison.remote_tickets += 1
        comparison.seen.add(ticket.id)
        if ticket.updated_at is not None and (
            comparison.high_water_mark is None or ticket.updated_at > comparison.high_water_mark
        ):
            comparison.high_water_mark = ticket.updated_at
        row = local.get(ticket.id)
        if row is None:
            if ours.worth_keeping(ticket, known_payment_ids):
                comparison.candidates.append(ticket)
            continue
        holder = holder_fields(ticket)
        drift = {
            name: {"local": row[name], "remote": holder[name]}
            for name in HOLDER_FIELDS
            if row[name] != holder[name]
        }
        if drift:
            comparison.found.append(
                _Found(DiscrepancyKind.DRIFT, ticket.id, row["id"], drift, snapshot(ticket))
            )
        else:
            comparison.matched += 1
        state = remote_state_fields(ticket)
        changes = [
            (name, row[name], state[name]) for name in TRACKED_FIELDS if row[name] != state[name]
        ]
        if changes or any(row[name] != state[name] for name in STATE_FIELDS):
            comparison.updates[row["id"]] = (state, changes)


def snapshot(ticket: Ticket) -> dict[str, Any]:
    """The remote ticket as a discrepancy keeps it: the fields a manager needs, redacted (no
    document number can be among them, and `redact` would mask one if the API renamed it)."""
    return redact({key: ticket.raw.get(key) for key in SNAPSHOT_FIELDS})


def _finish_failed(run: ReconciliationRun, *, reason: str, api_calls: int) -> None:
    run.status = RunStatus.FAILED
    run.error = reason[:500]
    run.api_calls = api_calls
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "api_calls", "finished_at"])


def _apply(run: ReconciliationRun, comparison: _Comparison, ours: _Ours, *, api_calls: int) -> None:
    """Everything the run learnt, in one transaction."""
    now = timezone.now()
    event = run.event
    with transaction.atomic():
        found = list(comparison.found)
        settled, unknown = _settle_lines(event, comparison.candidates)
        known_payment_ids = set(
            IssuedTicket.objects.filter(
                environment=run.credential.environment,
                payment_id__in=[t.payment_id for t in unknown if t.payment_id],
            ).values_list("payment_id", flat=True)
        )
        for ticket in unknown:
            reasons = ours.reasons(ticket, known_payment_ids)
            if reasons:
                found.append(
                    _Found(
                        DiscrepancyKind.UNKNOWN_LOCALLY,
                        ticket.id,
                        None,
                        {"looks_ours_because": reasons},
                        snapshot(ticket),
                    )
                )
        if run.full:
            found.extend(_missing_remotely(event, comparison.seen))
        found = _without_acknowledged(event, found)
        _update_mirror(run, comparison.updates, now=now)
        _record_discrepancies(run, found, seen=comparison.seen, now=now)
        counts = {kind: sum(1 for f in found if f.kind == kind) for kind in DiscrepancyKind}
        run.status = RunStatus.SUCCEEDED
        run.remote_tickets = comparison.remote_tickets
        run.matched = comparison.matched
        run.updated = len(comparison.updates)
        run.missing_remotely = counts[DiscrepancyKind.MISSING_REMOTELY]
        run.unknown_locally = counts[DiscrepancyKind.UNKNOWN_LOCALLY]
        run.drift = counts[DiscrepancyKind.DRIFT]
        run.lines_settled = settled
        run.high_water_mark = comparison.high_water_mark or (
            run.since + INCREMENTAL_OVERLAP if run.since else None
        )
        run.api_calls = api_calls
        run.finished_at = timezone.now()
        run.save()


def _without_acknowledged(event: Event, found: list[_Found]) -> list[_Found]:
    """A difference a manager acknowledged stays acknowledged while it is the same difference:
    only a drift that changed again (other details) is raised anew."""
    acknowledged = {
        (kind, remote_id): details
        for kind, remote_id, details in Discrepancy.objects.filter(
            event=event, state=DiscrepancyState.ACKNOWLEDGED
        )
        .order_by("settled_at", "id")  # the latest acknowledgement of a ticket wins
        .values_list("kind", "remote_id", "details")
    }
    return [
        item
        for item in found
        if (item.kind, item.remote_id) not in acknowledged
        or (
            item.kind == DiscrepancyKind.DRIFT
            and acknowledged[item.kind, item.remote_id] != item.details
        )
    ]


def _settle_lines(event: Event, candidates: list[Ticket]) -> tuple[int, list[Ticket]]:
    """Open `unknown` lines whose tickets turned up are confirmed (as the resolver would);
    returns how many, and the candidates no line took."""
    lines = list(
        IssuanceLine.objects.filter(issuance__event=event, state=LineState.UNKNOWN)
        .select_related("issuance__credential", "issuance__event")
        .order_by("issuance_id", "position")
    )
    if not lines or not candidates:
        return 0, candidates
    free = list(candidates)
    settled = 0
    by_issuance: dict[int, list[IssuanceLine]] = {}
    for line in lines:
        by_issuance.setdefault(line.issuance_id, []).append(line)
    for issuance_lines in by_issuance.values():
        issuance = issuance_lines[0].issuance
        matching = match_tickets(issuance_lines, free)
        if matching.pairs:
            confirm_lines(issuance, matching.pairs)
            refresh_status(issuance)
            settled += len(matching.pairs)
            free = matching.tickets
    return settled, free


def _missing_remotely(event: Event, seen: set[str]) -> list[_Found]:
    return [
        _Found(
            DiscrepancyKind.MISSING_REMOTELY,
            remote_id,
            pk,
            {"code": code},
            {},
        )
        for pk, remote_id, code in IssuedTicket.objects.filter(event=event)
        .values_list("id", "remote_id", "code")
        .iterator(chunk_size=5000)
        if remote_id not in seen
    ]


def _update_mirror(
    run: ReconciliationRun,
    updates: dict[int, tuple[dict[str, Any], list[tuple[str, Any, Any]]]],
    *,
    now: dt.datetime,
) -> None:
    # One UPDATE per changed ticket: Django's bulk_update builds a CASE per field and row, and
    # is many times slower for the few hundred changes a run usually brings.
    for pk, (state, _) in updates.items():
        IssuedTicket.objects.filter(pk=pk).update(**state, updated_at=now)
    TicketChange.objects.bulk_create(
        (
            TicketChange(
                ticket_id=pk,
                run=run,
                field=name,
                old=_text(old),
                new=_text(new),
                at=now,
            )
            for pk, (_, changes) in updates.items()
            for name, old, new in changes
        ),
        batch_size=1000,
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)[:300]


def _record_discrepancies(
    run: ReconciliationRun, found: list[_Found], *, seen: set[str], now: dt.datetime
) -> None:
    """Update the open discrepancies still true, add new ones, and resolve those this run shows
    are gone (a full run saw everything; an incremental one only the tickets it listed)."""
    environment = run.credential.environment
    open_rows = {
        (row.kind, row.remote_id): row
        for row in Discrepancy.objects.filter(
            environment=environment, event=run.event, state=DiscrepancyState.OPEN
        )
    }
    still_open: list[Discrepancy] = []
    new: list[Discrepancy] = []
    for item in found:
        row = open_rows.pop((item.kind, item.remote_id), None)
        if row is None:
            new.append(
                Discrepancy(
                    run=run,
                    event=run.event,
                    environment=environment,
                    ticket_id=item.ticket_id,
                    remote_id=item.remote_id,
                    kind=item.kind,
                    details=item.details,
                    remote_snapshot=item.snapshot,
                    last_seen_at=now,
                )
            )
        else:
            row.run = run
            row.ticket_id = item.ticket_id
            row.details = item.details
            row.remote_snapshot = item.snapshot
            row.last_seen_at = now
            still_open.append(row)
    Discrepancy.objects.bulk_create(new, batch_size=1000)
    Discrepancy.objects.bulk_update(
        still_open, ["run", "ticket", "details", "remote_snapshot", "last_seen_at"], batch_size=1000
    )
    gone = [row.pk for (_, remote_id), row in open_rows.items() if run.full or remote_id in seen]
    Discrepancy.objects.filter(pk__in=gone).update(
        state=DiscrepancyState.RESOLVED,
        settled_at=now,
        reason=f"No longer found by reconciliation #{run.pk}.",
    )


# --- Settling discrepancies ---------------------------------------------------------------------


def acknowledge(
    *,
    discrepancy_ids: list[int],
    reason: str,
    actor: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> int:
    """Close open discrepancies as known and accepted, with the reason why. Returns how many."""
    reason = reason.strip()
    if not reason:
        raise ReconciliationError("Say why these differences are acceptable.")
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Discrepancy.objects.select_for_update().filter(
                pk__in=discrepancy_ids, state=DiscrepancyState.OPEN
            )
        )
        if not rows:
            raise ReconciliationError("None of the selected differences is still open.")
        Discrepancy.objects.filter(pk__in=[row.pk for row in rows]).update(
            state=DiscrepancyState.ACKNOWLEDGED,
            settled_by=actor if actor.is_authenticated else None,
            settled_at=now,
            reason=reason[:500],
        )
        for row in rows:
            audit.record(
                action="discrepancy.acknowledged",
                actor=actor,
                target=_target(row),
                data={"kind": row.kind, "remote_id": row.remote_id, "reason": reason[:500]},
                request=request,
            )
    return len(rows)


def adopt(
    *,
    discrepancy_id: int,
    actor: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> IssuedTicket:
    """Take a ticket Fourvenues holds and Comps does not into the local records, linked to no
    issuance and marked as adopted. It is read again from Fourvenues first."""
    row = _open(discrepancy_id)
    if row.kind != DiscrepancyKind.UNKNOWN_LOCALLY:
        raise ReconciliationError("Only a ticket unknown here can be adopted.")
    ticket = _fetch(row)
    if ticket is None:
        raise ReconciliationError("Fourvenues no longer has this ticket; re-check it instead.")
    now = timezone.now()
    with transaction.atomic():
        row = _open(discrepancy_id, lock=True)
        (mirrored,) = mirror_tickets(
            pairs=[(ticket, None)], environment=row.environment, event=row.event
        )
        IssuedTicket.objects.filter(pk=mirrored.pk).update(adopted_at=now)
        mirrored.adopted_at = now
        _settle(row, DiscrepancyState.ADOPTED, actor=actor, now=now, ticket=mirrored)
        audit.record(
            action="discrepancy.adopted",
            actor=actor,
            target=_target(row),
            data={"remote_id": row.remote_id, "code": ticket.code, "ticket": mirrored.pk},
            request=request,
        )
    return mirrored


def recheck(
    *,
    discrepancy_id: int,
    actor: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> Discrepancy:
    """Ask Fourvenues about one ticket again; resolve the discrepancy if it no longer holds."""
    row = _open(discrepancy_id)
    ticket = _fetch(row)
    mirrored = IssuedTicket.objects.filter(
        environment=row.environment, remote_id=row.remote_id
    ).first()
    if row.kind == DiscrepancyKind.MISSING_REMOTELY:
        still = ticket is None
    elif row.kind == DiscrepancyKind.UNKNOWN_LOCALLY:
        still = ticket is not None and mirrored is None
    else:
        still = (
            ticket is not None
            and mirrored is not None
            and any(getattr(mirrored, n) != v for n, v in holder_fields(ticket).items())
        )
    now = timezone.now()
    with transaction.atomic():
        row = _open(discrepancy_id, lock=True)
        if still:
            row.last_seen_at = now
            if ticket is not None:
                row.remote_snapshot = snapshot(ticket)
            row.save(update_fields=["last_seen_at", "remote_snapshot"])
        else:
            _settle(row, DiscrepancyState.RESOLVED, actor=actor, now=now)
        audit.record(
            action="discrepancy.rechecked",
            actor=actor,
            target=_target(row),
            data={"kind": row.kind, "remote_id": row.remote_id, "still_differs": still},
            request=request,
        )
    return row


def _open(discrepancy_id: int, *, lock: bool = False) -> Discrepancy:
    rows = Discrepancy.objects.select_related("event", "run__credential")
    if lock:
        rows = rows.select_for_update(of=("self",))
    row = rows.filter(pk=discrepancy_id).first()
    if row is None:
        raise ReconciliationError("No such difference.")
    if row.state != DiscrepancyState.OPEN:
        raise ReconciliationError(f"This difference is already {row.get_state_display().lower()}.")
    return row


def _fetch(row: Discrepancy) -> Ticket | None:
    """The ticket as Fourvenues holds it now, or None if it has none. Staff-readable errors."""
    credential = selectors.active_credential(environment=row.environment) or row.run.credential
    client = build_client(credential)
    try:
        return client.get_ticket(row.remote_id)
    except NotFound:
        return None
    except FourvenuesError as exc:
        raise ReconciliationError(f"Fourvenues could not be asked: {exc.message}") from None
    finally:
        client.close()


def _settle(
    row: Discrepancy,
    state: str,
    *,
    actor: AbstractBaseUser | AnonymousUser,
    now: dt.datetime,
    ticket: IssuedTicket | None = None,
) -> None:
    row.state = state
    row.settled_by = actor if actor.is_authenticated else None
    row.settled_at = now
    fields = ["state", "settled_by", "settled_at"]
    if ticket is not None:
        row.ticket = ticket
        fields.append("ticket")
    row.save(update_fields=fields)


def _target(row: Discrepancy) -> str:
    return f"ticket:{row.ticket_id}" if row.ticket_id else f"discrepancy:{row.pk}"


# --- The schedule -----------------------------------------------------------------------------


def enqueue_due_runs(*, now: dt.datetime) -> int:
    """Queue scheduled runs: events happening soon every few minutes, other events with tickets
    of ours rarely; never an event already queued or running, or reconciled under a minute ago.
    Returns how many were queued."""
    environments = selectors.active_credentials().values_list("environment", flat=True)
    today = timezone.localdate(now)
    soon_until = today + dt.timedelta(days=settings.COMPS_RECONCILE_SOON_DAYS)
    soon = Q(night__gte=today - dt.timedelta(days=1), night__lte=soon_until)
    ours = Q(issuances__isnull=False) | Q(tickets__isnull=False)
    events = (
        Event.objects.filter(environment__in=list(environments))
        .filter(soon | ours)
        .distinct()
        .order_by("night", "pk")
    )
    busy = set(
        ReconciliationRun.objects.filter(
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).values_list("event_id", flat=True)
    )
    queued = 0
    for event in events:
        if event.pk in busy:
            continue
        interval = (
            settings.COMPS_RECONCILE_SOON_SECONDS
            if today - dt.timedelta(days=1) <= event.night <= soon_until
            else settings.COMPS_RECONCILE_RARELY_SECONDS
        )
        last = event.reconciliation_runs.order_by("-created_at", "-id").first()
        gap = max(interval, MIN_SECONDS_BETWEEN_RUNS)
        if last is not None and last.created_at > now - dt.timedelta(seconds=gap):
            continue
        last_full = (
            event.reconciliation_runs.filter(status=RunStatus.SUCCEEDED, full=True)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        try:
            request_run(
                event=event,
                trigger=RunTrigger.SCHEDULE,
                full=last_full is None or last_full < now - FULL_RUN_EVERY,
            )
        except ReconciliationError:
            continue  # no credential, or another process queued it a moment ago
        queued += 1
    return queued


def reap_stale_runs(*, now: dt.datetime) -> int:
    """A run whose worker died stays `running` (or its lost task leaves it `queued`) and would
    block its event for good: fail it, saying why."""
    cutoff = now - dt.timedelta(seconds=settings.COMPS_STALE_TASK_SECONDS)
    return ReconciliationRun.objects.filter(
        Q(status=RunStatus.RUNNING, started_at__lt=cutoff)
        | Q(status=RunStatus.QUEUED, created_at__lt=cutoff)
    ).update(
        status=RunStatus.FAILED,
        finished_at=now,
        error="The worker running this reconciliation stopped without finishing it.",
    )
