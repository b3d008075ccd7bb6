"""A long send is not taken for dead: the reaper fails a running task only when its worker has
stopped showing signs of life, not because it has been running long."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests.fixtures.worker import drain_tasks
from tickets.models import TaskHeartbeat
from tickets.services.heartbeat import Heartbeat
from tickets.services.maintenance import reap_stale_tasks

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def running_send(issuing) -> DBTaskResult:
    issuing.submit(1)
    task = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    task.claim("a-busy-worker")
    return task


def test_a_long_send_that_beats_is_left_running(issuing, settings):
    task = running_send(issuing)
    later = timezone.now() + dt.timedelta(seconds=settings.COMPS_STALE_TASK_SECONDS + 60)
    with time_machine.travel(later - dt.timedelta(seconds=30)):
        Heartbeat(task.id).beat()  # still sending half a minute before
    with time_machine.travel(later):
        assert reap_stale_tasks(now=timezone.now()) == 0
    task.refresh_from_db()
    assert task.status == TaskResultStatus.RUNNING


def test_a_task_whose_worker_went_silent_is_taken_as_dead(issuing, settings):
    task = running_send(issuing)
    Heartbeat(task.id).beat()  # it beat once, then its worker died
    later = timezone.now() + dt.timedelta(seconds=settings.COMPS_STALE_TASK_SECONDS + 60)
    with time_machine.travel(later):
        assert reap_stale_tasks(now=timezone.now()) == 1
    task.refresh_from_db()
    assert task.status == TaskResultStatus.FAILED


def test_the_send_task_beats_while_it_sends(issuing):
    issuing.submit(3)
    task = DBTaskResult.objects.get(status=TaskResultStatus.READY)
    drain_tasks()
    beat = TaskHeartbeat.objects.get(task_id=task.id)
    assert timezone.now() - beat.beat_at < dt.timedelta(minutes=1)


def test_beats_are_spaced_not_written_on_every_call(issuing):
    heartbeat = Heartbeat("4f0e7b8e-6a3c-4c6e-9a3e-1d2f3a4b5c6d")
    heartbeat.beat()
    first = TaskHeartbeat.objects.get().beat_at
    heartbeat.beat()  # within BEAT_SECONDS: not written again
    assert TaskHeartbeat.objects.get().beat_at == first
