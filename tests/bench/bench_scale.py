"""`make bench-scale`: the production stack scaled out on one PostgreSQL, issuing through the web.

On a scratch PostgreSQL database (created, migrated, dropped afterwards) it starts what
docker-compose.yml runs, twice over where it scales: two gunicorn instances (two workers each),
two `manage.py db_worker` and one `manage.py comps_scheduler`, all connected as the app's own
role (`manage.py grant_app_role`), and the Fourvenues sandbox in a child process (300 ms per
create, as a remote API answers). Several issuers, each in their own `requests.Session`, fill in
the issuing form, review and confirm (the browser's POSTs, spread over both gunicorns; every
confirm is posted twice, as a double click does) for HOLDERS holders over ISSUANCES issuances,
while `manage.py reconcile --full` reconciles the event over RECONCILED tickets already on the
same key (the manager's button would need the two-factor step, not what this measures). Then
it checks, from the database and the sandbox:

- nothing lost: every line confirmed, one ticket per line, the sandbox holds exactly HOLDERS of
  our holders' tickets;
- nothing duplicated: ISSUANCES issuances (the second confirms led to the first), no `qr_code`
  twice in the sandbox;
- nothing unsettled: no line queued, sending or unknown, the reconciliation finished;
- no one-second window of the key over Fourvenues' limit (LIMIT, the sandbox's own count of
  every request the processes together sent);
- the wall time from the first confirm to the last ticket confirmed against the floor
  (HOLDERS creates / FOURVENUES_RATE_LIMIT): never under it (the pacing is shared), and within
  MAX_RATIO of it.

Prints a table; exits 1 if a check fails. Loopback only; every wait and request is bounded.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SCRATCH_DB = f"comps_bench_scale_{os.getpid()}"
PG_HOST = "127.0.0.1:5432"
# Before django.setup(): the settings read DATABASE_URL once.
os.environ["DATABASE_URL"] = f"postgres://postgres@{PG_HOST}/{SCRATCH_DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import Group, User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from tests.bench.bench_issue import sandbox_in_child_process  # noqa: E402
from tests.bench.bench_reconcile import load_and_mirror  # noqa: E402
from tests.fixtures.issuing import IssuingSetup, build_issuing_setup  # noqa: E402
from tests.process_support import collect_static, free_port, wait_for  # noqa: E402
from tickets import roles  # noqa: E402
from tickets.fourvenues.sandbox import SandboxServer  # noqa: E402
from tickets.models import (  # noqa: E402
    Issuance,
    IssuanceLine,
    IssuedTicket,
    LineState,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
)

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HOLDERS = int(os.environ.get("BENCH_SCALE_HOLDERS", "300"))
ISSUANCES = int(os.environ.get("BENCH_SCALE_ISSUANCES", "10"))
ISSUERS = int(os.environ.get("BENCH_SCALE_ISSUERS", "5"))  # sessions issuing at once
RECONCILED = int(os.environ.get("BENCH_SCALE_RECONCILED", "2000"))
MAX_RATIO = float(os.environ.get("BENCH_SCALE_MAX_RATIO", "1.5"))
LATENCY = 0.3  # seconds per create, as the sandbox answers them
LIMIT = 10  # what Fourvenues allows per key per second
HOLDER_DOMAIN = "scale.example"  # our holders' addresses: tells their tickets from the loaded ones
PASSWORD = "a-long-bench-password"
HTTP_TIMEOUT = 30
SETTLE_TIMEOUT = 600.0
SETTLED = {LineState.CONFIRMED, LineState.FAILED}


@contextmanager
def scratch_database() -> Iterator[None]:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(SCRATCH_DB)))
    try:
        call_command("migrate", verbosity=0, interactive=False)
        yield
    finally:
        connection.close()
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(SCRATCH_DB)
                )
            )


@contextmanager
def app_role() -> Iterator[str]:
    """The app's own PostgreSQL role, as the compose file's `migrate` step grants it; its URL."""
    role = f"comps_app_bench_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory() as directory:
        password_file = Path(directory) / "password"
        password_file.write_text(password)
        call_command("grant_app_role", role=role, password_file=password_file, verbosity=0)
    try:
        yield f"postgres://{role}:{password}@{PG_HOST}/{SCRATCH_DB}"
    finally:
        connection.close()  # the processes' sessions are gone: the role can go
        with connection.cursor() as cursor:
            name = sql.Identifier(role).as_string(cursor.cursor)
            cursor.execute(f"DROP OWNED BY {name}")
            cursor.execute(f"DROP ROLE {name}")


def stack_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "COMPS_SCHEDULER_INTERVAL_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def stack(database_url: str, log: IO[bytes]) -> Iterator[list[str]]:
    """Two gunicorns, two task workers and the scheduler, their output in `log`; the gunicorns'
    base URLs."""
    env = stack_env(database_url)
    # Production serves the collected, hashed static files, as the image's build collects them.
    collect_static(env)
    ports = [free_port(), free_port()]
    gunicorn = [str(BIN / "gunicorn"), "backoffice.wsgi", "--workers", "2", "--timeout", "60"]
    worker = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay"]
    commands = [[*gunicorn, "--bind", f"127.0.0.1:{port}"] for port in ports]
    commands += [[*worker, "--interval", "0.05"]] * 2
    commands += [[sys.executable, "manage.py", "comps_scheduler"]]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)
        for command in commands
    ]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        for url in urls:

            def answers(url: str = url) -> bool:
                try:
                    return requests.get(f"{url}/accounts/login/", timeout=5).status_code == 200
                except requests.RequestException:
                    return False

            wait_for(answers, timeout=90, what=f"gunicorn at {url}")
        yield urls
    finally:
        for process in processes:
            with suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


def signed_in(url: str, username: str) -> requests.Session:
    browser = requests.Session()
    browser.get(f"{url}/accounts/login/", timeout=HTTP_TIMEOUT)
    response = post(browser, url, "/accounts/login/", {"username": username, "password": PASSWORD})
    if response.url != f"{url}/":
        raise RuntimeError(f"{username} could not sign in at {url}")
    return browser


def post(browser: requests.Session, url: str, path: str, data: dict) -> requests.Response:
    token = browser.cookies.get("csrftoken", domain="127.0.0.1") or browser.cookies["csrftoken"]
    return browser.post(
        f"{url}{path}",
        data=data,
        headers={"X-CSRFToken": token, "Referer": f"{url}/"},
        timeout=HTTP_TIMEOUT,
    )


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{re.escape(name)}"', html
    )
    if match is None:
        raise RuntimeError(f"no {name} in the page")
    return match.group(1)


def issue_through_the_web(
    browser: requests.Session, urls: list[str], setup: IssuingSetup, number: int, holders: int
) -> tuple[int, float]:
    """Form, review, confirm (twice) as a browser does, the form on one gunicorn and the review
    and confirm on the other (the session and draft live in the database). The issuance's pk and
    when it was first confirmed."""
    form_url, confirm_url = urls[number % 2], urls[(number + 1) % 2]
    page = browser.get(f"{form_url}/issue/", timeout=HTTP_TIMEOUT)
    page.raise_for_status()
    key = hidden(page.text, "idempotency_key")
    data = {
        "event": setup.event.pk,
        "rate": setup.rate.pk,
        "price_option": setup.option.pk,
        "attribution": "channel",
        "channel": setup.channel.pk,
        "promoter": "",
        "sale_type": "online",
        "reason": setup.reason.pk,
        "note": f"bench-scale {number}",
        "idempotency_key": key,
        "holders-TOTAL_FORMS": str(holders),
        "holders-INITIAL_FORMS": "0",
        "holders-MIN_NUM_FORMS": "1",
        "holders-MAX_NUM_FORMS": "200",
    }
    for i in range(holders):
        data[f"holders-{i}-full_name"] = f"Guest {number:02d}-{i:03d}"
        data[f"holders-{i}-email"] = f"guest{number:02d}.{i:03d}@{HOLDER_DOMAIN}"
    review = post(browser, form_url, "/issue/", data)
    if not review.url.endswith(f"/issue/{key}/review/"):
        raise RuntimeError(f"issuance {number}: the form did not lead to its review ({review.url})")
    review = browser.get(review.url.replace(form_url, confirm_url), timeout=HTTP_TIMEOUT)
    review.raise_for_status()
    reviewed = hidden(review.text, "reviewed")
    confirm_path = f"/issue/{key}/confirm/"
    confirmed_at = time.monotonic()
    first = post(browser, confirm_url, confirm_path, {"reviewed": reviewed})
    again = post(browser, form_url, confirm_path, {"reviewed": reviewed})  # a double click
    pk = re.search(r"/issuances/(\d+)/", first.url)
    if pk is None or re.search(r"/issuances/(\d+)/", again.url) is None:
        raise RuntimeError(f"issuance {number}: confirm led to {first.url} / {again.url}")
    if again.url.replace(form_url, confirm_url) != first.url:
        raise RuntimeError(f"issuance {number}: the second confirm led elsewhere ({again.url})")
    return int(pk.group(1)), confirmed_at


def control(sandbox: SandboxServer, method: str, path: str, **kwargs: object) -> object:
    response = requests.request(
        method, f"{sandbox.control_url}{path}", timeout=HTTP_TIMEOUT, **kwargs
    )
    response.raise_for_status()
    return response.json()["data"]


def make_issuers() -> list[str]:
    issuer_group = Group.objects.get(name=roles.ISSUER)
    issuers = []
    for i in range(ISSUERS):
        user = User.objects.create_user(f"issuer{i}", email=f"issuer{i}@example.com")
        user.set_password(PASSWORD)
        user.save()
        user.groups.add(issuer_group)
        issuers.append(user.username)
    return issuers


def run(
    setup: IssuingSetup, sandbox: SandboxServer, urls: list[str], database_url: str, log: IO[bytes]
) -> list[str]:
    issuers = make_issuers()
    sessions = [signed_in(urls[i % 2], name) for i, name in enumerate(issuers)]
    runs = ReconciliationRun.objects.filter(event=setup.event)
    # The scheduler reconciles at its start: the run measured must not be refused as a second.
    wait_for(
        lambda: not runs.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists(),
        timeout=SETTLE_TIMEOUT,
        what="the scheduler's first reconciliation finished",
    )
    runs_before = set(runs.values_list("pk", flat=True))
    connection.close()  # the stack writes from here on; this process only reads
    sizes = [HOLDERS // ISSUANCES + (1 if i < HOLDERS % ISSUANCES else 0) for i in range(ISSUANCES)]
    control(sandbox, "DELETE", "/traffic")

    def one(number: int) -> tuple[int, float]:
        return issue_through_the_web(sessions[number % ISSUERS], urls, setup, number, sizes[number])

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=ISSUERS) as pool:
        futures = [pool.submit(one, number) for number in range(ISSUANCES)]
        # A full reconciliation while the issuers are confirming: `manage.py reconcile`, as the
        # app's role (the manager's button would need the second sign-in step here).
        time.sleep(1.0)
        reconcile = subprocess.Popen(
            [sys.executable, "manage.py", "reconcile", "--event", str(setup.event.pk), "--full"],
            cwd=ROOT,
            env=stack_env(database_url),
            stdout=log,
            stderr=log,
        )
        results = [future.result(timeout=300) for future in futures]
    first_confirm = min(at for _, at in results)
    pks = sorted(pk for pk, _ in results)

    def lines() -> object:
        return IssuanceLine.objects.filter(issuance__in=pks)

    def all_settled() -> bool:
        return not lines().exclude(state__in=SETTLED).exists()

    settled_at = wait_for(
        all_settled, timeout=SETTLE_TIMEOUT, what="every line settled", every=0.05
    )
    wall = settled_at - first_confirm
    reconcile_exit = reconcile.wait(timeout=SETTLE_TIMEOUT)
    total = time.monotonic() - started
    run_row = (
        runs.exclude(pk__in=runs_before).filter(trigger=RunTrigger.COMMAND).order_by("pk").first()
    )

    # From the database.
    issuances = Issuance.objects.filter(note__startswith="bench-scale").count()
    states = dict.fromkeys(LineState.values, 0)
    for state in lines().values_list("state", flat=True):
        states[state] += 1
    ticketed = IssuedTicket.objects.filter(line__in=lines()).count()
    # From the sandbox.
    ours = [
        ticket
        for ticket in control(sandbox, "GET", "/tickets")
        if str(ticket.get("email", "")).endswith(f"@{HOLDER_DOMAIN}")
    ]
    qr_codes = [ticket.get("qr_code") for ticket in ours]
    remote_ids = set(lines().values_list("ticket__remote_id", flat=True))
    traffic = control(sandbox, "GET", "/traffic")
    window = max((key["busiest_second"] for key in traffic.values()), default=0)
    requests_sent = sum(key["requests"] for key in traffic.values())
    floor = HOLDERS / settings.FOURVENUES_RATE_LIMIT
    unsettled = sum(n for state, n in states.items() if state not in SETTLED)

    checks = [
        (
            "issuances created (confirm posted twice each)",
            issuances,
            ISSUANCES,
            issuances == ISSUANCES,
        ),
        (
            "lines confirmed",
            states[LineState.CONFIRMED],
            HOLDERS,
            states[LineState.CONFIRMED] == HOLDERS,
        ),
        ("lines failed", states[LineState.FAILED], 0, states[LineState.FAILED] == 0),
        ("lines unsettled", unsettled, 0, unsettled == 0),
        ("lines with their ticket mirrored", ticketed, HOLDERS, ticketed == HOLDERS),
        ("our tickets in the sandbox", len(ours), HOLDERS, len(ours) == HOLDERS),
        (
            "distinct qr_codes among them",
            len(set(qr_codes)),
            HOLDERS,
            len(set(qr_codes)) == HOLDERS and None not in qr_codes,
        ),
        (
            "sandbox tickets matching our lines",
            len(remote_ids & {t["_id"] for t in ours}),
            HOLDERS,
            remote_ids == {t["_id"] for t in ours},
        ),
        (
            "reconciliation",
            run_row.status if run_row else "none",
            RunStatus.SUCCEEDED,
            run_row is not None and run_row.status == RunStatus.SUCCEEDED and reconcile_exit == 0,
        ),
        (
            "busiest 1 s window of the key (requests)",
            window,
            f"<= {LIMIT}",
            window <= LIMIT,
        ),
        (
            f"wall s, first confirm to last line (floor {floor:.1f} s)",
            f"{wall:.1f} ({wall / floor:.2f}x)",
            f"{floor:.1f}..{MAX_RATIO * floor:.1f}",
            floor * 0.98 <= wall <= MAX_RATIO * floor,
        ),
    ]
    print(
        f"\n{HOLDERS} holders over {ISSUANCES} issuances from {ISSUERS} sessions on 2 gunicorns, "
        f"2 db_workers, 1 scheduler; full reconciliation of {RECONCILED:,} + {HOLDERS} tickets "
        f"meanwhile.\nkey: paced at {settings.FOURVENUES_RATE_LIMIT:g}/s "
        f"(FOURVENUES_RATE_LIMIT), Fourvenues allows {LIMIT}/s; {requests_sent:,} requests in "
        f"all; sandbox {LATENCY * 1000:.0f} ms per create; everything done in {total:.1f} s; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        + (
            f"; reconciliation {run_row.remote_tickets:,} tickets read"
            if run_row and run_row.remote_tickets is not None
            else ""
        )
    )
    width = max(len(label) for label, *_ in checks)
    print(f"{'check':<{width}} | {'measured':>16} | {'expected':>12} | ok")
    print("-" * (width + 40))
    for label, measured, expected, ok in checks:
        print(f"{label:<{width}} | {measured!s:>16} | {expected!s:>12} | {'yes' if ok else 'NO'}")
    return [label for label, _, _, ok in checks if not ok]


def main() -> int:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with scratch_database(), sandbox_in_child_process() as sandbox:
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
        load_and_mirror(setup, sandbox, RECONCILED)
        with (
            tempfile.TemporaryFile() as log,
            app_role() as database_url,
            stack(database_url, log) as urls,
        ):
            try:
                failed = run(setup, sandbox, urls, database_url, log)
            except BaseException:
                log.seek(0)
                print("the stack's output, at the end:\n" + log.read().decode()[-4000:])
                raise
    print()
    print(f"failed: {'; '.join(failed)}" if failed else "every check passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
