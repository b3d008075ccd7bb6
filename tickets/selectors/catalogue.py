"""Reads of the catalogue mirror: what one can issue for, and how fresh the mirror is."""

from __future__ import annotations

import datetime as dt

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from tickets.models import Channel, Event, PriceOption, Promoter, Rate, Reason, Supplement


def upcoming_events(*, environment: str) -> QuerySet[Event]:
    """Events still to come: listed, and whose night is today or later, published or not
    (reconciliation still checks a hidden event's tickets)."""
    today = timezone.localdate()
    return Event.objects.filter(environment=environment, is_listed=True, night__gte=today)


def issuable_events(*, environment: str) -> QuerySet[Event]:
    """Events one can issue for: upcoming and published. A draft (`active: false`) or hidden
    (`visible: false`) event stays mirrored but is not offered; `None` (Fourvenues sent no flag)
    is not taken for "unpublished"."""
    return upcoming_events(environment=environment).exclude(active=False).exclude(visible=False)


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


# --- Catalogue freshness -----------------------------------------------------------------------


def last_catalogue_refresh(*, environment: str) -> dt.datetime | None:
    """When the catalogue of `environment` was last refreshed in full; None if it never was.

    Only a full refresh (services.catalogue.refresh_catalogue) stamps channels, and it stamps all
    of them, so the newest channel stamp is the moment of the last full refresh.
    """
    return (
        Channel.objects.filter(environment=environment)
        .order_by("-refreshed_at")
        .values_list("refreshed_at", flat=True)
        .first()
    )
