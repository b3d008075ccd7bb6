"""Signs of life of the background processes: the scheduler beats on each pass, and queues a
heartbeat task that whichever worker is free runs, so "a worker was seen" means a worker took a
task from the queue and finished it, not merely that its process exists."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets import tasks
from tickets.models import ProcessBeat

SCHEDULER = "scheduler"
WORKER = "worker"


def record_beat(process: str, *, now: dt.datetime | None = None) -> None:
    ProcessBeat.objects.update_or_create(
        process=process, defaults={"seen_at": now or timezone.now()}
    )


def enqueue_worker_beat() -> bool:
    """Queue the workers' heartbeat unless one is waiting already (a queue that nobody takes
    from then holds one, not one per scheduler pass)."""
    waiting = DBTaskResult.objects.filter(
        task_path=tasks.worker_beat.module_path, status=TaskResultStatus.READY
    ).exists()
    if waiting:
        return False
    tasks.worker_beat.enqueue()
    return True


def scheduler_beat() -> None:
    """One scheduler pass done: say so, and ask a worker to say so too."""
    record_beat(SCHEDULER)
    enqueue_worker_beat()
