"""The scheduler keeps the catalogue mirror fresh: a refresh is queued when the last one is
older than COMPS_CATALOGUE_REFRESH_SECONDS, never twice at once, retried a minute after a
failure; and the real worker carries it out against the sandbox."""

import datetime as dt

import pytest
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests import factories
from tests.fixtures.worker import drain_tasks
from tickets import tasks
from tickets.models import Event
from tickets.services.maintenance import enqueue_catalogue_refresh, run_maintenance

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 10, 20, 0, tzinfo=dt.UTC)
REFRESH_PATH = f"{tasks.refresh_catalogue.func.__module__}.{tasks.refresh_catalogue.func.__name__}"


def refreshes(status: str | None = None):
    found = DBTaskResult.objects.filter(task_path=REFRESH_PATH)
    return found.filter(status=status) if status else found


def finish_queued(status: str, *, at: dt.datetime) -> None:
    refreshes(TaskResultStatus.READY).update(
        status=status, enqueued_at=at, started_at=at, finished_at=at
    )


def test_without_an_active_credential_nothing_is_refreshed():
    assert enqueue_catalogue_refresh(now=NOW) is False
    assert not refreshes().exists()


def test_a_never_refreshed_catalogue_is_queued_once_until_it_has_run():
    factories.CredentialFactory()
    assert enqueue_catalogue_refresh(now=NOW) is True
    assert enqueue_catalogue_refresh(now=NOW + dt.timedelta(minutes=5)) is False
    assert refreshes().count() == 1


def test_after_a_success_the_next_refresh_waits_for_the_interval(settings):
    settings.COMPS_CATALOGUE_REFRESH_SECONDS = 3600
    factories.CredentialFactory()
    enqueue_catalogue_refresh(now=NOW)
    finish_queued(TaskResultStatus.SUCCESSFUL, at=NOW)

    assert enqueue_catalogue_refresh(now=NOW + dt.timedelta(minutes=59)) is False
    assert enqueue_catalogue_refresh(now=NOW + dt.timedelta(minutes=61)) is True


def test_after_a_failure_it_is_tried_again_a_minute_later_not_an_interval_later(settings):
    settings.COMPS_CATALOGUE_REFRESH_SECONDS = 3600
    factories.CredentialFactory()
    enqueue_catalogue_refresh(now=NOW)
    finish_queued(TaskResultStatus.FAILED, at=NOW)

    assert enqueue_catalogue_refresh(now=NOW + dt.timedelta(seconds=30)) is False
    assert enqueue_catalogue_refresh(now=NOW + dt.timedelta(seconds=90)) is True


def test_an_interval_of_zero_turns_the_schedule_off(settings):
    settings.COMPS_CATALOGUE_REFRESH_SECONDS = 0
    factories.CredentialFactory()
    assert enqueue_catalogue_refresh(now=NOW) is False


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_mirrors_the_catalogue_the_scheduler_queued(issuing):
    Event.objects.all().delete()  # a fresh install: nothing mirrored yet
    assert run_maintenance().catalogue_refresh_enqueued is True

    drain_tasks()

    assert refreshes(TaskResultStatus.SUCCESSFUL).count() == 1
    remote = {event["_id"] for event in issuing.sandbox.catalogue.events}
    mirrored = set(Event.objects.filter(is_listed=True).values_list("remote_id", flat=True))
    assert mirrored
    assert mirrored <= remote
    assert timezone.now() - Event.objects.latest("refreshed_at").refreshed_at < dt.timedelta(
        minutes=1
    )
