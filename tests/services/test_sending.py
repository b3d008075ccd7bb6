"""The worker keeps several creates in flight within the key's rate limit, and shares the key
fairly between issuances: a small one submitted while a large one is sending does not wait for it.
The ledger protocol is the same for each call (claimed and committed before it, settled after)."""

import time

import pytest

from tests.fixtures.worker import BackgroundWorker, drain_tasks
from tests.services.test_issuing_flow import assert_mirror_matches_sandbox, states
from tickets.models import IssuanceLine, IssuanceStatus, LineState
from tickets.services.sending import KeySender

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LATENCY = 0.3  # seconds Fourvenues takes to answer a create in these tests


@pytest.fixture
def slow_creates(issuing, settings):
    settings.FOURVENUES_RATE_LIMIT = 9
    settings.FOURVENUES_SENDS_IN_FLIGHT = 4
    issuing.sandbox.inject("latency", seconds=LATENCY, match_method="POST", times=None)
    issuing.sandbox.app.traffic.clear()
    return issuing


def wait_until(condition, timeout: float = 20.0) -> None:
    """Poll `condition` (the worker runs in another thread) until it holds or time is up."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def busiest_second(issuing) -> int:
    (counts,) = issuing.sandbox.app.traffic.summary().values()
    return counts["busiest_second"]


def test_creates_are_sent_side_by_side_within_the_rate_limit(slow_creates):
    issuance = slow_creates.submit(12)
    drain_tasks()

    assert states(issuance) == [LineState.CONFIRMED] * 12
    assert_mirror_matches_sandbox(slow_creates)
    # One after another, a 300 ms create lets at most 4 into a second; side by side, the rate
    # limit decides: more than 4, and never over Fourvenues' 10.
    assert 5 <= busiest_second(slow_creates) <= 10


def test_one_at_a_time_when_the_setting_says_so(slow_creates, settings):
    settings.FOURVENUES_SENDS_IN_FLIGHT = 1
    slow_creates.submit(6)
    drain_tasks()
    assert busiest_second(slow_creates) <= 4


def test_a_small_issuance_is_not_held_back_by_a_large_one_sending(slow_creates):
    large = slow_creates.submit(30)
    worker = BackgroundWorker().start()
    try:
        wait_until(lambda: large.lines.filter(state=LineState.CONFIRMED).count() >= 3)
        small = slow_creates.submit(2)
        wait_until(lambda: set(states(small)) == {LineState.CONFIRMED})
        # The large one is still sending: the small one went in between its calls.
        unsettled = large.lines.filter(state__in=[LineState.PENDING, LineState.SENDING]).count()
        assert unsettled >= 10
        small.refresh_from_db()
        assert small.status == IssuanceStatus.COMPLETED
        wait_until(lambda: set(states(large)) == {LineState.CONFIRMED})
    finally:
        worker.stop()
    assert_mirror_matches_sandbox(slow_creates)


def test_turns_go_round_the_issuances_waiting(slow_creates, settings):
    """The rule: each next call goes to the issuance served least recently."""
    settings.FOURVENUES_SENDS_IN_FLIGHT = 1
    first, second, third = slow_creates.submit(3), slow_creates.submit(2), slow_creates.submit(1)
    sender = KeySender(first.credential)
    order = []
    while claimed := sender.claim_next():
        issuance, lines = claimed
        order.append(issuance.pk)
        IssuanceLine.objects.filter(pk__in=[line.pk for line in lines]).update(
            state=LineState.CONFIRMED
        )
    a, b, c = first.pk, second.pk, third.pk
    assert order == [a, b, c, a, b, a]


def test_lines_put_back_after_a_429_wait_for_their_moment(slow_creates):
    slow_creates.sandbox.inject(
        "error_before_commit", status=429, message="Too many requests", match_method="POST"
    )
    issuance = slow_creates.submit(1)
    drain_tasks()
    line = issuance.lines.get()
    assert line.state == LineState.PENDING
    assert line.send_after is not None
    # A sender running now (for another issuance) leaves it until then.
    assert KeySender(issuance.credential).claim_next() is None
