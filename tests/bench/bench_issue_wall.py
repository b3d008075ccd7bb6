"""`make bench-issue-wall`: issuing at the rate-limit floor, against the sandbox in its own process.

The sandbox answers every create in 300 ms (LATENCY); the key's limit is the default
(FOURVENUES_RATE_LIMIT, 9 requests/s for every process together). Real worker processes
(`manage.py db_worker`) send, on a throwaway database. Prints:

1. for 1, 20 and 200 holders and one worker: the wall time from submit to the last line settled,
   the floor (calls / paced limit), their ratio, and the most requests any one-second window of
   the key held, as the sandbox counted them;
2. the same 200 with two workers, while a full reconciliation of an event of 5,000 tickets runs
   and a 2-holder issuance is submitted 2 s later, all on the same key: each one's time, the
   2-holder's time from its submit, and the worst window.

Targets: 200 holders within 1.2x the floor; the 2-holder issuance settled within 3 s of its
submit; the worst window never over Fourvenues' 10, in every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from tests.bench.bench_issue import sandbox_in_child_process  # noqa: E402
from tests.bench.bench_reconcile import load_and_mirror  # noqa: E402
from tests.bench.support import throwaway_database  # noqa: E402
from tests.fixtures.issuing import IssuingSetup, build_issuing_setup  # noqa: E402
from tests.fixtures.worker import database_url  # noqa: E402
from tickets.drafts import api_call_count  # noqa: E402
from tickets.fourvenues.sandbox import SandboxServer  # noqa: E402
from tickets.models import Issuance, LineState, ReconciliationRun, RunStatus, RunTrigger  # noqa: E402
from tickets.services.issuance import submit_issuance  # noqa: E402
from tickets.services.reconciliation.runs import request_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LATENCY = 0.3
LIMIT = 10  # what Fourvenues allows per key per second
SIZES = (1, 20, 200)
RECONCILED_TICKETS = 5_000
SETTLED = {LineState.CONFIRMED, LineState.FAILED}


@contextmanager
def workers(count: int) -> Iterator[None]:
    """`count` real worker processes on the throwaway database."""
    env = {**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"}
    processes = [
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.05"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def control(sandbox: SandboxServer, method: str, path: str, **kwargs: object) -> dict:
    response = requests.request(method, f"{sandbox.control_url}{path}", timeout=10, **kwargs)
    response.raise_for_status()
    return response.json()


def worst_window(sandbox: SandboxServer) -> int:
    traffic = control(sandbox, "GET", "/traffic")["data"]
    return max((key["busiest_second"] for key in traffic.values()), default=0)


def submit(setup: IssuingSetup, holders: int) -> tuple[Issuance, float]:
    issuance, _ = submit_issuance(
        idempotency_key=uuid.uuid4(), draft=setup.draft(holders), user=setup.issuer
    )
    return issuance, time.perf_counter()


def settled(issuance: Issuance) -> bool:
    return set(issuance.lines.values_list("state", flat=True)) <= SETTLED


def wait_for(condition: Callable[[], bool], timeout: float = 300.0) -> float:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the workers did not finish in time")
        time.sleep(0.01)
    return time.perf_counter()


def floor_seconds(holders: int) -> float:
    return api_call_count(holders) / settings.FOURVENUES_RATE_LIMIT


def one_worker(setup: IssuingSetup, sandbox: SandboxServer) -> list[str]:
    print("1. one worker")
    print(
        f"{'holders':>7} | {'wall s':>7} | {'floor s':>7} | {'ratio':>6} | {'worst 1 s window':>16}"
    )
    over = []
    with workers(1):
        submit(setup, 1)  # a first issuance: the worker is up and connected
        wait_for(lambda: not Issuance.objects.filter(status="in_progress").exists())
        for holders in SIZES:
            control(sandbox, "DELETE", "/traffic")
            issuance, started = submit(setup, holders)
            wall = wait_for(lambda issuance=issuance: settled(issuance)) - started
            floor = floor_seconds(holders)
            window = worst_window(sandbox)
            print(
                f"{holders:>7} | {wall:>7.2f} | {floor:>7.2f} | {wall / floor:>5.2f}x | "
                f"{window:>16}"
            )
            if holders == SIZES[-1] and wall > 1.2 * floor:
                over.append(f"{holders} holders at {wall / floor:.2f}x the floor")
            if window > LIMIT:
                over.append(f"{window} requests in one second")
    return over


def two_workers(setup: IssuingSetup, sandbox: SandboxServer) -> list[str]:
    print()
    print(
        f"2. two workers: {SIZES[-1]} holders, a full reconciliation of {RECONCILED_TICKETS:,} "
        "tickets, and 2 holders 2 s later, on one key"
    )
    load_and_mirror(setup, sandbox, RECONCILED_TICKETS)
    over = []
    with workers(2):
        control(sandbox, "DELETE", "/traffic")
        large, started = submit(setup, SIZES[-1])
        run = request_run(event=setup.event, trigger=RunTrigger.COMMAND, full=True)
        time.sleep(2.0)  # the scenario: a small issuance a moment after the large one
        small, small_started = submit(setup, 2)
        small_done = wait_for(lambda: settled(small)) - small_started
        large_done = wait_for(lambda: settled(large)) - started
        run_done = (
            wait_for(
                lambda: (
                    ReconciliationRun.objects.get(pk=run.pk).status
                    in (RunStatus.SUCCEEDED, RunStatus.FAILED)
                )
            )
            - started
        )
    run.refresh_from_db()
    floor = floor_seconds(SIZES[-1])
    window = worst_window(sandbox)
    print(f"  {SIZES[-1]} holders: {large_done:.2f} s (floor {floor:.2f} s alone)")
    print(f"  2 holders: settled {small_done:.2f} s after their submit (target <= 3 s)")
    print(f"  reconciliation: {run.status} after {run_done:.2f} s, {run.remote_tickets:,} tickets")
    print(f"  worst one-second window of the key: {window} (limit {LIMIT})")
    if small_done > 3.0:
        over.append(f"the 2-holder issuance took {small_done:.2f} s")
    if window > LIMIT:
        over.append(f"{window} requests in one second")
    return over


def main() -> int:
    with throwaway_database(), sandbox_in_child_process() as sandbox:
        control(
            sandbox,
            "POST",
            "/faults",
            json={
                "kind": "latency",
                "params": {"seconds": LATENCY},
                "match_method": "POST",
                "times": 0,
            },
        )
        setup = build_issuing_setup(sandbox)
        print(
            f"database: {connection.vendor}; sandbox in its own process, {LATENCY * 1000:.0f} ms "
            f"per create; limit {settings.FOURVENUES_RATE_LIMIT:g} requests/s per key; "
            f"{settings.FOURVENUES_SENDS_IN_FLIGHT} creates in flight per worker"
        )
        connection.close()  # the workers write to the same database
        over = one_worker(setup, sandbox) + two_workers(setup, sandbox)
    print()
    print(f"over the target: {'; '.join(over) if over else 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
