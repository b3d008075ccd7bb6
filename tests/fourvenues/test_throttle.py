"""The per-key client-side rate limiter, on an injected clock (no real waiting)."""

from __future__ import annotations

import threading

import pytest

from tickets.fourvenues import RateLimiter, fingerprint, limiter_for
from tickets.fourvenues import throttle as throttle_module


class FakeTime:
    def __init__(self, *, advance_on_sleep: bool = True) -> None:
        self.now = 50.0
        self.sleeps: list[float] = []
        self._advance = advance_on_sleep
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            if self._advance:
                self.now += seconds


def test_first_request_is_immediate():
    time = FakeTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)

    assert limiter.acquire() == 0.0
    assert time.sleeps == []


def test_back_to_back_requests_are_spaced_by_the_interval():
    time = FakeTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)

    for _ in range(5):
        limiter.acquire()

    assert time.sleeps == pytest.approx([0.1, 0.1, 0.1, 0.1])
    assert time.now == pytest.approx(50.4)


def test_no_wait_once_the_interval_has_passed():
    time = FakeTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    time.now += 0.25

    assert limiter.acquire() == 0.0
    assert time.sleeps == []


def test_partial_elapsed_time_shortens_the_wait():
    time = FakeTime()
    limiter = RateLimiter(4, clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    time.now += 0.1

    assert limiter.acquire() == pytest.approx(0.15)


def test_idle_time_does_not_bank_a_burst_beyond_capacity():
    time = FakeTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    time.now += 60

    limiter.acquire()
    limiter.acquire()

    assert time.sleeps == pytest.approx([0.1])


def test_burst_allows_that_many_requests_at_once():
    time = FakeTime()
    limiter = RateLimiter(10, burst=3, clock=time.clock, sleep=time.sleep)

    waits = [limiter.acquire() for _ in range(4)]

    assert waits == pytest.approx([0.0, 0.0, 0.0, 0.1])


def test_concurrent_callers_each_get_their_own_slot():
    # The clock does not move, so every caller's wait reveals the slot it reserved: a race
    # would hand two callers the same slot.
    time = FakeTime(advance_on_sleep=False)
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    waits: list[float] = []
    waits_lock = threading.Lock()
    start = threading.Barrier(20)

    def worker() -> None:
        start.wait()
        wait = limiter.acquire()
        with waits_lock:
            waits.append(wait)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(waits) == pytest.approx([n / 10 for n in range(20)])


def test_tighten_lowers_but_never_raises_the_rate():
    time = FakeTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)

    limiter.tighten(2)
    limiter.tighten(50)

    assert limiter.rate_per_second == 2
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(0.5)


@pytest.mark.parametrize("rate", [0, -1])
def test_rate_must_be_positive(rate):
    with pytest.raises(ValueError, match="positive"):
        RateLimiter(rate)


def test_limiter_for_shares_one_limiter_per_fingerprint():
    first = limiter_for(fingerprint("ik_live_registry-one"), 10)
    again = limiter_for(fingerprint("ik_live_registry-one"), 10)
    other = limiter_for(fingerprint("ik_live_registry-two"), 10)

    assert first is again
    assert first is not other


def test_limiter_for_keeps_the_stricter_rate():
    key = fingerprint("ik_live_registry-three")
    limiter_for(key, 10)

    assert limiter_for(key, 5).rate_per_second == 5
    assert limiter_for(key, 10).rate_per_second == 5


def test_registry_never_holds_the_key_itself():
    limiter_for(fingerprint("ik_live_registry-secret"), 10)

    assert all("ik_live_registry-secret" not in key for key in throttle_module._registry)


def test_a_429_makes_the_next_request_wait_a_second_more():
    time = FakeTime()
    limiter = RateLimiter(10, clock=time.clock, sleep=time.sleep)
    limiter.acquire()
    limiter.penalise()
    limiter.acquire()
    assert time.sleeps == pytest.approx([1.1])


def test_the_client_tells_its_limiter_about_a_429(sandbox):
    from tickets.fourvenues import ApiKeyAuth, FourvenuesClient, RateLimited

    class Recording:
        def __init__(self) -> None:
            self.acquired = self.penalised = 0

        def acquire(self) -> float:
            self.acquired += 1
            return 0.0

        def penalise(self) -> None:
            self.penalised += 1

    limiter = Recording()
    client = FourvenuesClient(
        base_url=sandbox.base_url,
        auth=ApiKeyAuth(sandbox.api_headers()["X-Api-Key"]),
        rate_limiter=limiter,
        get_retries=0,
    )
    sandbox.inject("error_before_commit", status=429, message="Too many requests")
    with pytest.raises(RateLimited):
        client.list_channels()
    assert (limiter.acquired, limiter.penalised) == (1, 1)
