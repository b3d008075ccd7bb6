"""Reads of issuances: who sees which, their lines and progress, and the lookups the issuing
form makes (the issuance a resubmitted form already created, earlier comps of a holder)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Collection
from dataclasses import dataclass, replace

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from tickets import roles
from tickets.models import Event, FailureCause, Issuance, IssuanceLine, LineState
from tickets.text import person_label


def can_see_all_issuances(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.has_perm(roles.VIEW_ALL_ISSUANCES)


def issuances_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Issuance]:
    """Issuers see their own issuances; managers and admins see all. With everything an
    issuance's own page shows."""
    issuances = _issuances_with_counts().select_related("price_option", "channel", "promoter")
    return _visible(issuances, user)


def _visible(
    issuances: QuerySet[Issuance], user: AbstractBaseUser | AnonymousUser
) -> QuerySet[Issuance]:
    if can_see_all_issuances(user):
        return issuances
    return issuances.filter(created_by_id=user.pk)


def _issuances_with_counts() -> QuerySet[Issuance]:
    """Issuances with what the lists' rows show: the related names, and their lines counted.

    Only the relations a row shows are joined: with all seven, PostgreSQL spends 17 ms planning
    a page of the newest (the join orders it weighs against the sort), with these four under
    1 ms (`make bench-load`)."""
    return Issuance.objects.select_related("event", "rate", "reason", "created_by").annotate(
        line_count=_lines_counted(Q()),
        confirmed_count=_lines_counted(Q(state=LineState.CONFIRMED)),
        # Failed lines are the ones an issuer can act on (retry); rejected ones are final.
        failed_count=_lines_counted(Q(state=LineState.FAILED)),
    )


def _lines_counted(condition: Q) -> Coalesce:
    """A count per issuance as a subquery, not a join and GROUP BY: a page of 25 then counts the
    lines of those 25, not of every issuance the person ever made before the newest are taken
    (2 s for an issuer with 8,000 issuances; 70 ms this way, `make bench-load`)."""
    return Coalesce(
        Subquery(
            IssuanceLine.objects.filter(condition, issuance_id=OuterRef("pk"))
            .order_by()
            .values("issuance_id")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def credential_refused(issuance: Issuance) -> bool:
    """Did Fourvenues refuse this issuance's credential (401/403) for a line still failed?"""
    return issuance.lines.filter(
        state=LineState.FAILED, failure_cause=FailureCause.CREDENTIAL
    ).exists()


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


def _has_failed_lines() -> Exists:
    """An issuance with a line to retry: an EXISTS that the index of unfinished lines by state
    (`line_unfinished_by_state`) answers from the few failed lines, not from every line."""
    return Exists(IssuanceLine.objects.filter(issuance_id=OuterRef("pk"), state=LineState.FAILED))


def issuance_list(
    user: AbstractBaseUser | AnonymousUser,
    *,
    only_mine: bool = False,
    needs_action: bool = False,
) -> QuerySet[Issuance]:
    """The issuances page: what `user` may see, newest first; `only_mine` narrows a manager's,
    `needs_action` keeps those with failed lines to retry."""
    issuances = _visible(_issuances_with_counts(), user)
    if only_mine:
        issuances = issuances.filter(created_by_id=user.pk)
    if needs_action:
        issuances = issuances.filter(_has_failed_lines())
    return issuances.order_by("-created_at", "-id")


def issuances_needing_action(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Issuance]:
    """`user`'s own issuances with failed lines to retry, newest first: what needs them after
    they left the page (home page, My issuances). Each row carries `failed_count`,
    `confirmed_count` and `line_count`; evaluating or slicing it is one query."""
    # Their own whatever their role, so no permission is looked up: one query, even cold.
    return (
        _issuances_with_counts()
        .filter(_has_failed_lines(), created_by_id=user.pk)
        .order_by("-created_at", "-id")
    )


def needing_action_count(user: AbstractBaseUser | AnonymousUser, *, only_mine: bool = False) -> int:
    """How many issuances `user` sees (only their own with `only_mine`) have lines to retry:
    one COUNT, without the list's joins and per-line counts."""
    issuances = Issuance.objects.filter(_has_failed_lines())
    if only_mine or not can_see_all_issuances(user):
        issuances = issuances.filter(created_by_id=user.pk)
    return issuances.count()


def is_unsettled(progress: dict[str, int]) -> bool:
    """Whether any line of a `progress_of` result may still move by itself."""
    return any(progress.get(state, 0) for state in UNSETTLED_LINE_STATES)


def confirmed_lines_of(issuance: Issuance) -> QuerySet[IssuanceLine]:
    """Lines whose ticket exists on Fourvenues and is mirrored: what the CSV and print list."""
    return lines_of(issuance).filter(state=LineState.CONFIRMED, ticket__isnull=False)


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
