"""Client-side rate limiting, shared per API key within the process.

Fourvenues allows about 10 requests per second per key (fourvenues-api.md §2.6). Several
clients can exist at once in one process (a worker sending comps, a catalogue refresh, a
reconciliation), so the limit is enforced per key, not per client: `limiter_for()` hands every
client with the same key the same `RateLimiter`. The registry is keyed by the credential's
SHA-256 fingerprint (auth.py) so the key itself is never held outside the credential.

The limiter is a token bucket that reserves the next slot under a lock and sleeps outside it:
concurrent callers queue up in order, and no thread holds the lock while waiting. With the
default burst of 1 it is a plain minimum interval between requests (0.1 s at 10/s).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class Limiter(Protocol):
    """What the client asks of a rate limiter: wait for a slot; slow down after a 429.

    The client's own `RateLimiter` keeps the budget in this process; the backoffice passes one
    that keeps it in the shared database (`services.ratelimit`), so that every process and
    machine using a key draws from one budget.
    """

    def acquire(self) -> float: ...

    def penalise(self) -> None: ...


class RateLimiter:
    def __init__(
        self,
        rate_per_second: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._rate = float(rate_per_second)
        self._burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    @property
    def rate_per_second(self) -> float:
        return self._rate

    def tighten(self, rate_per_second: float) -> None:
        """Lower the rate if `rate_per_second` is stricter; never raise it.

        Two clients sharing a key may be configured differently; obeying the stricter one keeps
        both within what the API allows.
        """
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        with self._lock:
            self._refill()
            self._rate = min(self._rate, float(rate_per_second))

    def penalise(self) -> None:
        """Fourvenues answered 429: the next request waits a second more."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 0.0) - self._rate

    def acquire(self) -> float:
        """Block until a request may be sent. Returns the seconds waited (0.0 when none)."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            # A negative balance is a reservation: this caller owns the slot that frees up
            # after the callers queued before it.
            wait = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(float(self._burst), self._tokens + elapsed * self._rate)


_registry: dict[str, RateLimiter] = {}
_registry_lock = threading.Lock()


def limiter_for(
    key_fingerprint: str,
    rate: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RateLimiter:
    """The process-wide limiter for one credential, created on first use.

    `clock` and `sleep` only matter for the call that creates it. A later request for a lower
    rate tightens the shared limiter.
    """
    with _registry_lock:
        limiter = _registry.get(key_fingerprint)
        if limiter is None:
            limiter = RateLimiter(rate, clock=clock, sleep=sleep)
            _registry[key_fingerprint] = limiter
            return limiter
    limiter.tighten(rate)
    return limiter
