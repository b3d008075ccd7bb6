"""`make bench-issue`: what the backoffice adds to issuing, per holder, beyond Fourvenues' time.

For 1, 10 and 50 holders against the sandbox (no added latency, client throttle lifted so the
rate limit does not dominate), in one run:

- baseline: the same creates sent straight through the client, no ledger (time per holder);
- backoffice: submit_issuance + the worker's send_pending_lines (time per holder), and the time
  the backoffice spends outside its HTTP calls;
- the database queries per issuance and per holder.

The sandbox runs in a child process, with no added latency. Each size runs several times and
the medians are printed.

Runs on a throwaway test database of whatever DATABASE_URL names (SQLite by default).
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import Max, Sum  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from tests.bench.support import throwaway_database  # noqa: E402
from tests.fixtures.issuing import IssuingSetup, build_issuing_setup  # noqa: E402
from tickets.fourvenues.auth import ApiKeyAuth  # noqa: E402
from tickets.fourvenues.endpoints import FourvenuesClient  # noqa: E402
from tickets.fourvenues.sandbox import SandboxServer  # noqa: E402
from tickets.fourvenues.schemas import CreateTicketsRequest, NewTicket  # noqa: E402
from tickets.models import ApiCall  # noqa: E402
from tickets.services import issuance, sending  # noqa: E402

SIZES = (1, 10, 50)
TARGET_MS = 10.0  # added per holder


def rounds_for(holders: int) -> int:
    """Enough runs of each size for a steady median: small issuances are the noisiest."""
    return max(5, 60 // holders)


def direct_creates(sandbox: SandboxServer, n: int) -> float:
    """Baseline: n one-ticket creates through the client alone. Seconds per holder."""
    event = sandbox.catalogue.events[0]
    rate = sandbox.catalogue.free_rate(event["_id"])
    client = FourvenuesClient(
        base_url=sandbox.base_url, auth=ApiKeyAuth(sandbox.app.api_key), rate_limit_per_second=None
    )
    started = time.perf_counter()
    for i in range(n):
        client.create_tickets(
            CreateTicketsRequest(
                ticket_rate_id=rate["_id"],
                sale_type="online",
                tickets=(
                    NewTicket(
                        full_name=f"Direct Guest{i}",
                        email=f"direct{i}@example.com",
                        price_id=rate["options"][0]["_id"],
                    ),
                ),
            )
        )
    client.close()
    return (time.perf_counter() - started) / n


def backoffice_issue(setup: IssuingSetup, n: int) -> tuple[float, float]:
    """One issuance of n holders, submitted and sent. Returns (seconds per holder, seconds per
    holder outside HTTP calls)."""
    calls_before = ApiCall.objects.aggregate(last=Max("pk"))["last"] or 0
    started = time.perf_counter()
    created, _ = issuance.submit_issuance(
        idempotency_key=uuid.uuid4(), draft=setup.draft(n), user=setup.issuer
    )
    sending.send_pending_lines(issuance_id=created.pk)
    elapsed = time.perf_counter() - started
    assert set(created.lines.values_list("state", flat=True)) == {"confirmed"}
    # Every call is recorded with its duration: the time spent waiting on the sandbox.
    http_ms = ApiCall.objects.filter(pk__gt=calls_before).aggregate(ms=Sum("duration_ms"))["ms"]
    return elapsed / n, (elapsed - http_ms / 1000) / n


def queries_to_issue(setup: IssuingSetup, n: int) -> int:
    """The database queries of one issuance of n holders. Counted in a run of its own: Django's
    query log formats every statement (on SQLite with a query more each), which the timed runs
    should not pay for."""
    with CaptureQueriesContext(connection) as queries:
        created, _ = issuance.submit_issuance(
            idempotency_key=uuid.uuid4(), draft=setup.draft(n), user=setup.issuer
        )
        sending.send_pending_lines(issuance_id=created.pk)
    return len(queries)


def main() -> int:
    settings.FOURVENUES_RATE_LIMIT = 100_000.0  # measure the code, not the throttle
    # One call at a time: what the ledger costs per holder. Calls side by side pay off against
    # a remote API's latency, which `make bench-issue-wall` measures; here, with none, they
    # would only add threads contending for the database.
    settings.FOURVENUES_SENDS_IN_FLIGHT = 1
    with throwaway_database(), sandbox_in_child_process() as sandbox:
        setup = build_issuing_setup(sandbox)
        direct_creates(sandbox, 5)  # warm up both paths
        backoffice_issue(setup, 5)
        print(
            f"database: {connection.vendor}; sandbox at {sandbox.base_url}; median of "
            f"{', '.join(str(rounds_for(n)) for n in SIZES)} runs"
        )
        header = (
            f"{'holders':>7} | {'direct ms/holder':>16} | {'backoffice ms/holder':>20} | "
            f"{'added ms/holder':>15} | {'own time ms/holder':>18} | {'queries':>7} | "
            f"{'queries/holder':>14}"
        )
        print(header)
        print("-" * len(header))
        added_ms: dict[int, float] = {}  # per issuance
        queries_at: dict[int, float] = {}
        for n in SIZES:
            rounds = rounds_for(n)
            direct = statistics.median(direct_creates(sandbox, n) for _ in range(rounds))
            runs = [backoffice_issue(setup, n) for _ in range(rounds)]
            total = statistics.median(r[0] for r in runs)
            own = statistics.median(r[1] for r in runs)
            queries = queries_to_issue(setup, n)
            added_ms[n], queries_at[n] = (total - direct) * 1000 * n, queries
            print(
                f"{n:>7} | {direct * 1000:>16.2f} | {total * 1000:>20.2f} | "
                f"{(total - direct) * 1000:>15.2f} | {own * 1000:>18.2f} | {queries:>7.0f} | "
                f"{queries / n:>14.1f}"
            )
        # What each further holder costs, and what every issuance costs once (the submit, the
        # task's set-up and the final status), from the smallest and the largest issuance.
        small, large = SIZES[0], SIZES[-1]
        per_holder = (added_ms[large] - added_ms[small]) / (large - small)
        fixed = added_ms[small] - per_holder * small
        queries_per_holder = (queries_at[large] - queries_at[small]) / (large - small)
        print(
            f"\neach further holder adds {per_holder:.2f} ms and {queries_per_holder:.1f} "
            f"queries;\neach issuance adds {fixed:.2f} ms once "
            f"({queries_at[small] - queries_per_holder * small:.0f} queries)."
        )
        print(
            "\nadded = backoffice minus direct (the ledger, mirror, audit and call log per "
            "holder);\nown time = backoffice time outside its HTTP calls. Target: each holder "
            "adds < 10 ms,\nand a constant number of queries."
        )
        over = [
            f"{n} holder{'s' if n > 1 else ''} ({added_ms[n] / n:.2f} ms a holder)"
            for n in SIZES
            if added_ms[n] / n >= TARGET_MS
        ]
        print(f"over the target: {', '.join(over) or 'none'}.")
    return 0


@contextmanager
def sandbox_in_child_process() -> Iterator[SandboxServer]:
    """The sandbox serves from a child process, as the real API is remote: in this process its
    threads would compete with the code being measured for the GIL. The child inherits the bound
    socket; this process keeps the catalogue and URLs."""
    sandbox = SandboxServer(port=0)
    server_process = multiprocessing.get_context("fork").Process(
        target=sandbox.serve_forever, daemon=True
    )
    server_process.start()
    try:
        yield sandbox
    finally:
        server_process.terminate()
        server_process.join()


if __name__ == "__main__":
    sys.exit(main())
