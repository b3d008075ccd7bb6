"""The reconciliation schedule, run by the maintenance loop: which events are due a run, and
failing the runs a dead worker left behind."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from tickets.models import Event, ReconciliationRun, RunStatus, RunTrigger
from tickets.selectors import credentials as credential_selectors
from tickets.services.reconciliation.errors import ReconciliationError
from tickets.services.reconciliation.runs import MIN_SECONDS_BETWEEN_RUNS, request_run

# A scheduled run is a full one (the only kind that finds tickets missing remotely) this often.
FULL_RUN_EVERY = dt.timedelta(hours=1)


def enqueue_due_runs(*, now: dt.datetime) -> int:
    """Queue scheduled runs: events happening soon every few minutes, other events with tickets
    of ours rarely; never an event already queued or running, or reconciled under a minute ago.
    Returns how many were queued."""
    environments = credential_selectors.active_credentials().values_list("environment", flat=True)
    today = timezone.localdate(now)
    soon_until = today + dt.timedelta(days=settings.COMPS_RECONCILE_SOON_DAYS)
    soon = Q(night__gte=today - dt.timedelta(days=1), night__lte=soon_until)
    ours = Q(issuances__isnull=False) | Q(tickets__isnull=False)
    events = (
        Event.objects.filter(environment__in=list(environments))
        .filter(soon | ours)
        .distinct()
        .order_by("night", "pk")
    )
    busy = set(
        ReconciliationRun.objects.filter(
            status__in=[RunStatus.QUEUED, RunStatus.RUNNING]
        ).values_list("event_id", flat=True)
    )
    queued = 0
    for event in events:
        if event.pk in busy:
            continue
        interval = (
            settings.COMPS_RECONCILE_SOON_SECONDS
            if today - dt.timedelta(days=1) <= event.night <= soon_until
            else settings.COMPS_RECONCILE_RARELY_SECONDS
        )
        last = event.reconciliation_runs.order_by("-created_at", "-id").first()
        gap = max(interval, MIN_SECONDS_BETWEEN_RUNS)
        if last is not None and last.created_at > now - dt.timedelta(seconds=gap):
            continue
        last_full = (
            event.reconciliation_runs.filter(status=RunStatus.SUCCEEDED, full=True)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        try:
            request_run(
                event=event,
                trigger=RunTrigger.SCHEDULE,
                full=last_full is None or last_full < now - FULL_RUN_EVERY,
            )
        except ReconciliationError:
            continue  # no credential, or another process queued it a moment ago
        queued += 1
    return queued


def reap_stale_runs(*, now: dt.datetime) -> int:
    """A run whose worker died stays `running` (or its lost task leaves it `queued`) and would
    block its event for good: fail it, saying why."""
    cutoff = now - dt.timedelta(seconds=settings.COMPS_STALE_TASK_SECONDS)
    return ReconciliationRun.objects.filter(
        Q(status=RunStatus.RUNNING, started_at__lt=cutoff)
        | Q(status=RunStatus.QUEUED, created_at__lt=cutoff)
    ).update(
        status=RunStatus.FAILED,
        finished_at=now,
        # Kept in English on the run; the pages translate it as they show it.
        error=gettext_noop("The worker running this reconciliation stopped without finishing it."),
    )
