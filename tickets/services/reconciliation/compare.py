"""One page of Fourvenues' tickets against the local mirror, in memory.

Nothing here writes: while the next page is fetched, a run keeps only the differences and the
ids it saw (`Comparison`), and `apply` writes them at the end. A remote ticket not mirrored here
is kept only if it may be ours (`Ours`) or may settle an open line; the rest are ordinary sales.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_noop

from tickets.fourvenues.schemas import Ticket
from tickets.models import (
    DiscrepancyKind,
    Event,
    Issuance,
    IssuanceLine,
    IssuedTicket,
    LineState,
    ReconciliationRun,
)
from tickets.redaction import redact, without_personal_data
from tickets.selectors.purge import HOLDER_FIELDS_AFTER_PURGE
from tickets.services.mirror import holder_fields, remote_state_fields
from tickets.text import fold

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


@dataclass
class Found:
    """A discrepancy seen by this run, not yet written."""

    kind: str
    remote_id: str
    ticket_id: int | None
    details: dict[str, Any]
    snapshot: dict[str, Any]


@dataclass
class Comparison:
    """What a run keeps while paging: differences only, and the ids it saw."""

    seen: set[str] = field(default_factory=set)
    remote_tickets: int = 0
    matched: int = 0
    high_water_mark: dt.datetime | None = None
    # mirror pk -> (remote state, changed fields as (field, old, new))
    updates: dict[int, tuple[dict[str, Any], list[tuple[str, Any, Any]]]] = field(
        default_factory=dict
    )
    found: list[Found] = field(default_factory=list)
    # Remote tickets not mirrored here that may be ours: unknown locally unless they settle a line.
    candidates: list[Ticket] = field(default_factory=list)


@dataclass(frozen=True)
class Ours:
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
        # Stored in English on the discrepancy; the queue translates each as it shows it.
        reasons = []
        if ticket.channel_id and ticket.channel_id in self.channel_ids:
            reasons.append(gettext_noop("our channel"))
        if ticket.referral_id and ticket.referral_id in self.promoter_ids:
            reasons.append(gettext_noop("our promoter"))
        if self.qr_prefix and any(
            code and code.startswith(self.qr_prefix) for code in (ticket.qr_code, ticket.code)
        ):
            reasons.append(gettext_noop("our QR code prefix"))
        if ticket.qr_code and ticket.qr_code in self.line_codes:
            reasons.append(gettext_noop("the QR code of one of our lines"))
        if ticket.payment_id and ticket.payment_id in known_payment_ids:
            reasons.append(gettext_noop("a payment id we know"))
        if ticket.rate_id in self.comp_rate_ids and ticket.total_paid == 0:
            reasons.append(gettext_noop("zero price on a rate we issue comps on"))
        return reasons


def ours_for(event: Event) -> Ours:
    """What marks a ticket of `event` as ours, read once per run."""
    issuances = Issuance.objects.filter(event__environment=event.environment)
    channels = issuances.filter(channel__isnull=False).values_list("channel__remote_id", flat=True)
    promoters = issuances.filter(promoter__isnull=False).values_list(
        "promoter__remote_id", flat=True
    )
    return Ours(
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


def compare_page(
    run: ReconciliationRun, page: list[Ticket], comparison: Comparison, ours: Ours
) -> None:
    """Compare one page with the local rows for its ids, adding what differs to `comparison`.
    Only reads: the writes wait for the end of the run."""
    if not page:
        return
    local = {
        row["remote_id"]: row
        for row in IssuedTicket.objects.filter(
            environment=run.credential.environment, remote_id__in=[t.id for t in page]
        ).values("id", "remote_id", "purged_at", *STATE_FIELDS, *HOLDER_FIELDS)
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
        # A purged ticket no longer has its phone here: it is compared on what it kept.
        purged = row["purged_at"] is not None
        drift = {
            name: {"local": row[name], "remote": holder[name]}
            for name in (HOLDER_FIELDS_AFTER_PURGE if purged else HOLDER_FIELDS)
            if row[name] != holder[name]
        }
        if drift:
            kept = without_personal_data(snapshot(ticket)) if purged else snapshot(ticket)
            comparison.found.append(Found(DiscrepancyKind.DRIFT, ticket.id, row["id"], drift, kept))
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
