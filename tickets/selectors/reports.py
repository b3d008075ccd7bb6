"""Reports for managers, per event, issuer, promoter, reason and ISO week: tickets issued, their
face value (the price option's price: comps go out at 0), the people they admit (Fourvenues'
`for`, `IssuedTicket.admits`), how many tickets and people came through the door once
reconciliation mirrors `entered`, and the no-show rate of the nights that are over. A withdrawn
ticket was not given: it counts apart, as withdrawn, and in no other figure. One aggregate query
per report, over the tickets issued through Comps. Also the manager's home page figures (the
coming nights and the top issuers) and the figures of one event (its morning-after summary).

Labels are formatted here in the language of the request (month and day names, "from ...")."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Least, TruncWeek
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from tickets.models import (
    Credential,
    Discrepancy,
    DiscrepancyState,
    Environment,
    Event,
    IssuedTicket,
)
from tickets.selectors import credentials as credential_selectors
from tickets.text import person_label

REPORT_GROUPINGS = ("event", "issuer", "promoter", "reason", "week")
REPORT_DEFAULT_DAYS = 90


@dataclass(frozen=True)
class ReportRow:
    key: object
    label: str
    detail: str
    tickets: int  # given: withdrawn ones are not
    face_value: Decimal
    checked_in: int  # tickets whose holder came in
    people: int = 0  # admitted by the tickets given
    came: int = 0  # people who came in
    # The same two figures over the nights that are over: what the no-show rate is made of.
    people_past: int = 0
    came_past: int = 0
    withdrawn: int = 0  # tickets withdrawn (given back, counted nowhere else)

    @property
    def check_in_rate(self) -> float:
        """Percentage of the tickets whose holder came in (0 when none were issued)."""
        return 100 * self.checked_in / self.tickets if self.tickets else 0.0

    @property
    def no_show_rate(self) -> float | None:
        """Percentage of the people admitted, on nights that are over, who did not come; None
        when no such night had anyone admitted (tonight's guests may still come)."""
        return _no_show(self.people_past, self.came_past)


def _no_show(people_past: int, came_past: int) -> float | None:
    if not people_past:
        return None
    return 100 * (people_past - came_past) / people_past


@dataclass(frozen=True)
class Report:
    grouping: str
    rows: list[ReportRow]

    @property
    def tickets(self) -> int:
        return sum(r.tickets for r in self.rows)

    @property
    def face_value(self) -> Decimal:
        return sum((r.face_value for r in self.rows), Decimal("0"))

    @property
    def checked_in(self) -> int:
        return sum(r.checked_in for r in self.rows)

    @property
    def check_in_rate(self) -> float:
        return 100 * self.checked_in / self.tickets if self.tickets else 0.0

    @property
    def people(self) -> int:
        return sum(r.people for r in self.rows)

    @property
    def came(self) -> int:
        return sum(r.came for r in self.rows)

    @property
    def withdrawn(self) -> int:
        return sum(r.withdrawn for r in self.rows)

    @property
    def no_show_rate(self) -> float | None:
        return _no_show(sum(r.people_past for r in self.rows), sum(r.came_past for r in self.rows))


def default_report_period() -> tuple[dt.date, dt.date]:
    """The last 90 days, today included, in the venue's time zone."""
    today = timezone.localdate()
    return today - dt.timedelta(days=REPORT_DEFAULT_DAYS - 1), today


def _venue_tz() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def report_tickets(
    *, date_from: dt.date, date_to: dt.date, environment: str
) -> QuerySet[IssuedTicket]:
    """Tickets issued through Comps in `environment` whose issuance was created between the two
    dates (both included, venue time)."""
    tz = _venue_tz()
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return IssuedTicket.objects.filter(
        environment=environment,
        line__isnull=False,
        line__issuance__created_at__gte=start,
        line__issuance__created_at__lt=end,
    )


_GIVEN = Q(withdrawn_at__isnull=True)
# A ticket lets in at most the people it admits, whatever the door's counter says.
_CAME = Least("entered", "admits")


def _measures() -> dict[str, object]:
    """The report's figures, as aggregates. "Past" is a night before the one in progress."""
    past = _GIVEN & Q(event__night__lt=current_night())
    return {
        "tickets": Count("id", filter=_GIVEN),
        "face_value": Sum("line__issuance__price_option__price", filter=_GIVEN),
        "checked_in": Count("id", filter=_GIVEN & Q(entered__gt=0)),
        "people": Sum("admits", filter=_GIVEN),
        "came": Sum(_CAME, filter=_GIVEN),
        "people_past": Sum("admits", filter=past),
        "came_past": Sum(_CAME, filter=past),
        "withdrawn": Count("id", filter=Q(withdrawn_at__isnull=False)),
    }


def ticket_report(
    *, grouping: str, date_from: dt.date, date_to: dt.date, environment: str
) -> Report:
    """One report, in one query. `grouping` is one of REPORT_GROUPINGS."""
    tickets = report_tickets(date_from=date_from, date_to=date_to, environment=environment)
    if grouping == "event":
        rows = (
            tickets.values("event_id", "event__name", "event__night")
            .annotate(**_measures())
            .order_by("-event__night", "event__name", "event_id")
        )
        return Report(
            grouping,
            [
                _row(
                    r,
                    key=r["event_id"],
                    label=r["event__name"] or _("(event no longer mirrored)"),
                    detail=formats.date_format(r["event__night"], "D j M Y")
                    if r["event__night"]
                    else "",
                )
                for r in rows
            ],
        )
    if grouping == "issuer":
        return Report(grouping, _issuer_rows(tickets))
    if grouping == "promoter":
        return Report(grouping, _promoter_rows(tickets))
    if grouping == "reason":
        rows = (
            tickets.values("line__issuance__reason_id", "line__issuance__reason__label")
            .annotate(**_measures())
            .order_by("-tickets", "line__issuance__reason__label")
        )
        return Report(
            grouping,
            [
                _row(
                    r,
                    key=r["line__issuance__reason_id"],
                    label=r["line__issuance__reason__label"],
                    detail="",
                )
                for r in rows
            ],
        )
    if grouping == "week":
        rows = (
            tickets.annotate(week=TruncWeek("line__issuance__created_at", tzinfo=_venue_tz()))
            .values("week")
            .annotate(**_measures())
            .order_by("week")
        )
        return Report(grouping, [_week_row(r) for r in rows])
    raise ValueError(f"Unknown report grouping: {grouping!r}")


def _issuer_rows(tickets: QuerySet[IssuedTicket], *, limit: int | None = None) -> list[ReportRow]:
    """Tickets per issuer, most first (the first `limit` only, if given)."""
    prefix = "line__issuance__created_by__"
    rows = (
        tickets.values(
            f"{prefix}id", f"{prefix}username", f"{prefix}first_name", f"{prefix}last_name"
        )
        .annotate(**_measures())
        .order_by("-tickets", f"{prefix}username")
    )
    if limit is not None:
        rows = rows[:limit]
    return [
        _row(
            r,
            key=r[f"{prefix}id"],
            label=person_label(
                r[f"{prefix}username"], r[f"{prefix}first_name"], r[f"{prefix}last_name"]
            ),
            detail=r[f"{prefix}username"],
        )
        for r in rows
    ]


def _promoter_rows(tickets: QuerySet[IssuedTicket]) -> list[ReportRow]:
    """Tickets per promoter (the issuance's attribution), most first; comps attributed to no
    promoter (a channel, or nothing) in one row of their own."""
    prefix = "line__issuance__promoter__"
    rows = (
        tickets.values(f"{prefix}id", f"{prefix}first_name", f"{prefix}last_name", f"{prefix}email")
        .annotate(**_measures())
        .order_by("-tickets", f"{prefix}last_name", f"{prefix}id")
    )
    result = []
    for r in rows:
        if r[f"{prefix}id"] is None:
            label, detail = _("No promoter"), _("a channel, or no attribution")
        else:
            name = f"{r[f'{prefix}first_name']} {r[f'{prefix}last_name']}".strip()
            label, detail = name or r[f"{prefix}email"] or str(r[f"{prefix}id"]), ""
        result.append(_row(r, key=r[f"{prefix}id"], label=label, detail=detail))
    return result


def _week_row(r: dict[str, object]) -> ReportRow:
    week = r["week"]
    monday = timezone.localtime(week, _venue_tz()).date() if isinstance(week, dt.datetime) else week
    year, number, _weekday = monday.isocalendar()
    return _row(
        r,
        key=monday,
        label=_("%(year)s-W%(week)s") % {"year": year, "week": f"{number:02d}"},
        detail=_("from %(date)s") % {"date": formats.date_format(monday, "DATE_FORMAT")},
    )


def _row(r: dict[str, object], *, key: object, label: str, detail: str) -> ReportRow:
    return ReportRow(
        key=key,
        label=label,
        detail=detail,
        tickets=r["tickets"],
        face_value=r["face_value"] or Decimal("0"),
        checked_in=r["checked_in"],
        people=r.get("people") or 0,
        came=r.get("came") or 0,
        people_past=r.get("people_past") or 0,
        came_past=r.get("came_past") or 0,
        withdrawn=r.get("withdrawn") or 0,
    )


# --- The manager's home page ----------------------------------------------------------------

# A night runs past midnight: until this hour the night is still the previous day's (the
# catalogue dates events the same way, services.catalogue.NIGHT_ROLLOVER_HOUR).
NIGHT_ROLLOVER_HOUR = 6


@dataclass(frozen=True)
class NightSummary:
    """One coming night's event: comps issued through Comps for it and how many came in."""

    event: Event
    comps: int
    checked_in: int
    people: int = 0  # admitted by those comps

    @property
    def is_tonight(self) -> bool:
        return self.event.night == current_night()


def current_night() -> dt.date:
    """The night under way in the venue: at 02:00 on Sunday it is still Saturday's."""
    return (timezone.localtime() - dt.timedelta(hours=NIGHT_ROLLOVER_HOUR)).date()


def upcoming_nights(*, days: int = 7, environment: str | None = None) -> list[NightSummary]:
    """Tonight's events and those of the next `days` nights, in night order, with the comps
    issued for each and the people checked in (as reconciliation last mirrored it). Events of
    the active credentials' environments unless `environment` is given. One query."""
    tonight = current_night()
    events = Event.objects.filter(night__gte=tonight, night__lte=tonight + dt.timedelta(days=days))
    if environment is not None:
        events = events.filter(environment=environment)
    else:
        events = events.filter(
            environment__in=Credential.objects.filter(is_active=True).values("environment")
        )
    # Withdrawn comps were not given: they admit no one.
    ours = Q(tickets__line__isnull=False, tickets__withdrawn_at__isnull=True)
    events = events.annotate(
        comps=Count("tickets", filter=ours),
        checked_in=Count("tickets", filter=ours & Q(tickets__entered__gt=0)),
        people=Sum("tickets__admits", filter=ours),
    ).order_by("night", "starts_at", "name", "pk")
    return [NightSummary(e, e.comps, e.checked_in, e.people or 0) for e in events]


def top_issuers(
    *, days: int = 7, limit: int = 5, environment: str | None = None
) -> list[ReportRow]:
    """Who issued most tickets in the last `days` days (today included, venue time), most
    first, at most `limit` of them; rows as the per-issuer report's. In the issuing
    environment unless `environment` is given. Two queries (one without a credential)."""
    if environment is None:
        environment = credential_selectors.issuing_environment() or Environment.ALPHA
    today = timezone.localdate()
    tickets = report_tickets(
        date_from=today - dt.timedelta(days=days - 1), date_to=today, environment=environment
    )
    return _issuer_rows(tickets, limit=limit)


# --- One event: its figures, as the morning-after summary gives them ------------------------


@dataclass(frozen=True)
class EventSummary:
    event: Event
    totals: ReportRow
    issuers: list[ReportRow]
    promoters: list[ReportRow]
    open_discrepancies: int

    @property
    def night_over(self) -> bool:
        return self.event.night < current_night()


def event_tickets(event: Event) -> QuerySet[IssuedTicket]:
    """The event's tickets issued through Comps (what the reports count)."""
    return IssuedTicket.objects.filter(event=event, line__isnull=False)


def event_summary(event: Event) -> EventSummary:
    """The event's comps given, people admitted and come, no-show rate, withdrawn, per issuer
    and per promoter, and its open discrepancies. Four queries."""
    tickets = event_tickets(event)
    totals = tickets.aggregate(**_measures())
    return EventSummary(
        event=event,
        totals=_row(totals, key=event.pk, label=event.name, detail=""),
        issuers=_issuer_rows(tickets),
        promoters=_promoter_rows(tickets),
        open_discrepancies=Discrepancy.objects.filter(
            event=event, state=DiscrepancyState.OPEN
        ).count(),
    )
