"""Reads: every query the views and services need, with their own select_related/prefetch."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import (
    Count,
    F,
    OrderBy,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Concat, Trim, TruncWeek
from django.utils import timezone

from tickets import roles
from tickets.filters import (
    ATTRIBUTION_NONE,
    DEFAULT_SORT,
    SORT_FIELDS,
    STATUS_INVALID,
    STATUS_REFUNDED,
    STATUS_VALID,
    TicketSearchFilter,
)
from tickets.filters import PARAMS as FILTER_PARAMS
from tickets.models import (
    ApiCall,
    AuditEntry,
    Channel,
    Credential,
    Discrepancy,
    DiscrepancyState,
    Environment,
    Event,
    Issuance,
    IssuanceLine,
    IssuedTicket,
    LineState,
    PriceOption,
    Promoter,
    Rate,
    Reason,
    ReconciliationRun,
    SavedSearch,
    Supplement,
)
from tickets.text import digits, document_digest, fold, normalise_document, person_label

# --- Credentials -----------------------------------------------------------------------------


def active_credentials() -> QuerySet[Credential]:
    return Credential.objects.filter(is_active=True).order_by("environment")


# Issuing uses production when a credential is active there, else alpha.
ISSUING_PREFERENCE = (Environment.PRODUCTION, Environment.ALPHA)


def _preferred(environments: Collection[str]) -> str | None:
    return next((e for e in ISSUING_PREFERENCE if e in environments), None)


def issuing_environment() -> str | None:
    """The environment issuing uses, without loading (and decrypting) a credential."""
    return _preferred(set(active_credentials().values_list("environment", flat=True)))


def active_credential(*, environment: str | None = None) -> Credential | None:
    """The credential issuing uses, or the one active in `environment`."""
    credentials = active_credentials()
    if environment is not None:
        return credentials.filter(environment=environment).first()
    by_environment = {c.environment: c for c in credentials}
    preferred = _preferred(by_environment)
    return by_environment[preferred] if preferred else None


def credential_list() -> QuerySet[Credential]:
    """The vault: active ones first, then by environment and name."""
    return Credential.objects.order_by("-is_active", "environment", "name")


def expiring_credentials() -> list[Credential]:
    """Active credentials expired or within the warning window: the admins' banner."""
    return [c for c in active_credentials().exclude(expires_on=None) if c.expires_soon]


def recent_api_calls(*, credential: Credential, limit: int = 10) -> QuerySet[ApiCall]:
    return ApiCall.objects.filter(credential=credential)[:limit]


# --- Users and the audit log -----------------------------------------------------------------


def user_list() -> QuerySet[User]:
    return User.objects.order_by("-is_active", "username").prefetch_related("groups")


AUDIT_PAGE_SIZE = 100


def audit_entries(
    *,
    action: str = "",
    actor: str = "",
    target: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """The audit log, newest first; `action` matches a code or a dotted prefix ("credential")."""
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if target:
        entries = entries.filter(target__icontains=target)
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    return entries


# --- The catalogue mirror --------------------------------------------------------------------


def upcoming_events(*, environment: str) -> QuerySet[Event]:
    """Events one can still issue for: listed, and whose night is today or later."""
    today = timezone.localdate()
    return Event.objects.filter(environment=environment, is_listed=True, night__gte=today)


def rates_for_event(*, event: Event) -> QuerySet[Rate]:
    return event.rates.filter(is_listed=True).prefetch_related(
        Prefetch("options", queryset=PriceOption.objects.filter(is_listed=True))
    )


def options_for_rate(*, rate: Rate) -> QuerySet[PriceOption]:
    return rate.options.filter(is_listed=True)


def channels(*, environment: str) -> QuerySet[Channel]:
    return Channel.objects.filter(environment=environment, is_listed=True)


def promoters(*, environment: str) -> QuerySet[Promoter]:
    return Promoter.objects.filter(environment=environment, is_listed=True)


def active_reasons() -> QuerySet[Reason]:
    return Reason.objects.filter(is_active=True)


def supplements_for_rate(*, rate: Rate | None) -> QuerySet[Supplement]:
    """Active supplements that apply to `rate` (those with no rate names apply to every rate)."""
    supplements = Supplement.objects.filter(is_active=True)
    if rate is None:
        return supplements
    matching = [s.pk for s in supplements if not s.rate_names or rate.name in s.rate_names]
    return supplements.filter(pk__in=matching)


# --- Issuances -------------------------------------------------------------------------------


def can_see_all_issuances(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.has_perm(roles.VIEW_ALL_ISSUANCES)


def can_search_tickets(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Issuers search their own tickets, managers and admins all: the search and its exports."""
    return user.has_perm(roles.ISSUE_COMPS) or can_see_all_issuances(user)


def issuances_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Issuance]:
    """Issuers see their own issuances; managers and admins see all."""
    issuances = Issuance.objects.select_related(
        "event", "rate", "price_option", "reason", "created_by", "channel", "promoter"
    ).annotate(
        line_count=Count("lines"),
        confirmed_count=Count("lines", filter=Q(lines__state=LineState.CONFIRMED)),
    )
    if can_see_all_issuances(user):
        return issuances
    return issuances.filter(created_by_id=user.pk)


# The client's messages for 401 and 403 carry these (tickets/fourvenues/client.py); a line failed
# with one of them failed because of the credential, not the holder.
_CREDENTIAL_REFUSED_MARKERS = ("(HTTP 401)", "(HTTP 403)")


def credential_refused(issuance: Issuance) -> bool:
    """Did Fourvenues refuse this issuance's credential (401/403) for a line still failed?"""
    refused = Q()
    for marker in _CREDENTIAL_REFUSED_MARKERS:
        refused |= Q(last_error__contains=marker)
    return issuance.lines.filter(refused, state=LineState.FAILED).exists()


def lines_of(issuance: Issuance) -> QuerySet[IssuanceLine]:
    return issuance.lines.select_related("ticket").order_by("position")


def progress_of(issuance: Issuance) -> dict[str, int]:
    """How many lines are in each state, plus `total` and `settled` (confirmed or failed)."""
    counts = dict(
        issuance.lines.values_list("state").annotate(n=Count("id")).values_list("state", "n")
    )
    progress = {state: counts.get(state, 0) for state in LineState.values}
    progress["total"] = sum(counts.values())
    progress["settled"] = sum(
        counts.get(s, 0) for s in (LineState.CONFIRMED, LineState.FAILED, LineState.REJECTED)
    )
    return progress


# --- Issuance pages ----------------------------------------------------------------------------

# Lines in these states may still change without anyone acting: the progress page keeps polling.
UNSETTLED_LINE_STATES = (LineState.PENDING, LineState.SENDING, LineState.UNKNOWN)


def issuance_list(
    user: AbstractBaseUser | AnonymousUser, *, only_mine: bool = False
) -> QuerySet[Issuance]:
    """The issuances page: what `user` may see, newest first; `only_mine` narrows a manager's."""
    issuances = issuances_visible_to(user)
    if only_mine:
        issuances = issuances.filter(created_by_id=user.pk)
    return issuances.order_by("-created_at", "-id")


def is_unsettled(progress: dict[str, int]) -> bool:
    """Whether any line of a `progress_of` result may still move by itself."""
    return any(progress.get(state, 0) for state in UNSETTLED_LINE_STATES)


def confirmed_lines_of(issuance: Issuance) -> QuerySet[IssuanceLine]:
    """Lines whose ticket exists on Fourvenues and is mirrored: what the CSV and print list."""
    return lines_of(issuance).filter(state=LineState.CONFIRMED, ticket__isnull=False)


# --- Catalogue freshness -----------------------------------------------------------------------


def last_catalogue_refresh(*, environment: str) -> dt.datetime | None:
    """When the catalogue of `environment` was last refreshed in full; None if it never was.

    Only a full refresh (services.catalog.refresh_catalogue) stamps channels, and it stamps all
    of them, so the newest channel stamp is the moment of the last full refresh.
    """
    return (
        Channel.objects.filter(environment=environment)
        .order_by("-refreshed_at")
        .values_list("refreshed_at", flat=True)
        .first()
    )


# --- The issuing form --------------------------------------------------------------------------


def issuance_by_key(*, key: uuid.UUID, user: AbstractBaseUser | AnonymousUser) -> Issuance | None:
    """The issuance `user` created from the form with idempotency key `key`, if it exists yet
    (a resubmitted or second-tab form then leads to it instead of a new one)."""
    return Issuance.objects.filter(idempotency_key=key, created_by_id=user.pk).first()


@dataclass(frozen=True)
class EarlierComps:
    """A holder of the batch under review who already has comps for its event."""

    email: str
    count: int
    latest_at: dt.datetime
    latest_by: str


def earlier_comps(*, event: Event, emails: Collection[str]) -> list[EarlierComps]:
    """Who among `emails` already has comps for `event` from earlier issuances, in `emails`
    order. The same person comped from two forms is a double issue no idempotency key can see.
    Lines not settled yet count (they may be tickets); failed and rejected ones do not."""
    lines = (
        IssuanceLine.objects.filter(issuance__event=event, email__in=set(emails))
        .exclude(state__in=(LineState.FAILED, LineState.REJECTED))
        .order_by("-issuance__created_at")
        .values_list(
            "email",
            "issuance__created_at",
            "issuance__created_by__username",
            "issuance__created_by__first_name",
            "issuance__created_by__last_name",
        )
    )
    found: dict[str, EarlierComps] = {}
    for email, issued_at, username, first_name, last_name in lines:
        if email in found:  # newest first: an email's first row is its latest comp
            found[email] = replace(found[email], count=found[email].count + 1)
        else:
            issuer = person_label(username, first_name, last_name)
            found[email] = EarlierComps(email, count=1, latest_at=issued_at, latest_by=issuer)
    return [found[email] for email in dict.fromkeys(emails) if email in found]


# --- Ticket search -----------------------------------------------------------------------------

# A term with this many digits may be a phone number, in any format ("+34 612 34 56 78").
PHONE_MIN_DIGITS = 6
# A national number without its country prefix: "0034 612…" and "+34 612…" find "612…".
PHONE_NATIONAL_DIGITS = 9
# A term this long, once normalised, may be a full document number (matched exactly, by digest).
DOCUMENT_MIN_LENGTH = 5
_PHONE_LIKE = re.compile(r"[\d\s+().\-/]+")


@dataclass(frozen=True)
class TicketSearchResult:
    """The validated search form (errors, values to render) and the tickets it selects, ordered.

    `tickets` is empty when the form has errors, so a bad URL shows a message, never everything.
    """

    form: TicketSearchFilter
    tickets: QuerySet[IssuedTicket]
    sort: str

    @property
    def is_valid(self) -> bool:
        return not self.form.errors


def tickets_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[IssuedTicket]:
    """Issuers see the tickets of their own issuances; managers and admins see every ticket."""
    tickets = IssuedTicket.objects.select_related(
        "event",
        "line__issuance__created_by",
        "line__issuance__reason",
        "line__issuance__event",
        "line__issuance__channel",
        "line__issuance__promoter",
    )
    if can_see_all_issuances(user):
        return tickets
    return tickets.filter(line__issuance__created_by_id=user.pk)


# What a row of the search page shows, and no more: plain rows, not model instances, and none
# of the raw JSON, search text or encrypted document numbers (building and decoding those
# cost more than the query itself).
LISTING_COLUMNS = (
    "pk",
    "code",
    "remote_id",
    "name",
    "email",
    "event_name",
    "event_remote_id",
    "event_night",
    "rate_name",
    "is_valid",
    "status",
    "entered",
    "entry_date",
    "issued_at",
    "issuer_username",
    "issuer_full_name",
    "reason_label",
)


def ticket_listing(tickets: QuerySet[IssuedTicket], *, offset: int, limit: int) -> list[Any]:
    """Rows `offset` to `offset + limit` of `tickets` (ordered) as the search page lists them:
    named rows of `LISTING_COLUMNS`.

    The page's ids are chosen first, in a subquery that reads the ticket table alone; only those
    rows are then joined to their event, issuance, issuer and reason. Joined first, a deep page
    would join every row it skips.
    """
    page = tickets.values("pk")[offset : offset + limit]
    issuer = "line__issuance__created_by__"
    rows = (
        IssuedTicket.objects.filter(pk__in=page)
        .order_by(*tickets.query.order_by)
        .annotate(
            event_name=F("event__name"),
            issuer_username=F(f"{issuer}username"),
            issuer_full_name=Trim(
                Concat(F(f"{issuer}first_name"), Value(" "), F(f"{issuer}last_name"))
            ),
            reason_label=F("line__issuance__reason__label"),
        )
        .values_list(*LISTING_COLUMNS, named=True)
    )
    return list(rows)


def ticket_text_query(term: str) -> Q | None:
    """What the search box matches, as one OR: folded text, phone digits, a document's digest.

    The text and phone parts are a plain `contains` on the pre-folded `search_text`, which on
    PostgreSQL is a `LIKE '%…%'` the trigram index serves. The document part is resolved to line
    ids first, so the OR stays on the ticket table (an OR across a join defeats the index).
    """
    folded = fold(term)
    if not folded:
        return None
    fragments = [folded]
    term_digits = digits(term)
    if len(term_digits) >= PHONE_MIN_DIGITS:
        if _PHONE_LIKE.fullmatch(folded):  # "+34 612 34 56 78": only its digits can match
            fragments = []
        fragments.append(term_digits)
        if len(term_digits) > PHONE_NATIONAL_DIGITS:
            fragments.append(term_digits[-PHONE_NATIONAL_DIGITS:])
    query = Q()
    for fragment in dict.fromkeys(fragments):  # no duplicate arms in the OR
        query |= Q(search_text__contains=fragment)
    if len(normalise_document(term)) >= DOCUMENT_MIN_LENGTH:
        line_ids = list(
            IssuanceLine.objects.filter(document_digest=document_digest(term)).values_list(
                "id", flat=True
            )[:100]
        )
        if line_ids:
            query |= Q(line_id__in=line_ids)
    return query


def _ordering(sort: str) -> list[OrderBy]:
    descending = sort.startswith("-")
    fields = SORT_FIELDS[sort.removeprefix("-")]
    # Plain ASC/DESC (no NULLS LAST), so that the (issued_at, id) index serves the default sort
    # by a backward scan; `id` last makes pages stable.
    ordering = [F(name).desc() if descending else F(name).asc() for name in (*fields, "id")]
    return ordering


def search_tickets(
    *, user: AbstractBaseUser | AnonymousUser, params: Mapping
) -> TicketSearchResult:
    """The ticket search page (and its exports): the tickets `user` may see that match `params`
    (the page's GET parameters, see tickets.filters), in the requested order."""
    form = TicketSearchFilter(data={key: params.get(key, "") for key in FILTER_PARAMS})
    if not form.is_valid():
        return TicketSearchResult(form=form, tickets=IssuedTicket.objects.none(), sort=DEFAULT_SORT)
    data = form.cleaned_data
    tickets = tickets_visible_to(user)

    text_query = ticket_text_query(data["q"])
    if text_query is not None:
        tickets = tickets.filter(text_query)
    if data["event"] is not None:
        tickets = tickets.filter(event=data["event"])
    if data["rate"]:
        tickets = tickets.filter(rate_name__iexact=data["rate"].strip())
    if data["status"] == STATUS_VALID:
        tickets = tickets.filter(is_valid=True)
    elif data["status"] == STATUS_INVALID:
        tickets = tickets.filter(is_valid=False)
    elif data["status"] == STATUS_REFUNDED:
        tickets = tickets.filter(refunded__gt=0)
    if data["issued_by"] is not None:
        tickets = tickets.filter(line__issuance__created_by=data["issued_by"])
    if data["reason"] is not None:
        tickets = tickets.filter(line__issuance__reason=data["reason"])
    attribution = data["attribution"]
    if attribution is not None:
        kind, pk = attribution
        if kind == ATTRIBUTION_NONE:
            tickets = tickets.filter(
                line__isnull=False,
                line__issuance__channel__isnull=True,
                line__issuance__promoter__isnull=True,
            )
        else:
            tickets = tickets.filter(**{f"line__issuance__{kind}_id": pk})
    if data["issued_from"]:
        tickets = tickets.filter(line__issuance__created_at__date__gte=data["issued_from"])
    if data["issued_to"]:
        tickets = tickets.filter(line__issuance__created_at__date__lte=data["issued_to"])
    if data["night_from"]:
        tickets = tickets.filter(event_night__gte=data["night_from"])
    if data["night_to"]:
        tickets = tickets.filter(event_night__lte=data["night_to"])
    if data["checked_in"] == "yes":
        tickets = tickets.filter(entered__gt=0)
    elif data["checked_in"] == "no":
        tickets = tickets.filter(entered=0)
    if data["environment"]:
        tickets = tickets.filter(environment=data["environment"])

    return TicketSearchResult(
        form=form, tickets=tickets.order_by(*_ordering(data["sort"])), sort=data["sort"]
    )


def saved_searches_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(owner_id=user.pk).order_by("name")


def ticket_detail_context(ticket: IssuedTicket) -> dict[str, object]:
    """What the ticket page shows beside the ticket: its supplements, the issuance it came from
    with its lines, the API calls around its sending, and the issuance's and ticket's history."""
    line = ticket.line
    issuance = line.issuance if line is not None else None
    api_calls: QuerySet[ApiCall] | list[ApiCall] = []
    lines: QuerySet[IssuanceLine] | list[IssuanceLine] = []
    targets = [f"ticket:{ticket.pk}"]
    if issuance is not None:
        lines = lines_of(issuance)
        targets.append(f"issuance:{issuance.pk}")
        if line.sent_at is not None:
            window = dt.timedelta(minutes=1)
            api_calls = ApiCall.objects.filter(
                credential_id=issuance.credential_id,
                created_at__gte=line.sent_at - window,
                created_at__lte=(line.settled_at or line.sent_at) + window,
            ).order_by("created_at", "id")[:TICKET_API_CALLS_SHOWN]
    return {
        "supplements": ticket.supplements.all(),
        "issuance": issuance,
        "lines": lines,
        "api_calls": api_calls,
        "history": AuditEntry.objects.filter(target__in=targets).order_by("created_at", "id"),
        "changes": ticket.changes.select_related("run").order_by("at", "id"),
        "open_discrepancies": list(
            ticket.discrepancies.filter(state=DiscrepancyState.OPEN).order_by("kind")
        ),
    }


TICKET_API_CALLS_SHOWN = 50


# --- Reports -----------------------------------------------------------------------------------
# Per event, issuer, reason and ISO week: tickets issued, their face value (the price option's
# price: comps go out at 0) and how many came through the door once reconciliation mirrors
# `entered`. One aggregate query per report, over the tickets issued through Comps.

REPORT_GROUPINGS = ("event", "issuer", "reason", "week")
REPORT_DEFAULT_DAYS = 90


@dataclass(frozen=True)
class ReportRow:
    key: object
    label: str
    detail: str
    tickets: int
    face_value: Decimal
    checked_in: int

    @property
    def check_in_rate(self) -> float:
        """Percentage of the tickets whose holder came in (0 when none were issued)."""
        return 100 * self.checked_in / self.tickets if self.tickets else 0.0


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


_REPORT_MEASURES = {
    "tickets": Count("id"),
    "face_value": Sum("line__issuance__price_option__price"),
    "checked_in": Count("id", filter=Q(entered__gt=0)),
}


def ticket_report(
    *, grouping: str, date_from: dt.date, date_to: dt.date, environment: str
) -> Report:
    """One report, in one query. `grouping` is one of REPORT_GROUPINGS."""
    tickets = report_tickets(date_from=date_from, date_to=date_to, environment=environment)
    if grouping == "event":
        rows = (
            tickets.values("event_id", "event__name", "event__night")
            .annotate(**_REPORT_MEASURES)
            .order_by("-event__night", "event__name", "event_id")
        )
        return Report(
            grouping,
            [
                _row(
                    r,
                    key=r["event_id"],
                    label=r["event__name"] or "(event no longer mirrored)",
                    detail=r["event__night"].strftime("%a %d %b %Y") if r["event__night"] else "",
                )
                for r in rows
            ],
        )
    if grouping == "issuer":
        prefix = "line__issuance__created_by__"
        rows = (
            tickets.values(
                f"{prefix}id", f"{prefix}username", f"{prefix}first_name", f"{prefix}last_name"
            )
            .annotate(**_REPORT_MEASURES)
            .order_by("-tickets", f"{prefix}username")
        )
        return Report(
            grouping,
            [
                _row(
                    r,
                    key=r[f"{prefix}id"],
                    label=person_label(
                        r[f"{prefix}username"], r[f"{prefix}first_name"], r[f"{prefix}last_name"]
                    ),
                    detail=r[f"{prefix}username"],
                )
                for r in rows
            ],
        )
    if grouping == "reason":
        rows = (
            tickets.values("line__issuance__reason_id", "line__issuance__reason__label")
            .annotate(**_REPORT_MEASURES)
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
            .annotate(**_REPORT_MEASURES)
            .order_by("week")
        )
        return Report(grouping, [_week_row(r) for r in rows])
    raise ValueError(f"Unknown report grouping: {grouping!r}")


def _week_row(r: dict[str, object]) -> ReportRow:
    week = r["week"]
    monday = timezone.localtime(week, _venue_tz()).date() if isinstance(week, dt.datetime) else week
    year, number, _ = monday.isocalendar()
    return _row(r, key=monday, label=f"{year}-W{number:02d}", detail=f"from {monday:%d %b %Y}")


def _row(r: dict[str, object], *, key: object, label: str, detail: str) -> ReportRow:
    return ReportRow(
        key=key,
        label=label,
        detail=detail,
        tickets=r["tickets"],
        face_value=r["face_value"] or Decimal("0"),
        checked_in=r["checked_in"],
    )


# --- Reconciliation ----------------------------------------------------------------------------
# What the overview, event, run and queue pages show. An event is out of sync while it has open
# discrepancies or its last run failed.

RECONCILIATION_PAST_DAYS = 7  # past events the overview keeps listing


@dataclass(frozen=True)
class EventSync:
    event: Event
    last_run: ReconciliationRun | None
    open_discrepancies: int

    @property
    def out_of_sync(self) -> bool:
        failed = self.last_run is not None and self.last_run.status == "failed"
        return self.open_discrepancies > 0 or failed


def reconciliation_overview() -> list[EventSync]:
    """Events of the active credentials' environments from a week ago on, and any event that
    was ever reconciled, with their last run and open discrepancies: four queries."""
    environments = list(active_credentials().values_list("environment", flat=True))
    since = timezone.localdate() - dt.timedelta(days=RECONCILIATION_PAST_DAYS)
    events = list(
        Event.objects.filter(environment__in=environments)
        .filter(Q(night__gte=since) | Q(pk__in=ReconciliationRun.objects.values("event_id")))
        .order_by("night", "name")
    )
    return _sync_states(events)


def event_sync(event: Event) -> EventSync:
    (state,) = _sync_states([event])
    return state


def _sync_states(events: list[Event]) -> list[EventSync]:
    ids = [event.pk for event in events]
    latest = (
        ReconciliationRun.objects.filter(event=OuterRef("pk"))
        .order_by("-created_at", "-id")
        .values("pk")[:1]
    )
    last_run_ids = dict(
        Event.objects.filter(pk__in=ids).annotate(last=Subquery(latest)).values_list("pk", "last")
    )
    runs = ReconciliationRun.objects.in_bulk([pk for pk in last_run_ids.values() if pk])
    last_runs = {event_id: runs[pk] for event_id, pk in last_run_ids.items() if pk}
    open_counts = dict(
        Discrepancy.objects.filter(event_id__in=ids, state=DiscrepancyState.OPEN)
        .values_list("event_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    return [EventSync(e, last_runs.get(e.pk), open_counts.get(e.pk, 0)) for e in events]


def reconciliation_runs(*, event: Event | None = None) -> QuerySet[ReconciliationRun]:
    runs = ReconciliationRun.objects.select_related("event", "started_by")
    return runs.filter(event=event) if event is not None else runs


def discrepancy_counts(*, event: Event) -> dict[str, int]:
    """Open discrepancies of an event, per kind."""
    return dict(
        Discrepancy.objects.filter(event=event, state=DiscrepancyState.OPEN)
        .values_list("kind")
        .annotate(n=Count("id"))
        .order_by()
    )


def discrepancy_queue(
    *, event: Event | None = None, kind: str = "", state: str = DiscrepancyState.OPEN
) -> QuerySet[Discrepancy]:
    rows = Discrepancy.objects.select_related("event", "ticket", "run", "settled_by")
    if event is not None:
        rows = rows.filter(event=event)
    if kind:
        rows = rows.filter(kind=kind)
    if state:
        rows = rows.filter(state=state)
    return rows.order_by("-last_seen_at", "-id")
