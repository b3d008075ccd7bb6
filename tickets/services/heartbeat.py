"""Signs of life of long tasks, so that the reaper takes a task as dead by its silence, not by
its age: a send of 200 guests at the rate limit runs for half a minute, and a worker that is busy
is not a worker that died.

A task beats at most every `BEAT_SECONDS` (one small upsert), and the reaper leaves alone any
running task that beat within `COMPS_STALE_TASK_SECONDS`.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid

from django.db.models import QuerySet
from django.utils import timezone

from tickets.models import TaskHeartbeat

BEAT_SECONDS = 5.0


class Heartbeat:
    """The heartbeat of one running task (none when run outside the worker: `task_id` None)."""

    def __init__(self, task_id: uuid.UUID | str | None) -> None:
        self.task_id = task_id
        self._last = float("-inf")

    def beat(self) -> None:
        if self.task_id is None or time.monotonic() - self._last < BEAT_SECONDS:
            return
        TaskHeartbeat.objects.update_or_create(
            task_id=self.task_id, defaults={"beat_at": timezone.now()}
        )
        self._last = time.monotonic()


def alive_task_ids(*, since: dt.datetime) -> QuerySet[TaskHeartbeat]:
    """The ids of tasks that beat since `since` (for the reaper to leave alone)."""
    return TaskHeartbeat.objects.filter(beat_at__gte=since).values("task_id")


def forget_before(moment: dt.datetime) -> int:
    """Heartbeats of tasks long finished are of no further use."""
    return TaskHeartbeat.objects.filter(beat_at__lt=moment).delete()[0]
