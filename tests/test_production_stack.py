"""The processes docker-compose.yml starts, started without Docker on PostgreSQL: gunicorn with two
workers, two task workers and the scheduler, connected as the app's own role (what the compose
file's `migrate` step grants). Each does its part: the web app serves signed-in pages, the
scheduler and a worker are seen alive in `/healthz`, and an issuance is sent once by the pair of
workers, nothing lost, nothing twice."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection
from psycopg import sql

from tests.fixtures.issuing import IssuingSetup
from tests.process_support import collect_static, free_port, wait_for
from tickets.models import IssuanceLine, LineState

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the stack runs on PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

BIN = Path(sys.executable).parent


@pytest.fixture
def app_database_url(tmp_path: Path) -> Iterator[str]:
    role = f"comps_app_test_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    (tmp_path / "password").write_text(password)
    call_command("grant_app_role", role=role, password_file=tmp_path / "password")
    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    yield f"postgres://{role}:{password}@{host}/{db['NAME']}"
    with connection.cursor() as cursor:
        name = sql.Identifier(role).as_string(cursor.cursor)
        cursor.execute(f"DROP OWNED BY {name}")
        cursor.execute(f"DROP ROLE {name}")


@pytest.fixture
def stack(app_database_url: str, issuing: IssuingSetup) -> Iterator[str]:
    collect_static()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": app_database_url,
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "COMPS_SCHEDULER_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }
    commands = [
        [str(BIN / "gunicorn"), "backoffice.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"],
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"],
        [sys.executable, "manage.py", "comps_scheduler"],
    ]
    processes = [
        subprocess.Popen(command, cwd=settings.BASE_DIR, env=env, start_new_session=True)
        for command in commands
    ]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=60)


def test_the_stack_serves_pages_sees_its_workers_and_sends_each_ticket_once(stack, issuing):
    def healthy() -> bool:
        try:
            return requests.get(f"{stack}/healthz", timeout=5).json()["status"] == "ok"
        except (requests.RequestException, ValueError):
            return False

    # The scheduler beat, and one of the workers ran the heartbeat task it queued.
    wait_for(healthy, timeout=90, what="/healthz seeing the scheduler and a worker")

    # An issuer: the stack runs with production's defaults, where managers also need their
    # second factor. Hashed as the app hashes (the tests' own, faster hasher is unknown to it).
    person = User.objects.create_user("iris")
    person.password = PBKDF2PasswordHasher().encode("a-long-test-password", "salt-for-iris")
    person.save()
    person.groups.add(Group.objects.get(name="Issuer"))
    browser = requests.Session()
    browser.get(f"{stack}/accounts/login/", timeout=10)
    signed_in = browser.post(
        f"{stack}/accounts/login/",
        data={"username": "iris", "password": "a-long-test-password"},
        headers={"X-CSRFToken": browser.cookies["csrftoken"], "Referer": f"{stack}/"},
        timeout=10,
    )
    assert signed_in.url == f"{stack}/"
    assert browser.get(f"{stack}/issuances/", timeout=10).status_code == 200

    issuance = issuing.submit(12)

    def settled() -> bool:
        return not IssuanceLine.objects.filter(issuance=issuance).exclude(state=LineState.CONFIRMED)

    wait_for(settled, timeout=120, what="all twelve tickets issued")
    assert len(issuing.sandbox.tickets()) == 12
