"""Reads: every query the views and services need, with their own select_related/prefetch."""

from __future__ import annotations

import datetime as dt
import uuid

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from tickets.models import (
    Channel,
    Credential,
    Environment,
    Event,
    Issuance,
    IssuanceLine,
    LineState,
    PriceOption,
    Promoter,
    Rate,
    Reason,
    Supplement,
)

# --- Credentials -----------------------------------------------------------------------------


def active_credentials() -> QuerySet[Credential]:
    return Credential.objects.filter(is_active=True).order_by("environment")


def active_credential(*, environment: str | None = None) -> Credential | None:
    """The credential issuing uses: production when one is active, else alpha."""
    credentials = active_credentials()
    if environment is not None:
        return credentials.filter(environment=environment).first()
    by_environment = {c.environment: c for c in credentials}
    return by_environment.get(Environment.PRODUCTION) or by_environment.get(Environment.ALPHA)


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
    return user.has_perm("tickets.view_all_issuances")


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
