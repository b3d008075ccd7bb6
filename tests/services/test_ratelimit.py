"""One rate limit per key, kept in the database: every limiter of the key (one per process, per
machine) reserves its requests from the same budget, evenly spaced below Fourvenues' limit, and a
429 seen by one slows them all."""

import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from tests.fixtures.worker import database_url
from tickets.services.ratelimit import PAUSE_SECONDS, SLOW_FACTOR, SharedLimiter

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_two_limiters_of_one_key_share_its_budget(settings):
    settings.FOURVENUES_RATE_LIMIT = 9
    first, second = SharedLimiter("key-a"), SharedLimiter("key-a")  # two processes, say
    waits = [first.reserve(), second.reserve(), first.reserve(), second.reserve()]
    assert waits[0] < 0.05
    # Each reservation comes 1/9 s after the one before, whoever made it.
    for earlier, later in itertools.pairwise(waits):
        assert later - earlier == pytest.approx(1 / 9, abs=0.03)


@pytest.mark.django_db
def test_other_keys_have_budgets_of_their_own():
    SharedLimiter("key-a").reserve()
    SharedLimiter("key-a").reserve()
    assert SharedLimiter("key-b").reserve() < 0.05


@pytest.mark.django_db
def test_a_429_seen_by_one_limiter_pauses_and_slows_every_limiter_of_the_key(settings):
    settings.FOURVENUES_RATE_LIMIT = 9
    seen_it, other = SharedLimiter("key-a"), SharedLimiter("key-a")
    seen_it.reserve()
    seen_it.penalise()
    first = other.reserve()
    second = other.reserve()
    assert first >= PAUSE_SECONDS - 0.05
    assert second - first == pytest.approx(SLOW_FACTOR / 9, abs=0.03)
    assert SharedLimiter("key-b").reserve() < 0.05  # another key is not slowed


CALLS_PER_PROCESS = 9
LOOP = """
import sys

import django

django.setup()
from tickets.models import Credential
from tickets.services.credentials import build_client
client = build_client(Credential.objects.get(pk=int(sys.argv[1])), record_calls=False)
for _ in range({calls}):
    client.list_channels()
"""


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_processes_sharing_a_key_never_put_more_than_the_limit_into_one_second(sandbox, settings):
    """Three real processes and a thread of this one, each calling as fast as it is let: what
    arrives at the sandbox never holds more than Fourvenues' 10 in any one-second window."""
    from tests.fixtures.issuing import build_issuing_setup

    credential = build_issuing_setup(sandbox).credential
    sandbox.app.traffic.clear()
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "backoffice.settings",
        "FOURVENUES_RATE_LIMIT": "9",
    }
    script = LOOP.format(calls=CALLS_PER_PROCESS)
    processes = [
        subprocess.Popen([sys.executable, "-c", script, str(credential.pk)], cwd=ROOT, env=env)
        for _ in range(3)
    ]
    settings.FOURVENUES_RATE_LIMIT = 9

    def this_process() -> None:
        from tickets.services.credentials import build_client

        client = build_client(credential, record_calls=False)
        for _ in range(CALLS_PER_PROCESS):
            client.list_channels()
        connection.close()

    thread = threading.Thread(target=this_process)
    thread.start()
    thread.join(timeout=60)
    assert [process.wait(timeout=60) for process in processes] == [0, 0, 0]

    (counts,) = sandbox.app.traffic.summary().values()
    assert counts["requests"] == 4 * CALLS_PER_PROCESS
    assert counts["busiest_second"] <= 10


@pytest.mark.django_db
def test_a_request_woken_late_takes_a_fresh_moment_instead_of_crowding_the_next(settings):
    settings.FOURVENUES_RATE_LIMIT = 10
    now = [0.0]
    slept = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds + (0.3 if len(slept) == 1 else 0.0)  # the first wake is 300 ms late

    other = SharedLimiter("key-a")
    late = SharedLimiter("key-a", sleep=sleep, clock=lambda: now[0])
    other.reserve()  # someone holds the moment now: `late` has to wait for the next
    late.acquire()
    assert len(slept) == 2  # it slept, woke late, and waited for a fresh moment
