"""The reconciliation schedule (run by `comps_scheduler`): what it queues, and what it must not;
the reaper for runs a dead worker left behind; and a queued run carried out by the real worker."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests import factories
from tests.fixtures.worker import drain_tasks
from tests.services.reconciliation.support import plant
from tickets.models import Credential, ReconciliationRun, RunStatus, RunTrigger
from tickets.services.maintenance import run_maintenance
from tickets.services.reconciliation import runs, schedule

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 10, 20, 0, tzinfo=dt.UTC)


def queued_events() -> set[str]:
    return set(
        ReconciliationRun.objects.filter(status=RunStatus.QUEUED).values_list(
            "event__name", flat=True
        )
    )


def past_run(event, *, minutes_ago: float, full: bool = True, status=RunStatus.SUCCEEDED):
    run = ReconciliationRun.objects.create(
        event=event,
        credential=Credential.objects.get(is_active=True),
        trigger=RunTrigger.SCHEDULE,
        full=full,
        status=status,
        high_water_mark=NOW - dt.timedelta(minutes=minutes_ago),
    )
    ReconciliationRun.objects.filter(pk=run.pk).update(
        created_at=NOW - dt.timedelta(minutes=minutes_ago)
    )
    return run


@time_machine.travel(NOW, tick=False)
def test_events_happening_soon_are_queued_and_far_ones_without_tickets_are_not(alpha_credential):
    today = timezone.localdate()
    factories.EventFactory(name="Tonight", night=today)
    factories.EventFactory(name="Last Night", night=today - dt.timedelta(days=1))
    factories.EventFactory(name="In Two Days", night=today + dt.timedelta(days=2))
    factories.EventFactory(name="Next Month", night=today + dt.timedelta(days=30))
    factories.EventFactory(name="Last Month", night=today - dt.timedelta(days=30))

    queued = schedule.enqueue_due_runs(now=NOW)

    assert queued_events() == {"Tonight", "Last Night", "In Two Days"}
    assert queued == 3
    assert DBTaskResult.objects.filter(task_path="tickets.tasks.reconcile_event").count() == 3
    assert set(ReconciliationRun.objects.values_list("trigger", "full")) == {("schedule", True)}


@time_machine.travel(NOW, tick=False)
def test_a_past_event_with_our_tickets_is_reconciled_rarely(alpha_credential, settings):
    settings.COMPS_RECONCILE_RARELY_SECONDS = 6 * 3600
    ticket = factories.IssuedTicketFactory()
    event = ticket.event
    event.night = timezone.localdate() - dt.timedelta(days=20)
    event.name = "Old Party"
    event.save()
    past_run(event, minutes_ago=5 * 60)

    assert schedule.enqueue_due_runs(now=NOW) == 0, "reconciled five hours ago"

    with time_machine.travel(NOW + dt.timedelta(hours=1, minutes=1), tick=False):
        assert schedule.enqueue_due_runs(now=timezone.now()) == 1
    assert queued_events() == {"Old Party"}


@time_machine.travel(NOW, tick=False)
def test_an_event_soon_is_requeued_every_few_minutes_never_within_one(alpha_credential, settings):
    settings.COMPS_RECONCILE_SOON_SECONDS = 30  # shorter than Fourvenues allows
    event = factories.EventFactory(name="Tonight", night=timezone.localdate())
    last = past_run(event, minutes_ago=0.75)

    assert schedule.enqueue_due_runs(now=NOW) == 0, "45 s ago: under a minute"

    ReconciliationRun.objects.filter(pk=last.pk).update(created_at=NOW - dt.timedelta(seconds=61))
    assert schedule.enqueue_due_runs(now=NOW) == 1


@time_machine.travel(NOW, tick=False)
def test_an_event_already_queued_or_running_is_not_queued_again(alpha_credential):
    tonight = factories.EventFactory(name="Tonight", night=timezone.localdate())
    running = factories.EventFactory(name="Running", night=timezone.localdate())
    schedule.enqueue_due_runs(now=NOW)
    ReconciliationRun.objects.filter(event=running).update(status=RunStatus.RUNNING)

    with time_machine.travel(NOW + dt.timedelta(hours=2), tick=False):
        assert schedule.enqueue_due_runs(now=timezone.now()) == 0
    assert ReconciliationRun.objects.filter(event=tonight).count() == 1


@time_machine.travel(NOW, tick=False)
def test_scheduled_runs_are_incremental_between_hourly_full_runs(alpha_credential):
    event = factories.EventFactory(name="Tonight", night=timezone.localdate())
    past_run(event, minutes_ago=10)

    schedule.enqueue_due_runs(now=NOW)

    run = ReconciliationRun.objects.get(status=RunStatus.QUEUED)
    assert not run.full
    assert run.since is not None


def test_nothing_is_queued_without_an_active_credential():
    factories.EventFactory(night=timezone.localdate())

    assert schedule.enqueue_due_runs(now=timezone.now()) == 0
    assert not ReconciliationRun.objects.exists()


def test_a_run_left_running_by_a_dead_worker_is_failed_saying_why(alpha_credential, settings):
    event = factories.EventFactory(night=timezone.localdate())
    run = runs.request_run(event=event, trigger=RunTrigger.UI, enqueue=False)
    stale = timezone.now() - dt.timedelta(seconds=settings.COMPS_STALE_TASK_SECONDS + 1)
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, started_at=stale, created_at=stale
    )

    report = run_maintenance()

    run.refresh_from_db()
    assert report.stale_reconciliations == 1
    assert run.status == RunStatus.FAILED
    assert "stopped without finishing" in run.error
    assert report.reconciliations_enqueued == 1, "the event is free to be queued again"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_carries_out_a_queued_run(issuing):
    plant(issuing)
    run = runs.request_run(event=issuing.event, trigger=RunTrigger.UI, full=True)

    drain_tasks()

    run.refresh_from_db()
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.missing_remotely, run.unknown_locally, run.drift) == (1, 1, 1)
