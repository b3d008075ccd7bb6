"""How many requests each API key sent, and the most any one-second window held.

Fourvenues allows about 10 requests per second per key. The sandbox counts what arrives per key
so that a benchmark or a test can check the backoffice never went over, however many processes
shared the key: `busiest_second` is the most requests of one key inside any window of one second
(sliding, not aligned to the clock's seconds, so the strictest reading).
"""

from __future__ import annotations

import bisect
import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any


def key_label(credential: str) -> str:
    """A short fingerprint to name a key by in the control API (never the key itself)."""
    return hashlib.sha256(credential.encode()).hexdigest()[:12]


class Traffic:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._arrivals: dict[str, list[float]] = {}

    def count(self, credential: str) -> None:
        with self._lock:
            self._arrivals.setdefault(key_label(credential), []).append(self._clock())

    def clear(self) -> None:
        with self._lock:
            self._arrivals.clear()

    def summary(self) -> dict[str, Any]:
        with self._lock:
            arrivals = {key: list(times) for key, times in self._arrivals.items()}
        return {
            key: {"requests": len(times), "busiest_second": busiest_window(times)}
            for key, times in arrivals.items()
        }


def busiest_window(times: list[float], width: float = 1.0) -> int:
    """The most of `times` (ascending) inside any half-open window [t, t + width)."""
    most = 0
    for index, start in enumerate(times):
        most = max(most, bisect.bisect_left(times, start + width, lo=index) - index)
    return most
