"""Reads of allowances: which apply to an issuance, and how much of each is used and left.

Counting rule (shared with reports and withdrawals): a line counts its ticket's `admits` once
mirrored (Fourvenues' `for`), one person before; lines pending, sending, unknown and confirmed
count, failed, rejected and awaiting approval do not, and a confirmed line whose ticket was
withdrawn gives its places back. Face value is the issuance's price option `price` per person.
Usage is summed in SQL, one query for any number of allowances.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import (
    DecimalField,
    ExpressionWrapper,
    F,
    IntegerField,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.models import (
    Allowance,
    AllowancePeriod,
    Event,
    IssuanceLine,
    IssuerGroup,
    LineState,
    Promoter,
    Rate,
)
from tickets.selectors import policies

COUNTING_STATES = (LineState.PENDING, LineState.SENDING, LineState.UNKNOWN, LineState.CONFIRMED)
CENTS = Decimal("0.01")

# What a line weighs: the people its ticket admits once mirrored, one before.
PEOPLE = Coalesce(F("ticket__admits"), Value(1), output_field=IntegerField())
VALUE = ExpressionWrapper(
    PEOPLE * F("issuance__price_option__price"),
    output_field=DecimalField(max_digits=14, decimal_places=2),
)


@dataclass(frozen=True)
class Window:
    """The events one allowance counts over for one event: that event, its night, or its week."""

    period: str
    event: Event
    first_night: dt.date
    last_night: dt.date


@dataclass(frozen=True)
class AllowanceUsage:
    """One allowance, as used in one window (the window of the event it was read for)."""

    allowance: Allowance
    window: Window
    people_used: int
    value_used: Decimal

    @property
    def people_left(self) -> int:
        return max(self.allowance.people - self.people_used, 0)

    @property
    def value_left(self) -> Decimal | None:
        if self.allowance.face_value is None:
            return None
        return max(self.allowance.face_value - self.value_used, Decimal("0.00"))

    @property
    def is_exhausted(self) -> bool:
        return self.people_left == 0 or self.value_left == Decimal("0.00")

    def fits(self, *, people: int, value: Decimal) -> bool:
        """Whether `people` more, worth `value`, stay within this allowance."""
        if self.people_used + people > self.allowance.people:
            return False
        face_value = self.allowance.face_value
        return face_value is None or self.value_used + value <= face_value


def holder_kind(allowance: Allowance) -> str:
    """ "user", "promoter" or "group": whose allowance it is (exactly one is set)."""
    if allowance.user_id is not None:
        return "user"
    if allowance.promoter_id is not None:
        return "promoter"
    return "group"


def holder_label(allowance: Allowance) -> str:
    """The name staff know the allowance's holder by (no personal data beyond a name)."""
    if allowance.user_id is not None:
        user = allowance.user
        return user.get_full_name() or user.get_username()
    if allowance.promoter_id is not None:
        return str(allowance.promoter)
    return allowance.issuer_group.name if allowance.issuer_group else ""


def window_for(period: str, event: Event) -> Window:
    if period == AllowancePeriod.WEEK:
        monday = event.night - dt.timedelta(days=event.night.weekday())
        return Window(period, event, monday, monday + dt.timedelta(days=6))
    return Window(period, event, event.night, event.night)


def applicable_allowances(
    *,
    user: AbstractBaseUser | AnonymousUser,
    event: Event,
    rate: Rate | None = None,
    promoter: Promoter | None = None,
) -> QuerySet[Allowance]:
    """The allowances an issuance by `user` for `event` (at `rate`, for `promoter`) counts
    against: the user's own, their groups', and the promoter's; for the event or for any event,
    for the rate or for any rate. `rate` None (a form without a rate yet): any of the event's."""
    groups = IssuerGroup.objects.filter(members=user.pk).values("pk")
    whose = Q(user=user.pk) | Q(issuer_group__in=groups)
    if promoter is not None:
        whose |= Q(promoter=promoter)
    rates = Q(rate__isnull=True) | Q(rate=rate) if rate is not None else Q()
    return (
        Allowance.objects.filter(whose, Q(event__isnull=True) | Q(event=event), rates)
        .select_related("user", "promoter", "issuer_group", "event", "rate")
        .order_by("pk")
    )


def _lines_of(allowance: Allowance, window: Window) -> Q:
    """The lines `allowance` counts in `window`, as a filter on IssuanceLine."""
    if allowance.user_id is not None:
        whose = Q(issuance__created_by_id=allowance.user_id)
    elif allowance.promoter_id is not None:
        whose = Q(issuance__promoter_id=allowance.promoter_id)
    else:
        # A subquery, not a join: an issuer in two groups must not count twice.
        members = IssuerGroup.members.through.objects.filter(
            issuergroup_id=allowance.issuer_group_id
        ).values("user_id")
        whose = Q(issuance__created_by_id__in=members)
    if allowance.period == AllowancePeriod.EVENT:
        where = Q(issuance__event_id=window.event.pk)
    else:
        where = Q(
            issuance__event__night__gte=window.first_night,
            issuance__event__night__lte=window.last_night,
            issuance__event__environment=window.event.environment,
        )
    if allowance.event_id is not None:
        where &= Q(issuance__event_id=allowance.event_id)
    if allowance.rate_id is not None:
        where &= Q(issuance__rate_id=allowance.rate_id)
    return whose & where


def counting_lines() -> QuerySet[IssuanceLine]:
    """The lines that hold places: in a counting state, and not a withdrawn ticket's."""
    return IssuanceLine.objects.filter(state__in=COUNTING_STATES).filter(
        Q(ticket__withdrawn_at__isnull=True) | ~Q(state=LineState.CONFIRMED)
    )


def usage_in_windows(pairs: Sequence[tuple[Allowance, Window]]) -> list[AllowanceUsage]:
    """Each allowance's use in its window, in one aggregate query (conditional sums)."""
    if not pairs:
        return []
    sums: dict[str, Sum] = {}
    for index, (allowance, window) in enumerate(pairs):
        lines = _lines_of(allowance, window)
        sums[f"people_{index}"] = Sum(PEOPLE, filter=lines)
        sums[f"value_{index}"] = Sum(VALUE, filter=lines)
    first = min(window.first_night for _, window in pairs)
    last = max(window.last_night for _, window in pairs)
    totals = (
        counting_lines()
        .filter(issuance__event__night__gte=first, issuance__event__night__lte=last)
        .aggregate(**sums)
    )
    return [
        AllowanceUsage(
            allowance=allowance,
            window=window,
            people_used=int(totals[f"people_{index}"] or 0),
            value_used=Decimal(totals[f"value_{index}"] or 0).quantize(CENTS),
        )
        for index, (allowance, window) in enumerate(pairs)
    ]


def usage_for_event(allowances: Iterable[Allowance], event: Event) -> list[AllowanceUsage]:
    """How much of each allowance is used in the period around `event`."""
    return usage_in_windows([(a, window_for(a.period, event)) for a in allowances])


def left_for(
    *,
    user: AbstractBaseUser | AnonymousUser,
    event: Event,
    rate: Rate | None = None,
    promoter: Promoter | None = None,
) -> list[AllowanceUsage]:
    """What is left for `user` issuing for `event` (the issue form shows it before filling)."""
    allowances = applicable_allowances(user=user, event=event, rate=rate, promoter=promoter)
    return usage_for_event(list(allowances), event)


@dataclass(frozen=True)
class Verdict:
    """What the allowances say of an issuance about to be written: `over` is empty when it is
    within every allowance; else one ground per allowance it would exceed."""

    asked_people: int
    asked_value: Decimal
    usages: list[AllowanceUsage] = field(default_factory=list)
    over: list[dict[str, Any]] = field(default_factory=list)

    @property
    def within(self) -> bool:
        return not self.over


def ground(usage: AllowanceUsage, *, people: int, value: Decimal) -> dict[str, Any]:
    """An allowance exceeded, as data (ApprovalRequest.grounds; pages word it)."""
    allowance = usage.allowance
    left = usage.value_left
    return {
        "kind": "allowance",
        "allowance": allowance.pk,
        "holder_kind": holder_kind(allowance),
        "holder": holder_label(allowance),
        "period": allowance.period,
        "event": usage.window.event.pk,
        "first_night": usage.window.first_night.isoformat(),
        "last_night": usage.window.last_night.isoformat(),
        "people_limit": allowance.people,
        "people_used": usage.people_used,
        "people_left": usage.people_left,
        "people_asked": people,
        "value_limit": str(allowance.face_value) if allowance.face_value is not None else None,
        "value_used": str(usage.value_used),
        "value_left": str(left) if left is not None else None,
        "value_asked": str(value),
    }


def judge(usages: list[AllowanceUsage], *, people: int, value: Decimal) -> Verdict:
    """Which of `usages` `people` more (worth `value`) would exceed (no locking: for the review
    page's forecast, and for `check_submission` once it holds the locks)."""
    over = [
        ground(u, people=people, value=value)
        for u in usages
        if not u.fits(people=people, value=value)
    ]
    return Verdict(asked_people=people, asked_value=value, usages=usages, over=over)


@dataclass(frozen=True)
class Forecast:
    """What submitting would do, said on the review page before the issuer confirms (the submit
    decides again, under the locks: someone else may issue meanwhile)."""

    verdict: Verdict
    over_size: int | None  # the size exceeded, if any
    approval_available: bool
    past_cut_off: bool
    cut_off: dt.datetime

    @property
    def needs_approval(self) -> bool:
        return bool(self.verdict.over) or self.over_size is not None

    @property
    def waits(self) -> bool:
        return self.needs_approval and self.approval_available

    @property
    def refused(self) -> bool:
        return self.needs_approval and not self.approval_available


def forecast(
    *,
    user: AbstractBaseUser | AnonymousUser,
    event: Event,
    rate: Rate,
    promoter: Promoter | None,
    price: Decimal,
    holders: int,
) -> Forecast:
    usages = left_for(user=user, event=event, rate=rate, promoter=promoter)
    verdict = judge(usages, people=holders, value=price * holders)
    size = policies.approval_over_size(event)
    return Forecast(
        verdict=verdict,
        over_size=size if size is not None and holders > size else None,
        approval_available=policies.approval_available(event, user),
        past_cut_off=policies.is_past_cut_off(event),
        cut_off=policies.effective_cut_off(event),
    )


# --- The managers' pages -----------------------------------------------------------------------

# An allowance for no event in particular is shown for the coming events, nights or weeks.
UPCOMING_WINDOWS = 3


@dataclass(frozen=True)
class AllowanceRow:
    allowance: Allowance
    holder_kind: str
    holder: str
    usages: list[AllowanceUsage]


def allowance_list() -> QuerySet[Allowance]:
    return Allowance.objects.select_related(
        "user", "promoter", "issuer_group", "event", "rate"
    ).order_by("event__night", "pk")


def _upcoming_windows(allowance: Allowance, events: list[Event]) -> list[Window]:
    """The next windows an unscoped allowance counts over: one per event, night or week."""
    windows: list[Window] = []
    seen: set[tuple[dt.date, dt.date]] = set()
    for event in events:
        window = window_for(allowance.period, event)
        span = (window.first_night, window.last_night)
        if allowance.period != AllowancePeriod.EVENT and span in seen:
            continue
        seen.add(span)
        windows.append(window)
        if len(windows) == UPCOMING_WINDOWS:
            break
    return windows


def allowance_rows(*, environment: str | None = None) -> list[AllowanceRow]:
    """Every allowance with its use now: an event's for that event, another's for the coming
    events (per night or week when it is counted so)."""
    allowances = list(allowance_list())
    upcoming_events = Event.objects.filter(night__gte=timezone.localdate()).order_by(
        "night", "starts_at", "pk"
    )
    if environment is not None:
        upcoming_events = upcoming_events.filter(environment=environment)
    upcoming = list(upcoming_events[:60])
    pairs: list[tuple[Allowance, Window]] = []
    for allowance in allowances:
        if allowance.event is not None:
            pairs.append((allowance, window_for(allowance.period, allowance.event)))
        else:
            pairs.extend((allowance, w) for w in _upcoming_windows(allowance, upcoming))
    usages = usage_in_windows(pairs)
    by_allowance: dict[int, list[AllowanceUsage]] = {}
    for usage in usages:
        by_allowance.setdefault(usage.allowance.pk, []).append(usage)
    return [
        AllowanceRow(
            allowance=allowance,
            holder_kind=holder_kind(allowance),
            holder=holder_label(allowance),
            usages=by_allowance.get(allowance.pk, []),
        )
        for allowance in allowances
    ]


def issuer_group_list() -> QuerySet[IssuerGroup]:
    return IssuerGroup.objects.prefetch_related("members").order_by("name")


# --- The choices of the allowances forms --------------------------------------------------------


def _kept(keep: int | Iterable[int] | None) -> list[int]:
    if keep is None:
        return []
    return [keep] if isinstance(keep, int) else list(keep)


def issuers(*, keep: int | Iterable[int] | None = None) -> QuerySet[User]:
    """Active staff who may issue comps (and `keep`, already chosen, whatever they are now)."""
    may_issue = (
        Q(groups__permissions__codename="issue_comps")
        | Q(user_permissions__codename="issue_comps")
        | Q(is_superuser=True)
    )
    ids = User.objects.filter(may_issue, is_active=True).values("pk")
    return User.objects.filter(Q(pk__in=ids) | Q(pk__in=_kept(keep))).order_by(
        "first_name", "last_name", "username"
    )


def promoters(*, environment: str | None, keep: int | None = None) -> QuerySet[Promoter]:
    listed = Q(environment=environment, is_listed=True) if environment else Q(pk__in=[])
    return Promoter.objects.filter(listed | Q(pk__in=_kept(keep)))


def allowance_events(*, environment: str | None, keep: int | None = None) -> QuerySet[Event]:
    """The coming events an allowance may be for (and `keep`, its event, even once past)."""
    coming = (
        Q(environment=environment, is_listed=True, night__gte=timezone.localdate())
        if environment
        else Q(pk__in=[])
    )
    return Event.objects.filter(coming | Q(pk__in=_kept(keep))).order_by("night", "name", "pk")
