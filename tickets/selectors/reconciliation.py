"""Reads of reconciliation: what the overview, event, run and queue pages show. An event is out
of sync while it has open discrepancies or its last run failed."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.models import Discrepancy, DiscrepancyState, Event, ReconciliationRun
from tickets.selectors import credentials as credential_selectors

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
    environments = list(
        credential_selectors.active_credentials().values_list("environment", flat=True)
    )
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


def open_discrepancy_count() -> int:
    """Open discrepancies across every event, for the manager's home page. One query."""
    return Discrepancy.objects.filter(state=DiscrepancyState.OPEN).count()


# The reason a run writes when a difference went away by itself (services.reconciliation.apply),
# kept in English on the row: the pages say it in the reader's language.
_RESOLVED_BY_RUN = re.compile(r"^No longer found by reconciliation #(\d+)\.$")


def settled_reason(row: Discrepancy) -> str:
    """Why a difference was settled, as the queue shows it: a manager's own words as written,
    the run's note in the reader's language."""
    found = _RESOLVED_BY_RUN.match(row.reason or "")
    if found:
        return _("Gone by itself: reconciliation #%(run)s no longer found it.") % {
            "run": found.group(1)
        }
    return row.reason
