"""The reaper: makes sure nothing stays stuck when a worker dies or a task is lost; and the
reconciliation schedule.

Run periodically by `manage.py comps_scheduler`. Each step is safe to repeat.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets import tasks
from tickets.models import Issuance, IssuanceLine, LineState
from tickets.selectors import credentials as credential_selectors
from tickets.selectors import summaries as summary_selectors
from tickets.services import export_jobs, heartbeat, withdrawals
from tickets.services.deliveries import sending as delivery_sending
from tickets.services.ledger import mark_unknown
from tickets.services.reconciliation import schedule as reconciliation_schedule


@dataclass(frozen=True)
class MaintenanceReport:
    stale_tasks: int
    stale_sending_lines: int
    sends_enqueued: int
    resolves_enqueued: int
    stale_reconciliations: int
    reconciliations_enqueued: int
    catalogue_refresh_enqueued: bool
    stale_deliveries: int
    deliveries_enqueued: bool
    stale_withdrawals: int = 0
    withdrawals_enqueued: int = 0
    purge_enqueued: bool = False
    summaries_enqueued: bool = False
    stale_exports: int = 0
    exports_expired: int = 0


def _task_path(task: object) -> str:
    return f"{task.func.__module__}.{task.func.__name__}"  # type: ignore[attr-defined]


def _is_queued(task: object, issuance_id: int) -> bool:
    return DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        task_path=_task_path(task),
        args_kwargs={"args": [issuance_id], "kwargs": {}},
    ).exists()


def reap_stale_tasks(*, now: dt.datetime) -> int:
    """A worker killed hard leaves its task RUNNING forever; mark such tasks failed so the work
    can be queued again (the work itself is recovered from the ledger, below). A task is taken as
    dead by its silence: started before the cutoff and no heartbeat since (a long send beats)."""
    cutoff = now - dt.timedelta(seconds=settings.COMPS_STALE_TASK_SECONDS)
    heartbeat.forget_before(cutoff - dt.timedelta(days=1))
    return (
        DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff)
        .exclude(id__in=heartbeat.alive_task_ids(since=cutoff))
        .update(
            status=TaskResultStatus.FAILED,
            finished_at=now,
            exception_class_path="tickets.services.maintenance.WorkerVanished",
            traceback="The worker running this task stopped without finishing it.",
        )
    )


def reap_stale_sending_lines(*, now: dt.datetime) -> int:
    """A line `sending` for longer than any call can last may have been sent by a worker that
    then died: it is unknown, and the resolver decides."""
    longest_call = settings.FOURVENUES_CONNECT_TIMEOUT + settings.FOURVENUES_READ_TIMEOUT + 60
    cutoff = now - dt.timedelta(seconds=longest_call)
    stale = list(
        IssuanceLine.objects.filter(state=LineState.SENDING, sent_at__lt=cutoff).select_related(
            "issuance"
        )
    )
    by_issuance: dict[int, list[IssuanceLine]] = {}
    for line in stale:
        by_issuance.setdefault(line.issuance_id, []).append(line)
    for lines in by_issuance.values():
        mark_unknown(
            lines[0].issuance,
            lines,
            reason="The worker stopped while sending; checking with Fourvenues.",
        )
    return len(stale)


def enqueue_lost_work(*, now: dt.datetime) -> tuple[int, int]:
    """Queue sending for pending lines and resolving for due unknown lines that no task covers."""
    sends = resolves = 0
    pending = Issuance.objects.filter(lines__state=LineState.PENDING).distinct()
    for issuance_id in pending.values_list("pk", flat=True):
        if not _is_queued(tasks.send_issuance, issuance_id):
            tasks.send_issuance.enqueue(issuance_id)
            sends += 1
    due = Issuance.objects.filter(
        lines__state=LineState.UNKNOWN, lines__next_resolve_at__lte=now
    ).distinct()
    for issuance_id in due.values_list("pk", flat=True):
        if not _is_queued(tasks.resolve_issuance, issuance_id):
            tasks.resolve_issuance.enqueue(issuance_id)
            resolves += 1
    return sends, resolves


# A scheduled catalogue refresh that failed (Fourvenues down, or the sandbox not up yet when
# `make run` starts) is tried again this soon, not an interval later.
CATALOGUE_RETRY_SECONDS = 60


def enqueue_catalogue_refresh(*, now: dt.datetime) -> bool:
    """Queue a refresh of the catalogue mirror when the last scheduled one succeeded more than
    COMPS_CATALOGUE_REFRESH_SECONDS ago (or never did), none is queued, and none failed in the
    last minute."""
    interval = settings.COMPS_CATALOGUE_REFRESH_SECONDS
    if not interval or not credential_selectors.active_credentials().exists():
        return False
    refreshes = DBTaskResult.objects.filter(task_path=_task_path(tasks.refresh_catalogue))
    recent = (
        Q(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
        | Q(
            status=TaskResultStatus.SUCCESSFUL,
            finished_at__gt=now - dt.timedelta(seconds=interval),
        )
        | Q(enqueued_at__gt=now - dt.timedelta(seconds=CATALOGUE_RETRY_SECONDS))
    )
    if refreshes.filter(recent).exists():
        return False
    tasks.refresh_catalogue.enqueue()
    return True


def enqueue_lost_deliveries(*, now: dt.datetime) -> bool:
    """Queue the delivery task when messages are due and no task is waiting or running."""
    running = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        task_path=_task_path(tasks.send_deliveries),
    )
    if running.exists() or not delivery_sending.waiting_unsent(now=now):
        return False
    tasks.send_deliveries.enqueue()
    return True


# The purge of personal data is a daily matter: looked at hourly, whatever the scheduler's pace.
PURGE_INTERVAL_SECONDS = 3600


def enqueue_personal_data_purge(*, now: dt.datetime) -> bool:
    """Queue the purge of holders' personal data when none is waiting or running and none was
    queued in the last hour (it finds its own work and is safe to run twice)."""
    recent = DBTaskResult.objects.filter(task_path=_task_path(tasks.purge_personal_data)).filter(
        Q(status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
        | Q(enqueued_at__gt=now - dt.timedelta(seconds=PURGE_INTERVAL_SECONDS))
    )
    if recent.exists():
        return False
    tasks.purge_personal_data.enqueue()
    return True


def enqueue_due_summaries(*, now: dt.datetime) -> bool:
    """Queue the morning-after summaries when one is due and no such task is waiting or
    running (each event's summary is claimed once, so a duplicate task sends nothing)."""
    waiting = DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        task_path=_task_path(tasks.send_event_summaries),
    )
    if waiting.exists() or not summary_selectors.events_due_for_summary(now=now).exists():
        return False
    tasks.send_event_summaries.enqueue()
    return True


def run_maintenance() -> MaintenanceReport:
    now = timezone.now()
    with transaction.atomic():
        stale_tasks = reap_stale_tasks(now=now)
    stale_lines = reap_stale_sending_lines(now=now)
    with transaction.atomic():
        sends, resolves = enqueue_lost_work(now=now)
    stale_runs = reconciliation_schedule.reap_stale_runs(now=now)
    reconciliations = reconciliation_schedule.enqueue_due_runs(now=now)
    catalogue = enqueue_catalogue_refresh(now=now)
    stale_deliveries = delivery_sending.reap_stale_deliveries(now=now)
    deliveries = enqueue_lost_deliveries(now=now)
    # A withdrawal left `sending` is looked up (unknown), never sent again; lost ones re-queued.
    stale_withdrawals = withdrawals.reap_stale_withdrawals(now=now)
    with transaction.atomic():
        withdrawals_enqueued = withdrawals.enqueue_lost_withdrawals(now=now)
    purge = enqueue_personal_data_purge(now=now)
    summaries = enqueue_due_summaries(now=now)
    # Large exports: failed when their worker died, deleted when nobody fetched them in time.
    stale_exports = export_jobs.reap_stale_export_jobs(now=now)
    exports_expired = export_jobs.expire_unfetched(now=now)
    return MaintenanceReport(
        stale_tasks=stale_tasks,
        stale_sending_lines=stale_lines,
        sends_enqueued=sends,
        resolves_enqueued=resolves,
        stale_reconciliations=stale_runs,
        reconciliations_enqueued=reconciliations,
        catalogue_refresh_enqueued=catalogue,
        stale_deliveries=stale_deliveries,
        deliveries_enqueued=deliveries,
        stale_withdrawals=stale_withdrawals,
        withdrawals_enqueued=withdrawals_enqueued,
        purge_enqueued=purge,
        summaries_enqueued=summaries,
        stale_exports=stale_exports,
        exports_expired=exports_expired,
    )
