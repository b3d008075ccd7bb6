"""Reads for the purge of holders' personal data: when an event's data goes, which rows still
hold some, and what the managers' page shows per event.

Personal data here means what the issue names: document numbers (with their digests and types),
birthdays, addresses (with postal codes) and phones. Names and e-mails stay: reconciliation
matches by them, and counts need nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    TextField,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from tickets.models import (
    AuditAction,
    AuditEntry,
    Discrepancy,
    Event,
    EventPolicy,
    IssuanceLine,
    IssuedTicket,
)
from tickets.selectors.policies import NIGHT_ENDS_AT

# What a JSON column's text must contain for it to possibly hold a personal key: a cheap filter
# in SQL before each row is read and cleaned in Python. (Unquoted: a body kept as JSON text is a
# JSON string in the column, its quotes escaped.)
PERSONAL_KEY_MARKERS = ("phone", "birth", "address", "postal_code", "document_")

# The ticket-history fields that could carry personal data (none is tracked today; a row of
# one would be removed).
PERSONAL_CHANGE_FIELDS = ("phone", "address", "postal_code", "birthday", "document_number")

# The holder fields a purged ticket is still compared on by reconciliation (the phone is gone).
HOLDER_FIELDS_AFTER_PURGE = ("name", "email")

LINE_HOLDS_DATA = (
    ~Q(document_number="")
    | ~Q(document_digest="")
    | ~Q(document_type="")
    | Q(birthday__isnull=False)
    | ~Q(address="")
    | ~Q(postal_code="")
    | ~Q(phone="")
)
TICKET_HOLDS_DATA = ~Q(phone="") | ~Q(address="") | ~Q(postal_code="")


def purge_after_days() -> int:
    return settings.COMPS_PURGE_AFTER_DAYS


def end_of_night_on(night: dt.date) -> dt.datetime:
    """The morning after `night`, in the venue's time zone (as `policies.end_of_night`)."""
    return timezone.make_aware(dt.datetime.combine(night + dt.timedelta(days=1), NIGHT_ENDS_AT))


def purge_due_at(night: dt.date, *, days: int | None = None) -> dt.datetime:
    """When the personal data of a night's holders goes."""
    days = purge_after_days() if days is None else days
    return end_of_night_on(night) + dt.timedelta(days=days)


def due_through(*, now: dt.datetime | None = None, days: int | None = None) -> dt.date:
    """The last night whose holders' personal data is due for removal at `now`."""
    days = purge_after_days() if days is None else days
    local = timezone.localtime(now or timezone.now())
    morning = dt.timedelta(hours=NIGHT_ENDS_AT.hour, minutes=NIGHT_ENDS_AT.minute)
    return (local - dt.timedelta(days=days) - morning).date() - dt.timedelta(days=1)


def night_has_passed(night: dt.date, *, now: dt.datetime | None = None) -> bool:
    """Whether a manager may purge now: the night is over (its morning has come)."""
    return (now or timezone.now()) >= end_of_night_on(night)


def json_may_hold_personal_keys(*fields: str) -> Q:
    """Rows whose JSON `fields` may hold a personal key (to be checked in Python)."""
    condition = Q()
    for name in fields:
        for marker in PERSONAL_KEY_MARKERS:
            condition |= Q(**{f"_text_{name}__contains": marker})
    return condition


def with_json_text(queryset: QuerySet[Any], *fields: str) -> QuerySet[Any]:
    return queryset.annotate(**{f"_text_{name}": Cast(name, TextField()) for name in fields})


def event_lines(event: Event) -> QuerySet[IssuanceLine]:
    return IssuanceLine.objects.filter(issuance__event=event)


def event_tickets(event: Event) -> QuerySet[IssuedTicket]:
    """The event's tickets: mirrored for it, or issued by one of its lines."""
    return IssuedTicket.objects.filter(Q(event=event) | Q(line__issuance__event=event))


def stray_tickets(*, through: dt.date) -> QuerySet[IssuedTicket]:
    """Tickets of no event we know (adopted strays), by their own night, up to `through`; one
    without even a night counts from the day it was issued."""
    return IssuedTicket.objects.filter(event__isnull=True, line__isnull=True).filter(
        Q(event_night__lte=through) | Q(event_night__isnull=True, issued_at__date__lte=through)
    )


def discrepancies_holding_data(event: Event) -> QuerySet[Discrepancy]:
    return with_json_text(
        Discrepancy.objects.filter(event=event), "remote_snapshot", "details"
    ).filter(json_may_hold_personal_keys("remote_snapshot", "details"))


def events_due(*, now: dt.datetime | None = None) -> QuerySet[Event]:
    """Events whose night is past the horizon and that still hold some personal data (or were
    never marked purged)."""
    through = due_through(now=now)
    lines = IssuanceLine.objects.filter(issuance__event=OuterRef("pk")).filter(
        LINE_HOLDS_DATA | Q(purged_at__isnull=True)
    )
    tickets = IssuedTicket.objects.filter(event=OuterRef("pk")).filter(
        TICKET_HOLDS_DATA | Q(purged_at__isnull=True)
    )
    snapshots = with_json_text(
        Discrepancy.objects.filter(event=OuterRef("pk")), "remote_snapshot", "details"
    ).filter(json_may_hold_personal_keys("remote_snapshot", "details"))
    return (
        Event.objects.filter(night__lte=through)
        .filter(Exists(lines) | Exists(tickets) | Exists(snapshots))
        .order_by("night", "pk")
    )


# --- The managers' page ----------------------------------------------------------------------


@dataclass(frozen=True)
class HeldData:
    """What one event still holds of its holders, and when it goes."""

    event: Event
    lines: int
    with_document: int
    with_birthday: int
    with_address: int
    with_phone: int
    tickets_with_phone: int
    tickets_with_address: int
    due_at: dt.datetime
    purged_at: dt.datetime | None
    can_purge_now: bool

    @property
    def holds_data(self) -> bool:
        return any(
            (
                self.with_document,
                self.with_birthday,
                self.with_address,
                self.with_phone,
                self.tickets_with_phone,
                self.tickets_with_address,
            )
        )


def _line_count(condition: Q) -> Coalesce:
    return Coalesce(
        Subquery(
            IssuanceLine.objects.filter(issuance__event=OuterRef("pk"))
            .filter(condition)
            .order_by()
            .values("issuance__event")
            .annotate(total=Count("pk"))
            .values("total")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _ticket_count(condition: Q) -> Coalesce:
    return Coalesce(
        Subquery(
            IssuedTicket.objects.filter(event=OuterRef("pk"))
            .filter(condition)
            .order_by()
            .values("event")
            .annotate(total=Count("pk"))
            .values("total")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _with_held_counts(events: QuerySet[Event]) -> QuerySet[Event]:
    return events.annotate(
        line_total=_line_count(Q()),
        with_document=_line_count(~Q(document_digest="") | ~Q(document_number="")),
        with_birthday=_line_count(Q(birthday__isnull=False)),
        with_address=_line_count(~Q(address="") | ~Q(postal_code="")),
        with_phone=_line_count(~Q(phone="")),
        tickets_with_phone=_ticket_count(~Q(phone="")),
        tickets_with_address=_ticket_count(~Q(address="") | ~Q(postal_code="")),
        policy_purged_at=Subquery(
            EventPolicy.objects.filter(event=OuterRef("pk")).values("purged_at")[:1]
        ),
    )


def events_with_holders() -> QuerySet[Event]:
    """Every event with lines or tickets, newest night first, with what each still holds."""
    has_lines = Exists(IssuanceLine.objects.filter(issuance__event=OuterRef("pk")))
    has_tickets = Exists(IssuedTicket.objects.filter(event=OuterRef("pk")))
    return _with_held_counts(Event.objects.filter(has_lines | has_tickets)).order_by(
        "-night", "-pk"
    )


def held_data(events: list[Event], *, now: dt.datetime | None = None) -> list[HeldData]:
    """The page's rows for `events` (taken from `events_with_holders`)."""
    now = now or timezone.now()
    return [
        HeldData(
            event=event,
            lines=event.line_total,  # type: ignore[attr-defined]
            with_document=event.with_document,  # type: ignore[attr-defined]
            with_birthday=event.with_birthday,  # type: ignore[attr-defined]
            with_address=event.with_address,  # type: ignore[attr-defined]
            with_phone=event.with_phone,  # type: ignore[attr-defined]
            tickets_with_phone=event.tickets_with_phone,  # type: ignore[attr-defined]
            tickets_with_address=event.tickets_with_address,  # type: ignore[attr-defined]
            due_at=purge_due_at(event.night),
            purged_at=event.policy_purged_at,  # type: ignore[attr-defined]
            can_purge_now=night_has_passed(event.night, now=now),
        )
        for event in events
    ]


def held_data_of(event: Event, *, now: dt.datetime | None = None) -> HeldData:
    (row,) = held_data([_with_held_counts(Event.objects.filter(pk=event.pk)).get()], now=now)
    return row


def stray_tickets_holding_data() -> int:
    """Adopted tickets of no known event that still hold a phone or an address."""
    return (
        IssuedTicket.objects.filter(event__isnull=True, line__isnull=True)
        .filter(TICKET_HOLDS_DATA)
        .count()
    )


def latest_purges(*, limit: int = 20) -> QuerySet[AuditEntry]:
    """The purges recorded most recently (each entry holds counts, never values)."""
    return AuditEntry.objects.filter(action=AuditAction.PERSONAL_DATA_PURGED).order_by(
        "-created_at", "-id"
    )[:limit]


def last_purge_of_events(event_ids: list[int]) -> dict[int, dt.datetime]:
    """When each event's latest purge was recorded (audit entries target "event:<pk>")."""
    targets = [f"event:{pk}" for pk in event_ids]
    rows = (
        AuditEntry.objects.filter(action=AuditAction.PERSONAL_DATA_PURGED, target__in=targets)
        .values("target")
        .annotate(last=Max("created_at"))
    )
    return {int(row["target"].split(":", 1)[1]): row["last"] for row in rows}


def names_purged_event(query: Mapping[str, Any] | None) -> bool:
    """Whether a call's query names an event whose holders' data was purged (reconciliation
    goes on listing such events: their answers must not bring the data back)."""
    event_id = query.get("event_id") if isinstance(query, Mapping) else None
    if not event_id:
        return False
    return EventPolicy.objects.filter(
        event__remote_id=str(event_id), purged_at__isnull=False
    ).exists()
