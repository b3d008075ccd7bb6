"""Everything a run learnt, written in one short transaction at its end.

Open `unknown` lines whose tickets turned up are settled, and so are `failed` lines whose own QR
code turned up (Fourvenues committed their create late); the other candidates that look ours
become "unknown locally"; a full run adds the tickets missing remotely; differences a manager
acknowledged are left out unless they changed. Then the mirror takes the remote state (each
change kept in the ticket's history) and the discrepancies are recorded, updated or resolved.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.fourvenues.schemas import Ticket
from tickets.models import (
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyState,
    Event,
    IssuanceLine,
    IssuedTicket,
    LineState,
    ReconciliationRun,
    RunStatus,
    TicketChange,
)
from tickets.services import withdrawals
from tickets.services.ledger import (
    confirm_lines,
    match_by_qr_code,
    match_tickets,
    refresh_status,
)
from tickets.services.reconciliation.compare import Comparison, Found, Ours, snapshot


def apply_comparison(
    run: ReconciliationRun,
    comparison: Comparison,
    ours: Ours,
    *,
    high_water_mark: dt.datetime | None,
    api_calls: int,
) -> None:
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
                    Found(
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
        run.high_water_mark = high_water_mark
        run.api_calls = api_calls
        run.finished_at = timezone.now()
        run.save()


def _without_acknowledged(event: Event, found: list[Found]) -> list[Found]:
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
    """Open `unknown` lines whose tickets turned up are confirmed (as the resolver would), and
    `failed` lines whose own QR code a ticket carries (created after all: a late commit);
    returns how many, and the candidates no line took."""
    if not candidates:
        return 0, candidates
    lines = list(
        IssuanceLine.objects.filter(issuance__event=event, state=LineState.UNKNOWN)
        .select_related("issuance__credential", "issuance__event")
        .order_by("issuance_id", "position")
    )
    # Only the failed lines whose code a candidate carries (filtered here, not in SQL: a run
    # may keep thousands of candidates, too many for one query's parameters).
    codes = {code for t in candidates for code in (t.qr_code, t.code) if code}
    failed = [
        line
        for line in IssuanceLine.objects.filter(
            issuance__event=event, state=LineState.FAILED, qr_code__isnull=False
        )
        .select_related("issuance__credential", "issuance__event")
        .order_by("issuance_id", "position")
        if line.qr_code in codes
    ]
    if not lines and not failed:
        return 0, candidates
    free = list(candidates)
    settled = 0
    by_issuance: dict[int, tuple[list[IssuanceLine], list[IssuanceLine]]] = {}
    for line in lines:
        by_issuance.setdefault(line.issuance_id, ([], []))[0].append(line)
    for line in failed:
        by_issuance.setdefault(line.issuance_id, ([], []))[1].append(line)
    for unknown_lines, failed_lines in by_issuance.values():
        issuance = (unknown_lines or failed_lines)[0].issuance
        matching = match_tickets(unknown_lines, free)
        found_late = match_by_qr_code(failed_lines, matching.tickets)
        pairs = matching.pairs + found_late.pairs
        if pairs:
            confirm_lines(issuance, pairs)
            refresh_status(issuance)
            settled += len(pairs)
            free = found_late.tickets
    return settled, free


def _missing_remotely(event: Event, seen: set[str]) -> list[Found]:
    return [
        Found(
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
    # A ticket back cancelled settles its withdrawal (done in the Fourvenues dashboard, or one
    # whose call's outcome was unknown): withdrawn, with the guest told.
    withdrawals.settle_cancelled_tickets(
        ticket_ids=[pk for pk, (state, _) in updates.items() if state.get("status") == "cancelled"]
    )
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
    run: ReconciliationRun, found: list[Found], *, seen: set[str], now: dt.datetime
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
        # Kept in English (the pages show their own words for it: selectors.reconciliation).
        reason=f"No longer found by reconciliation #{run.pk}.",
    )
