"""`make bench-reconcile`: a full reconciliation of a 100,000-ticket event, against its floor.

Builds an event with BENCH_TICKETS (default 100,000) tickets in the sandbox, mirrored locally,
then plants differences through the sandbox's control API, as a trainer would: check-ins and
cancellations (the mirror must follow), holder changes (drift), deletions (missing remotely),
tickets issued by hand on our channel (unknown locally) and ordinary sales (never flagged).
Then one full run, at the real rate limit (FOURVENUES_RATE_LIMIT, 10 requests/s), and prints:

- its wall time, the floor the rate limit sets (tickets / 500 per page / 10 pages per second)
  and their ratio (target: within 1.3x);
- the peak resident memory of this process, setup included (target: under 250 MB);
- whether every planted difference was found and nothing else flagged.

The sandbox serves from a child process, as the real API is remote. Runs on a throwaway test
database of whatever DATABASE_URL names (SQLite by default).
"""

from __future__ import annotations

import os
import resource
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django.setup()

import requests  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from tests.bench.bench_issue import sandbox_in_child_process  # noqa: E402
from tests.bench.support import throwaway_database  # noqa: E402
from tests.fixtures.issuing import IssuingSetup, build_issuing_setup  # noqa: E402
from tickets.fourvenues.sandbox import SandboxServer  # noqa: E402
from tickets.fourvenues.schemas import Ticket  # noqa: E402
from tickets.models import (  # noqa: E402
    Discrepancy,
    DiscrepancyKind,
    IssuedTicket,
    ReconciliationRun,
    RunTrigger,
    TicketChange,
)
from tickets.services.mirror import mirror_tickets  # noqa: E402
from tickets.services.reconciliation import runs  # noqa: E402
from tickets.services.sending import send_pending_lines  # noqa: E402

TICKETS = int(os.environ.get("BENCH_TICKETS", "100000"))
PLANTED_EACH = 100
CHUNK = 2000
PAGE_SIZE = 500
HTTP_TIMEOUT = 60


def load_and_mirror(setup: IssuingSetup, sandbox: SandboxServer, count: int) -> None:
    """`count` comps in the sandbox (loaded over the control API) and in the local mirror."""
    control = sandbox.control_url
    event = setup.event
    for start in range(0, count, CHUNK):
        batch = [
            {
                "event_id": event.remote_id,
                "rate_id": setup.rate.remote_id,
                "channel_id": setup.channel.remote_id,
                "sale_type": "online",
                "payment_id": f"bench-pay-{i:06d}",
                "qr_code": f"{settings.FOURVENUES_QR_PREFIX}B{i:07d}",
                "name": f"Guest {i}",
                "email": f"guest{i}@example.com",
                "phone": f"+34600{i:06d}",
            }
            for i in range(start, min(start + CHUNK, count))
        ]
        response = requests.post(f"{control}/tickets", json=batch, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        tickets = [Ticket.from_api(item) for item in response.json()["data"]]
        mirror_tickets(
            pairs=[(ticket, None) for ticket in tickets], environment="alpha", event=event
        )


def plant(setup: IssuingSetup, sandbox: SandboxServer) -> dict[str, set[str]]:
    """Differences made "on Fourvenues", through the control API. Returns the remote ids of each
    kind of difference planted."""
    control = sandbox.control_url
    ids = list(
        IssuedTicket.objects.filter(event=setup.event, line__isnull=True)
        .order_by("pk")
        .values_list("remote_id", flat=True)
    )
    step = len(ids) // (4 * PLANTED_EACH)
    picked = ids[::step][: 4 * PLANTED_EACH]
    groups = [set(picked[i::4]) for i in range(4)]
    checked_in, cancelled, drifted, deleted = groups
    with requests.Session() as http:
        for remote_id in checked_in:
            http.patch(
                f"{control}/tickets/{remote_id}",
                json={"enter": 1, "entry_date": int(time.time())},
                timeout=HTTP_TIMEOUT,
            ).raise_for_status()
        for remote_id in cancelled:
            http.patch(
                f"{control}/tickets/{remote_id}", json={"status": "cancelled"}, timeout=HTTP_TIMEOUT
            ).raise_for_status()
        for remote_id in drifted:
            http.patch(
                f"{control}/tickets/{remote_id}",
                json={"name": "Changed In The Dashboard"},
                timeout=HTTP_TIMEOUT,
            ).raise_for_status()
        for remote_id in deleted:
            http.delete(f"{control}/tickets/{remote_id}", timeout=HTTP_TIMEOUT).raise_for_status()
        event_id = setup.event.remote_id
        by_hand = http.post(
            f"{control}/tickets",
            json=[
                {
                    "event_id": event_id,
                    "rate_id": setup.rate.remote_id,
                    "channel_id": setup.channel.remote_id,
                    "name": f"By Hand {i}",
                    "email": f"byhand{i}@example.com",
                }
                for i in range(PLANTED_EACH)
            ],
            timeout=HTTP_TIMEOUT,
        )
        by_hand.raise_for_status()
        paid_rate = next(
            r for r in sandbox.catalogue.rates_for(event_id) if r["_id"] != setup.rate.remote_id
        )
        http.post(
            f"{control}/tickets",
            json=[
                {
                    "event_id": event_id,
                    "rate_id": paid_rate["_id"],
                    "channel_id": sandbox.catalogue.channels[0]["_id"],
                    "price": 20,
                    "total_paid": 20,
                    "sale_type": "online",
                    "payment_id": f"sale-{i}",
                    "name": f"Customer {i}",
                    "email": f"customer{i}@example.com",
                }
                for i in range(PLANTED_EACH)
            ],
            timeout=HTTP_TIMEOUT,
        ).raise_for_status()
    return {
        "updated": checked_in | cancelled,
        DiscrepancyKind.DRIFT: drifted,
        DiscrepancyKind.MISSING_REMOTELY: deleted,
        DiscrepancyKind.UNKNOWN_LOCALLY: {t["_id"] for t in by_hand.json()["data"]},
    }


def found_by(run: ReconciliationRun) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {
        "updated": set(
            TicketChange.objects.filter(run=run).values_list("ticket__remote_id", flat=True)
        )
    }
    for kind in DiscrepancyKind:
        found[kind] = set(
            Discrepancy.objects.filter(run=run, kind=kind).values_list("remote_id", flat=True)
        )
    return found


def main() -> int:
    with throwaway_database(), sandbox_in_child_process() as sandbox:
        print(f"database: {connection.vendor}; sandbox at {sandbox.base_url}")
        setup = build_issuing_setup(sandbox)
        issuance = setup.submit(1)  # one real issuance: its channel and rate are "ours"
        send_pending_lines(issuance_id=issuance.pk)
        started = time.perf_counter()
        load_and_mirror(setup, sandbox, TICKETS)
        if connection.vendor == "postgresql":
            # As autovacuum would soon after such a load: without statistics the planner may
            # scan the whole table for each page's 500 ids.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        setup_seconds = time.perf_counter() - started
        print(f"setup: {TICKETS:,} tickets loaded and mirrored in {setup_seconds:.1f} s")
        planted = plant(setup, sandbox)

        run = runs.request_run(
            event=setup.event, trigger=RunTrigger.COMMAND, full=True, enqueue=False
        )
        started = time.perf_counter()
        run = runs.execute_run(run_id=run.pk)
        elapsed = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        assert run.status == "succeeded", run.error
        floor = run.remote_tickets / PAGE_SIZE / settings.FOURVENUES_RATE_LIMIT
        found = found_by(run)
        all_found = all(found[kind] == ids for kind, ids in planted.items())
        print(
            f"full run: {run.remote_tickets:,} remote tickets in {run.api_calls} calls; "
            f"{run.matched:,} matched, {run.updated} updated, {run.drift} drift, "
            f"{run.missing_remotely} missing remotely, {run.unknown_locally} unknown locally"
        )
        print(f"time for a full run:        {elapsed:8.2f} s")
        print(
            f"floor set by the rate limit: {floor:7.2f} s  ({run.remote_tickets:,} / "
            f"{PAGE_SIZE} per page / {settings.FOURVENUES_RATE_LIMIT:g} pages per second)"
        )
        print(f"ratio:                       {elapsed / floor:7.2f}x  (target <= 1.3x)")
        print(f"peak memory (RSS, setup included): {peak_mb:.0f} MB  (target < 250 MB)")
        for kind, ids in planted.items():
            extra, missed = found[kind] - ids, ids - found[kind]
            print(
                f"  {kind:<17} planted {len(ids):>4}  found {len(found[kind]):>4}  "
                f"missed {len(missed)}  extra {len(extra)}"
            )
        verdict = "yes" if all_found else "NO"
        print(f"every planted difference found and nothing else flagged: {verdict}")
    return 0 if all_found else 1


if __name__ == "__main__":
    sys.exit(main())
