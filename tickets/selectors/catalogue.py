"""Reads of the catalogue mirror: what one can issue for, and how fresh the mirror is."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets.models import (
    AuditEntry,
    Channel,
    Event,
    PriceOption,
    Promoter,
    Rate,
    Reason,
    Supplement,
)


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


# --- The background refresh ("Refresh catalogue") ----------------------------------------------

# Both refreshes: the scheduler's and the one staff ask for with the button.
REFRESH_TASKS = ("tickets.tasks.refresh_catalogue", "tickets.tasks.refresh_catalogue_requested")
REFRESH_OUTCOMES = ("catalogue.refreshed", "catalogue.refresh_failed")


def refresh_in_progress() -> bool:
    """Whether a catalogue refresh is queued or running (so a second click queues nothing)."""
    return DBTaskResult.objects.filter(
        task_path__in=REFRESH_TASKS,
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
    ).exists()


def refresh_summary(data: dict[str, Any]) -> str:
    """What a full refresh mirrored, in the reader's language, from its audit data."""
    first = dt.date.fromisoformat(data["first_night"])
    last = dt.date.fromisoformat(data["last_night"])
    text = ngettext(
        "Catalogue refreshed: %(events)s event (%(first)s to %(last)s)",
        "Catalogue refreshed: %(events)s events (%(first)s to %(last)s)",
        data["events"],
    ) % {
        "events": data["events"],
        "first": date_format(first, "j M"),
        "last": date_format(last, "j M Y"),
    }
    text += ", " + _(
        "%(rates)s rates, %(options)s price options, %(channels)s channels, "
        "%(promoters)s promoters."
    ) % {key: data[key] for key in ("rates", "options", "channels", "promoters")}
    if data.get("delisted"):
        text += " " + _("%(count)s no longer listed by Fourvenues.") % {"count": data["delisted"]}
    if data.get("skipped_events"):
        text += " " + ngettext(
            "%(count)s event without a date was left out.",
            "%(count)s events without a date were left out.",
            data["skipped_events"],
        ) % {"count": data["skipped_events"]}
    return text


@dataclass(frozen=True, slots=True)
class RefreshState:
    """The home page's catalogue line: refreshing now, when it last succeeded, and how the
    last attempt (of either refresh) ended."""

    refreshing: bool
    refreshed_at: dt.datetime | None
    outcome: AuditEntry | None

    @property
    def failed(self) -> bool:
        return self.outcome is not None and self.outcome.action == "catalogue.refresh_failed"

    @property
    def outcome_text(self) -> str:
        if self.outcome is None:
            return ""
        if self.failed:
            return _("The last refresh failed, so the previous catalogue is kept: %(error)s") % {
                "error": self.outcome.data.get("error", "")
            }
        try:
            return refresh_summary(self.outcome.data)
        except (KeyError, TypeError, ValueError):  # an entry written before these keys existed
            return ""


def catalogue_refresh_state(*, environment: str) -> RefreshState:
    outcome = (
        AuditEntry.objects.filter(action__in=REFRESH_OUTCOMES, data__environment=environment)
        .order_by("-created_at", "-id")
        .first()
    )
    return RefreshState(
        refreshing=refresh_in_progress(),
        refreshed_at=last_catalogue_refresh(environment=environment),
        outcome=outcome,
    )
