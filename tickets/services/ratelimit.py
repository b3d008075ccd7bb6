"""One request budget per Fourvenues API key, shared by every process and machine that uses it.

Fourvenues allows about 10 requests per second per key. Web requests (Test connection, Refresh),
workers sending comps, the scheduler and management commands may all use one key at once, on
several machines: a limiter inside each process let 25 requests into one second. So the budget
lives in the database the deployment already has (a `RateBudget` row per key): each request
reserves the next free moment with one atomic UPDATE ... RETURNING (a row lock on PostgreSQL; on
SQLite, writes run one at a time), then sleeps until it. Requests are spaced `1 / rate` apart
(default 9/s, against Fourvenues' 10), so no one-second window holds more than the limit, and the
headroom absorbs the jitter between reserving a moment and the request arriving.

A 429 from Fourvenues, seen by any process, pauses every user of the key for a second and spaces
their requests twice as wide for the next half minute.

Why not pyrate-limiter's SQL buckets: they count requests per window (so a burst at a window's
edge puts twice the rate into one second), and hold a lock while leaking; reserving evenly spaced
moments is a dozen lines of SQL that need nothing more than the database.

Reservations are their own statement: call Fourvenues outside a transaction (the ledger rule), or
the row stays locked until the caller commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection

from tickets.models import RateBudget

SLOW_SECONDS = 30.0  # how long a 429 keeps the key's requests spaced wider
PAUSE_SECONDS = 1.0  # how long a 429 pauses every user of the key
SLOW_FACTOR = 2.0
MAX_LATE_WAKES = 5  # fresh moments taken after waking late, before sending regardless

_TABLE = RateBudget._meta.db_table
_KNOWN_KEYS: set[str] = set()  # keys whose row this process has seen


def _now_sql() -> str:
    """The database's clock in epoch seconds: one clock for every machine sharing the key."""
    if connection.vendor == "postgresql":
        return "EXTRACT(EPOCH FROM clock_timestamp())::float8"
    return "((julianday('now') - 2440587.5) * 86400.0)"


def _greatest() -> str:
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


class SharedLimiter:
    """The `tickets.fourvenues.throttle.Limiter` of one key, kept in the database."""

    def __init__(
        self,
        key_fingerprint: str,
        *,
        rate_per_second: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        rate = rate_per_second or settings.FOURVENUES_RATE_LIMIT
        if rate <= 0:
            raise ValueError("rate_per_second must be positive")
        self.key = key_fingerprint
        self.interval = 1.0 / rate
        self._sleep = sleep
        self._clock = clock

    def _ensure_row(self) -> None:
        if self.key not in _KNOWN_KEYS:  # once per process and key, not per client
            RateBudget.objects.get_or_create(key=self.key)
            _KNOWN_KEYS.add(self.key)

    def reserve(self) -> float:
        """Reserve the next free moment for one request; returns the seconds until it."""
        self._ensure_row()
        row = self._reserve()
        if row is None:  # the row went (a database reset under a running process): again
            _KNOWN_KEYS.discard(self.key)
            self._ensure_row()
            row = self._reserve()
        return max(0.0, float(row[0]))

    def _reserve(self) -> tuple[float] | None:
        now, greatest = _now_sql(), _greatest()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_TABLE} SET last_slot = {greatest}(last_slot + CASE WHEN slow_until > "  # noqa: S608
                f"{now} THEN %s ELSE %s END, {now}) WHERE key = %s RETURNING last_slot - {now}",
                [self.interval * SLOW_FACTOR, self.interval, self.key],
            )
            return cursor.fetchone()

    def acquire(self) -> float:
        """Block until this process's request may be sent. Returns the seconds waited.

        Woken well after its moment (a busy machine, a long pause of the thread), a request sent
        at once would arrive in the same second as the next one's on time: it takes a fresh
        moment instead, so arrivals stay spaced, not only reservations.
        """
        waited = 0.0
        for _ in range(MAX_LATE_WAKES):
            wait = self.reserve()
            planned = self._clock() + wait
            if wait > 0:
                self._sleep(wait)
                waited += wait
            if self._clock() - planned <= self.interval / 2:
                break
        return waited

    def penalise(self) -> None:
        """Fourvenues answered 429: pause and slow every user of the key, not only this one."""
        self._ensure_row()
        now, greatest = _now_sql(), _greatest()
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {_TABLE} SET last_slot = {greatest}(last_slot, {now} + %s), "  # noqa: S608
                f"slow_until = {now} + %s WHERE key = %s",
                [PAUSE_SECONDS, SLOW_SECONDS, self.key],
            )
