"""Reads for the door: an event's door list and the door lookup, from the mirror of the tickets
(as the event was last reconciled with Fourvenues, which brings `entered` back).

A comp on the list is a ticket Comps issued for the event (or one a manager adopted). A withdrawn
ticket, or one Fourvenues says is not valid, admits no one: it is listed apart, never as
admissible. Names are sorted and matched with accents and case folded (`tickets.text.fold`), so
"Álvaro" sorts with the A's and "alvaro" finds him.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import F, Q, QuerySet, Value
from django.db.models.functions import Concat, Trim

from tickets.models import Credential, Event, IssuedTicket, ReconciliationRun, RunStatus
from tickets.selectors import reports as report_selectors
from tickets.selectors import search as search_selectors
from tickets.text import fold

# The lookup answers a phone: this many guests at most, the closest matches by name first.
LOOKUP_SHOWN = 25
# Rows the lookup reads from the index before matching names exactly (a term can also match an
# email or a code in the search text): enough for LOOKUP_SHOWN names on any real event.
LOOKUP_CANDIDATES = 400
LOOKUP_MIN_LENGTH = 2
# Nights offered by the lookup around tonight: a night runs past midnight and doors open early.
LOOKUP_NIGHTS_BEFORE = 1
LOOKUP_NIGHTS_AFTER = 1


@dataclass(frozen=True)
class DoorEntry:
    """One ticket as the door sees it: nothing personal beyond the holder's name."""

    pk: int
    name: str
    code: str
    rate: str
    admits: int
    entered: int
    entry_date: dt.datetime | None
    issuer: str  # the issuance's creator; "" for an adopted ticket (no issuance)
    adopted: bool
    reason: str
    withdrawn_at: dt.datetime | None
    is_valid: bool | None
    status_label: str  # "Valid", "Cancelled"...: the search's words

    @property
    def sort_key(self) -> tuple[str, str, int]:
        return (fold(self.name), self.code, self.pk)

    @property
    def admissible(self) -> bool:
        """Whether the door may let its holder in: not withdrawn, and not invalid on Fourvenues
        (an unknown status is let through: Fourvenues sent none, which is not a refusal)."""
        return self.withdrawn_at is None and self.is_valid is not False

    @property
    def has_come(self) -> bool:
        return self.entered > 0


@dataclass(frozen=True)
class DoorList:
    event: Event
    reconciled_at: dt.datetime | None  # the latest successful reconciliation; None: never
    entries: list[DoorEntry]  # admissible, alphabetical
    not_admissible: list[DoorEntry]  # withdrawn or not valid, alphabetical

    @property
    def tickets(self) -> int:
        return len(self.entries)

    @property
    def people(self) -> int:
        return sum(e.admits for e in self.entries)

    @property
    def people_in(self) -> int:
        return sum(min(e.entered, e.admits) for e in self.entries)


_DOOR_COLUMNS = (
    "pk",
    "name",
    "code",
    "rate_name",
    "admits",
    "entered",
    "entry_date",
    "adopted_at",
    "line_id",
    "withdrawn_at",
    "is_valid",
    "status",
)


def door_tickets(event: Event) -> QuerySet[IssuedTicket]:
    """The event's comps in the mirror: issued through Comps, or adopted by a manager."""
    return IssuedTicket.objects.filter(event=event).filter(
        Q(line__isnull=False) | Q(adopted_at__isnull=False)
    )


def _entries(tickets: QuerySet[IssuedTicket]) -> list[DoorEntry]:
    issuer = "line__issuance__created_by__"
    rows = tickets.annotate(
        issuer_username=F(f"{issuer}username"),
        issuer_full_name=Trim(
            Concat(F(f"{issuer}first_name"), Value(" "), F(f"{issuer}last_name"))
        ),
        reason_label=F("line__issuance__reason__label"),
    ).values_list(*_DOOR_COLUMNS, "issuer_username", "issuer_full_name", "reason_label")
    entries = []
    for (
        pk,
        name,
        code,
        rate,
        admits,
        entered,
        entry_date,
        adopted_at,
        line_id,
        withdrawn_at,
        is_valid,
        status,
        username,
        full_name,
        reason,
    ) in rows.order_by():
        entries.append(
            DoorEntry(
                pk=pk,
                name=name,
                code=code,
                rate=rate,
                admits=admits,
                entered=entered,
                entry_date=entry_date,
                issuer=(full_name or username or "") if line_id else "",
                adopted=line_id is None and adopted_at is not None,
                reason=reason or "",
                withdrawn_at=withdrawn_at,
                is_valid=is_valid,
                status_label=search_selectors.ticket_status_label(is_valid, status),
            )
        )
    entries.sort(key=lambda e: e.sort_key)
    return entries


def last_reconciled_at(event: Event) -> dt.datetime | None:
    """When the latest successful reconciliation of the event finished: what the mirror (and so
    the door list) is as of. A failed run may have stopped half-way, so it does not count."""
    return (
        ReconciliationRun.objects.filter(
            event=event, status=RunStatus.SUCCEEDED, finished_at__isnull=False
        )
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )


def door_list(event: Event) -> DoorList:
    """The event's door list: admissible comps alphabetically, the others apart. Two queries."""
    entries = _entries(door_tickets(event))
    return DoorList(
        event=event,
        reconciled_at=last_reconciled_at(event),
        entries=[e for e in entries if e.admissible],
        not_admissible=[e for e in entries if not e.admissible],
    )


# --- The door lookup --------------------------------------------------------------------------


def lookup_events() -> list[Event]:
    """The events the lookup offers: those of the night in progress and the nights beside it,
    of the active credentials' environments, tonight's first."""
    tonight = report_selectors.current_night()
    events = Event.objects.filter(
        night__gte=tonight - dt.timedelta(days=LOOKUP_NIGHTS_BEFORE),
        night__lte=tonight + dt.timedelta(days=LOOKUP_NIGHTS_AFTER),
        environment__in=Credential.objects.filter(is_active=True).values("environment"),
    ).order_by("night", "starts_at", "name", "pk")
    return sorted(events, key=lambda e: (e.night != tonight, e.night, e.pk))


def default_lookup_event(events: list[Event]) -> Event | None:
    """The night in progress's first event, else the first offered."""
    tonight = report_selectors.current_night()
    return next((e for e in events if e.night == tonight), events[0] if events else None)


@dataclass(frozen=True)
class LookupResult:
    term: str  # folded
    entries: list[DoorEntry]
    more: bool  # past LOOKUP_SHOWN: the guest should type more of the name


def door_lookup(*, event: Event, term: str) -> LookupResult | None:
    """The event's comps whose holder's name (or ticket code) holds `term`, accents and case
    ignored; None when the term is shorter than LOOKUP_MIN_LENGTH once folded.

    The event's tickets are narrowed on the pre-folded search text (on PostgreSQL from the
    index that leads with the event and carries that text); the few candidates are then matched
    on the name and code alone, so an email or a phone never decides who is shown."""
    folded = fold(term)
    if len(folded) < LOOKUP_MIN_LENGTH:
        return None
    # On the ticket table alone (no condition on other columns), so PostgreSQL can answer it
    # from the index; which candidates are comps is decided on the few rows found.
    candidates = list(
        IssuedTicket.objects.filter(event=event, search_text__contains=folded)
        .order_by()
        .values_list("pk", flat=True)[:LOOKUP_CANDIDATES]
    )
    matches = [
        e
        for e in _entries(door_tickets(event).filter(pk__in=candidates))
        if folded in fold(e.name) or folded in fold(e.code)
    ]
    # Names that start with the term first ("ana" finds Ana before Mariana).
    matches.sort(key=lambda e: (not fold(e.name).startswith(folded), *e.sort_key))
    return LookupResult(
        term=folded, entries=matches[:LOOKUP_SHOWN], more=len(matches) > LOOKUP_SHOWN
    )
