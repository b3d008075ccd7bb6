"""`make bench-load`: 50 signed-in issuers browsing at once, runserver against gunicorn.

On a PostgreSQL database kept between runs (BENCH_LOAD_DATABASE, default `comps_bench_load`,
over loopback TCP; BENCH_LOAD_DATABASE_URL reaches it otherwise, `postgres://postgres@/...` by
the local socket) holding BENCH_ROWS tickets (default 1,000,000, seeded once by
`tickets.demo.seeding`, as `manage.py seed_tickets` does; skipped when the database already
holds them), it starts a server, puts locust's load on it for `--seconds` (default 60) and stops
it: first `manage.py runserver` (the baseline), then gunicorn with `--workers` sync workers
(default 4), both with DEBUG off. Each of the `--users` people (default 50) is one of the
seeded issuers, signed in beforehand (a session in the database: what a sign-in leaves), thinks
1 s between pages and goes through the mix of `tests/bench/locust_staff.py`: home, a search with
a term, one of their tickets, their issuances, one issuance.

Prints for both servers side by side: requests/s, p50/p95/p99 (ms) and errors, over all pages
and per page; then each page once, unloaded, in this process (queries, SQL time, server time),
and, if a page's p95 is over the target, where the slowest of them spends its time (cProfile).

Target: no errors, p95 under 250 ms on gunicorn. Exits 1 if it is missed. Loopback only.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import os
import pstats
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO

import psycopg
from psycopg import sql

DATABASE = os.environ.get("BENCH_LOAD_DATABASE", "comps_bench_load")
ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
# Before django.setup(): the settings read DATABASE_URL once.
os.environ["DATABASE_URL"] = os.environ.get(
    "BENCH_LOAD_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{DATABASE}"
)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.process_support import collect_static, free_port  # noqa: E402
from tickets import roles  # noqa: E402
from tickets.demo.seeding import seed_tickets  # noqa: E402
from tickets.models import Issuance, IssuedTicket  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
TARGET_P95_MS = 250.0
# Search terms as staff type them: common surnames and first names, an e-mail fragment, a rare
# fragment (the seeding's names).
TERMS = ["garcía", "martínez", "lópez", "nuria", "pablo", "sánchez", "nuria.gomez", "zubizarr"]
PAGES = ["home", "search", "ticket", "my issuances", "issuance"]


def ensure_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]
        ).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
    call_command("migrate", verbosity=0, interactive=False)


def ensure_tickets() -> None:
    held = IssuedTicket.objects.count()
    if held >= ROWS:
        print(f"database {DATABASE}: {held:,} tickets already (seeding skipped)")
        return
    print(f"database {DATABASE}: {held:,} tickets; seeding {ROWS - held:,} (once: it is kept)")
    started = time.perf_counter()

    def progress(done: int) -> None:
        if done % 100_000 == 0:
            print(f"  seeded {done:>9,} ({time.perf_counter() - started:.0f} s)", flush=True)

    print(seed_tickets(count=ROWS - held, seed=1, batch=10_000, progress=progress).summary())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT gin_clean_pending_list('tickets_issuedticket_search_trgm'::regclass)"
        )
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would after a bulk load


def plan(users: int) -> dict:
    """Who the simulated people are (a session each, cycling over the seeded issuers) and what
    each may open (some of their own tickets and issuances)."""
    issuers = list(
        User.objects.filter(groups__name=roles.ISSUER, username__startswith="seed-issuer-")
        .order_by("username")
        .distinct()
    )
    if not issuers:
        raise RuntimeError("no seeded issuers: is the database seeded by tickets.demo.seeding?")
    rng = random.Random(1)
    own: dict[int, tuple[list[int], list[int]]] = {}
    for issuer in issuers:
        issuances = list(
            Issuance.objects.filter(created_by=issuer)
            .order_by("-pk")
            .values_list("pk", flat=True)[:2000]
        )
        picked = rng.sample(issuances, min(30, len(issuances)))
        tickets = list(
            IssuedTicket.objects.filter(line__issuance__in=picked).values_list("pk", flat=True)[:60]
        )
        own[issuer.pk] = (tickets, picked)
    people = []
    for i in range(users):
        issuer = issuers[i % len(issuers)]
        client = Client()
        client.force_login(issuer)  # what a sign-in leaves: a session row
        tickets, issuances = own[issuer.pk]
        people.append(
            {
                "username": issuer.username,
                "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "tickets": tickets,
                "issuances": issuances,
            }
        )
    return {"session_cookie": settings.SESSION_COOKIE_NAME, "terms": TERMS, "people": people}


def server_env() -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
    }


@contextmanager
def server(kind: str, workers: int, log: IO[bytes]) -> Iterator[str]:
    port = free_port()
    if kind == "runserver":
        command = [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]
    else:
        command = [
            str(BIN / "gunicorn"),
            "backoffice.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
        ]
    process = subprocess.Popen(
        command, cwd=ROOT, env=server_env(), start_new_session=True, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with suppress(requests.RequestException):
                if requests.get(f"{url}/accounts/login/", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{kind} did not start on {url}")
            time.sleep(0.2)
        yield url
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def warm_up(url: str, people: list[dict]) -> None:
    """Each worker's first pages (imports, templates, the filters' lists) before the clock runs."""
    with requests.Session() as browser:
        browser.cookies.set(settings.SESSION_COOKIE_NAME, people[0]["session"])
        for _ in range(8):
            for path in ("/", "/tickets/?q=garcía", "/issuances/"):
                browser.get(f"{url}{path}", timeout=60)
            browser.get(f"{url}/tickets/{people[0]['tickets'][0]}/", timeout=60)
            browser.get(f"{url}/issuances/{people[0]['issuances'][0]}/", timeout=60)


def run_locust(url: str, plan_file: Path, users: int, seconds: int, work: Path) -> dict:
    """locust headless for `seconds`; its per-page and total rows from its CSV."""
    prefix = work / "stats"
    command = [
        str(BIN / "locust"),
        "-f",
        str(ROOT / "tests" / "bench" / "locust_staff.py"),
        "--headless",
        "--users",
        str(users),
        "--spawn-rate",
        str(users),
        "--run-time",
        f"{seconds}s",
        "--host",
        url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
    ]
    env = {**os.environ, "BENCH_LOAD_PLAN": str(plan_file)}
    subprocess.run(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=seconds + 120,
        check=False,  # locust exits 1 when a request failed: the CSV says which
    )
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as stats:
        for row in csv.DictReader(stats):
            rows[row["Name"]] = row
    failures = {}
    with open(f"{prefix}_failures.csv", newline="") as found:
        for row in csv.DictReader(found):
            failures[f"{row['Name']}: {row['Error']}"] = int(row["Occurrences"])
    return {"rows": rows, "failures": failures}


def figures(row: dict) -> tuple[float, float, float, float, int, int]:
    return (
        float(row["Requests/s"]),
        float(row["50%"]),
        float(row["95%"]),
        float(row["99%"]),
        int(row["Failure Count"]),
        int(row["Request Count"]),
    )


def page_paths(person: dict) -> dict[str, str]:
    return {
        "home": "/",
        "search": "/tickets/?q=garcía",
        "ticket": f"/tickets/{person['tickets'][0]}/",
        "my issuances": "/issuances/",
        "issuance": f"/issuances/{person['issuances'][0]}/",
    }


def client_of(person: dict) -> Client:
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = person["session"]
    return client


def queries_per_page(person: dict) -> tuple[str, str]:
    """Each page once more in this process, unloaded: its queries and their time, and the whole
    server time (the share that is not SQL is Python and templates); and the slowest page (under
    load a fast page queued behind slow ones shows a long time too: this tells which is slow)."""
    client = client_of(person)
    lines = [f"{'page':<13} | {'queries':>7} | {'SQL ms':>7} | {'server ms':>9}"]
    slowest = (0.0, "")
    for page, path in page_paths(person).items():
        client.get(path, HTTP_HOST="127.0.0.1")  # warm
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(path, HTTP_HOST="127.0.0.1")
            elapsed = (time.perf_counter() - started) * 1000
        sql_ms = sum(float(query["time"]) for query in captured.captured_queries) * 1000
        status = "" if response.status_code == 200 else f" (status {response.status_code})"
        lines.append(f"{page:<13} | {len(captured):>7} | {sql_ms:>7.0f} | {elapsed:>9.0f}{status}")
        slowest = max(slowest, (elapsed, page))
    return "\n".join(lines), slowest[1]


def profile(page: str, person: dict) -> str:
    """Where `page` spends its time: cProfile of a few requests through django.test.Client."""
    client = client_of(person)
    path = page_paths(person)[page]
    client.get(path, HTTP_HOST="127.0.0.1")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(5):
        client.get(path, HTTP_HOST="127.0.0.1")
    profiler.disable()
    ours, hottest = io.StringIO(), io.StringIO()
    # Our code's share (views, selectors, template tags), then where the time itself goes.
    pstats.Stats(profiler, stream=ours).sort_stats("cumulative").print_stats(
        r"tickets/(views|selectors|services|templatetags|forms)/", 15
    )
    pstats.Stats(profiler, stream=hottest).sort_stats("tottime").print_stats(15)
    return (
        f"cProfile of 5 x GET {path}, our functions by cumulative time:\n{ours.getvalue()}\n"
        f"and every function by its own time:\n{hottest.getvalue()}"
    )


def main() -> int:
    options = arguments()
    ensure_database()
    ensure_tickets()
    people_plan = plan(options.users)
    sessions = [person["session"] for person in people_plan["people"]]
    connection.close()
    try:
        return measure(options, people_plan)
    finally:
        Session.objects.filter(session_key__in=sessions).delete()


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60, help="Load time per server.")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn's workers.")
    parser.add_argument(
        "--servers", default="runserver,gunicorn", help="Which, in order: runserver,gunicorn."
    )
    return parser.parse_args()


def measure(options: argparse.Namespace, people_plan: dict) -> int:
    results: dict[str, dict] = {}
    collect_static(server_env())
    with tempfile.TemporaryDirectory() as directory:
        work = Path(directory)
        plan_file = work / "plan.json"
        plan_file.write_text(json.dumps(people_plan))
        for kind in options.servers.split(","):
            with (
                (work / f"{kind}.log").open("wb") as log,
                server(kind, options.workers, log) as url,
            ):
                warm_up(url, people_plan["people"])
                results[kind] = run_locust(url, plan_file, options.users, options.seconds, work)
            print(f"{kind}: done", flush=True)

    tickets = IssuedTicket.objects.count()
    print(
        f"\n{options.users} signed-in issuers, 1 s think time, {options.seconds} s per server; "
        f"PostgreSQL, {tickets:,} tickets; DEBUG off; gunicorn: {options.workers} sync workers; "
        f"{os.cpu_count()} CPUs (shared)"
    )
    header = (
        f"{'server':<10} | {'page':<13} | {'req/s':>6} | {'p50 ms':>7} | {'p95 ms':>7} | "
        f"{'p99 ms':>7} | {'errors':>6} | {'requests':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in ["Aggregated", *PAGES]:  # the servers side by side: all pages, then each
        for kind, result in results.items():
            row = result["rows"].get(name)
            if row is None:
                continue
            rps, p50, p95, p99, errors, count = figures(row)
            label = "all pages" if name == "Aggregated" else name
            print(
                f"{kind:<10} | {label:<13} | {rps:>6.1f} | {p50:>7.0f} | {p95:>7.0f} | "
                f"{p99:>7.0f} | {errors:>6} | {count:>8}"
            )
    for kind, result in results.items():
        for failure, occurrences in result["failures"].items():
            print(f"  {kind} error: {failure} (x{occurrences})")
    print("(locust rounds percentiles over 100 ms to two significant figures)")

    measured = results.get("gunicorn") or next(iter(results.values()))
    total = figures(measured["rows"]["Aggregated"])
    slow = sorted(
        (figures(measured["rows"][name])[2], name) for name in PAGES if name in measured["rows"]
    )
    missed = total[4] > 0 or total[2] >= TARGET_P95_MS
    print(
        f"\ntarget (gunicorn): no errors and p95 < {TARGET_P95_MS:.0f} ms: "
        f"{'MISSED' if missed else 'met'} ({total[4]} errors, p95 {total[2]:.0f} ms); "
        f"slowest page by p95: {slow[-1][1]} ({slow[-1][0]:.0f} ms)"
    )
    print("\nthe pages one at a time, in this process (django.test.Client, no load):")
    table, slowest = queries_per_page(people_plan["people"][0])
    print(table)
    if slow and slow[-1][0] >= TARGET_P95_MS:
        print()
        print(profile(slowest, people_plan["people"][0]))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
