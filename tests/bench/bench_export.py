"""`make bench-export`: rows per second and peak memory of a CSV export of BENCH_ROWS tickets.

In one run, on a throwaway test database of whatever DATABASE_URL names (SQLite by default):

1. fills BENCH_ROWS (default 1,000,000) IssuedTicket rows fast (one INSERT ... SELECT over a
   series the database generates), spread over 50 events, the first 2,000 linked to real
   issuances so the export's joins (event, line, issuance, issuer, reason) do real work;
2. streams `services.exports.csv_rows` over the search page's own queryset (a manager, no
   filter, the default sort, the default columns) to the end, discarding the bytes: rows, seconds,
   rows/s, peak RSS (sampled during the export, and the process high-water mark) and RSS growth
   over the baseline measured just before;
3. the naive approach for comparison, on a slice of BENCH_NAIVE_ROWS (default 100,000): model
   instances (`list(queryset)`) written into one in-memory CSV.

Targets: at least 100,000 rows/s and peak memory under 200 MB for the streamed export.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import sys
import threading
import time
from decimal import Decimal

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backoffice.settings")
django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from tests import factories as f  # noqa: E402
from tests.bench.support import throwaway_database  # noqa: E402
from tickets.models import Event, IssuanceLine, IssuedTicket, LineState  # noqa: E402
from tickets.selectors import search as search_selectors  # noqa: E402
from tickets.services import exports  # noqa: E402

ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
NAIVE_ROWS = int(os.environ.get("BENCH_NAIVE_ROWS", "100000"))
EVENTS = 50
ISSUANCES = 20
LINES_PER_ISSUANCE = 100  # 2,000 tickets with a full issuance behind them
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """The resident set size now (Linux: /proc/self/statm)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE / 1024 / 1024


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


class PeakSampler:
    """Samples RSS every few milliseconds in a thread: the peak of one phase, whatever the
    process's earlier high-water mark."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            time.sleep(self.interval)

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


# --- Filling the table ---------------------------------------------------------------------


def linked_lines() -> list[int]:
    """Issuances with lines (a document number each) for the first tickets to point at."""
    line_ids: list[int] = []
    for _ in range(ISSUANCES):
        issuance = f.IssuanceFactory()
        lines = IssuanceLine.objects.bulk_create(
            IssuanceLine(
                issuance=issuance,
                position=i,
                full_name=f"Holder {i}",
                email=f"holder{i}@example.com",
                document_type="dni",
                document_number=f"{10_000_000 + i}Z",
                state=LineState.CONFIRMED,
            )
            for i in range(LINES_PER_ISSUANCE)
        )
        line_ids += [line.pk for line in lines]
    return line_ids


def fill(n: int) -> None:
    """n tickets in one INSERT ... SELECT over a generated series: the database makes the rows,
    so filling a million takes seconds and no memory in this process."""
    event_ids = [e.pk for e in Event.objects.bulk_create(f.EventFactory.build_batch(EVENTS))]
    line_ids = linked_lines()
    assert event_ids == list(range(event_ids[0], event_ids[0] + EVENTS)), "ids not contiguous"
    assert line_ids == list(range(line_ids[0], line_ids[0] + len(line_ids))), "ids not contiguous"

    now = timezone.now()
    template = IssuedTicket(
        environment="alpha",
        status="activated",
        sale_type="online",
        price=Decimal("0.00"),
        phone="+34612345678",
        mirrored_at=now,
        updated_at=now,
    )
    started = "2026-01-01 00:00:00"
    postgres = connection.vendor == "postgresql"
    moment = (
        f"TIMESTAMPTZ '{started}+00' + i * INTERVAL '1 second'"
        if postgres
        else f"datetime('{started}', '+' || i || ' seconds')"
    )
    varying = {
        "remote_id": "'r' || i",
        "code": "'C' || i",
        "qr_code": "'COMPS-' || i",
        "name": "'Holder Number' || i",
        "email": "'holder' || i || '@example.com'",
        "payment_id": "'pay' || (i / 3)",
        "rate_name": "CASE WHEN i % 4 = 0 THEN 'VIP' ELSE 'Guest list' END",
        "entered": "i % 2",
        "event_id": f"{event_ids[0]} + i % {EVENTS}",
        "line_id": f"CASE WHEN i < {len(line_ids)} THEN {line_ids[0]} + i ELSE NULL END",
        # search_text stays empty: the export never reads it, and filling the trigram index of
        # a million distinct texts would be most of the set-up time.
        "remote_created_at": moment,
        "issued_at": moment,
    }
    fields = [field for field in IssuedTicket._meta.concrete_fields if not field.primary_key]
    expressions: list[str] = []
    params: list[object] = []
    for field in fields:
        if field.attname in varying:
            expressions.append(varying[field.attname].replace("%", "%%"))
        else:
            expressions.append("%s")
            params.append(field.get_db_prep_save(getattr(template, field.attname), connection))
    table = connection.ops.quote_name(IssuedTicket._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    select = ", ".join(expressions)
    if postgres:
        sql = f"INSERT INTO {table} ({columns}) SELECT {select} FROM generate_series(0, %s) AS s(i)"
    else:
        sql = (
            "WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < %s) "
            f"INSERT INTO {table} ({columns}) SELECT {select} FROM s"
        )
    # The row count's placeholder comes after the SELECT's on PostgreSQL, before them on SQLite.
    arguments = [*params, n - 1] if postgres else [n - 1, *params]
    with connection.cursor() as cursor:
        cursor.execute(sql, arguments)
        if postgres:
            cursor.execute(f"ANALYZE {table}")


# --- The measurements ----------------------------------------------------------------------


def streamed_export(queryset: object) -> tuple[int, float, float, float, float]:
    """Returns (rows, seconds, peak RSS MB sampled, RSS growth MB, bytes MB)."""
    baseline = rss_mb()
    rows = -1  # the header line is not a row
    size = 0
    with PeakSampler() as sampler:
        started = time.perf_counter()
        for chunk in exports.csv_rows(queryset=queryset, columns=exports.DEFAULT_COLUMNS):
            rows += chunk.count(b"\r\n")
            size += len(chunk)
        elapsed = time.perf_counter() - started
    return rows, elapsed, sampler.peak, sampler.peak - baseline, size / 1024 / 1024


def naive_export(queryset: object, n: int) -> tuple[int, float, float, float]:
    """Model instances, every row in memory, one big CSV string. Returns (rows, seconds,
    peak RSS MB sampled, RSS growth MB)."""
    baseline = rss_mb()
    with PeakSampler() as sampler:
        started = time.perf_counter()
        tickets = list(queryset[:n])
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([exports.EXPORT_COLUMNS[c].header for c in exports.DEFAULT_COLUMNS])
        for t in tickets:
            issuance = t.line.issuance if t.line else None
            writer.writerow(
                [
                    t.code,
                    t.name,
                    t.email,
                    t.event.name if t.event else "",
                    t.event.night if t.event else "",
                    t.rate_name,
                    t.status,
                    t.entered,
                    issuance.created_by.username if issuance else "",
                    issuance.reason.label if issuance else "",
                    issuance.created_at if issuance else "",
                ]
            )
        content = buffer.getvalue().encode("utf-8")
        elapsed = time.perf_counter() - started
    del content, tickets
    return n, elapsed, sampler.peak, sampler.peak - baseline


def main() -> int:
    with throwaway_database():
        started = time.perf_counter()
        fill(ROWS)
        print(
            f"database: {connection.vendor}; filled {ROWS:,} tickets in "
            f"{time.perf_counter() - started:.1f} s"
        )
        manager = f.manager()
        # Exactly what the search page (and its export) runs for a manager with no filter.
        filters = search_selectors.TicketSearchFilters()
        queryset = search_selectors.search_tickets(user=manager, filters=filters)
        print(
            f"process RSS before the export: {rss_mb():.0f} MB (high-water {max_rss_mb():.0f} MB)"
        )

        rows, seconds, peak, growth, size = streamed_export(queryset)
        assert rows == ROWS, (rows, ROWS)
        print(
            f"\nstreamed CSV  ({len(exports.DEFAULT_COLUMNS)} columns, {size:.0f} MB written):\n"
            f"  rows {rows:,} | {seconds:.2f} s | {rows / seconds:,.0f} rows/s | "
            f"peak RSS {peak:.0f} MB (ru_maxrss {max_rss_mb():.0f} MB) | RSS growth {growth:.1f} MB"
        )
        naive_n = min(NAIVE_ROWS, ROWS)
        n, n_seconds, n_peak, n_growth = naive_export(queryset, naive_n)
        print(
            f"naive, in memory from model instances, first {n:,} rows:\n"
            f"  rows {n:,} | {n_seconds:.2f} s | {n / n_seconds:,.0f} rows/s | "
            f"peak RSS {n_peak:.0f} MB | RSS growth {n_growth:.1f} MB "
            f"(~{n_growth * ROWS / n:,.0f} MB extrapolated to {ROWS:,} rows)"
        )
        ok = rows / seconds >= 100_000 and peak < 200
        print(
            "\ntargets: >= 100,000 rows/s and peak RSS < 200 MB for the streamed export: "
            + ("met" if ok else "NOT met")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
