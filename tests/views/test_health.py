import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import DatabaseError
from django.utils import timezone

from tests.fixtures.worker import drain_tasks
from tickets.services.health import scheduler_beat


@pytest.mark.django_db
def test_healthz_needs_no_login_and_says_no_worker_or_scheduler_was_seen(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "degraded",
        "database": "ok",
        "scheduler": {"seen_seconds_ago": None, "alive": False},
        "worker": {"seen_seconds_ago": None, "alive": False},
    }


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_healthz_sees_the_scheduler_and_the_worker_that_ran_its_heartbeat(client):
    scheduler_beat()
    scheduler_beat()  # a second pass while the first beat waits queues no second one
    assert client.get("/healthz").json()["worker"]["alive"] is False
    drain_tasks()

    health = client.get("/healthz").json()
    assert (health["status"], health["scheduler"]["alive"], health["worker"]["alive"]) == (
        "ok",
        True,
        True,
    )
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=10)):
        later = client.get("/healthz").json()
    assert later["status"] == "degraded"
    assert later["worker"]["seen_seconds_ago"] >= 600


@pytest.mark.django_db
def test_healthz_says_503_when_the_database_is_unreachable(client):
    with mock.patch("tickets.views.health.connection.cursor", side_effect=DatabaseError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


@pytest.mark.django_db
def test_the_health_check_command_fails_for_a_process_never_seen_and_passes_once_seen():
    with pytest.raises(CommandError, match="No scheduler seen working lately"):
        call_command("healthcheck", "scheduler")
    scheduler_beat()
    call_command("healthcheck", "scheduler")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_web_health_check_asks_the_running_app(live_server):
    call_command("healthcheck", "web", url=f"{live_server.url}/healthz")
    with pytest.raises(CommandError, match="does not answer"):
        call_command("healthcheck", "web", url="http://127.0.0.1:9/healthz")
