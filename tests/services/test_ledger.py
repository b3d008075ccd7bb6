"""The ledger's line state machine: every allowed transition moves a line, every other is refused
(the line keeps its state), whichever service asks."""

import itertools

import pytest

from tests.factories import IssuanceLineFactory
from tickets.models import IssuanceLine, LineState
from tickets.services.ledger import TRANSITIONS, may_move, move, sources_of

ALLOWED = {
    (LineState.PENDING_APPROVAL, LineState.PENDING),
    (LineState.PENDING_APPROVAL, LineState.REJECTED),
    (LineState.PENDING, LineState.SENDING),
    (LineState.PENDING, LineState.FAILED),
    (LineState.SENDING, LineState.CONFIRMED),
    (LineState.SENDING, LineState.FAILED),
    (LineState.SENDING, LineState.UNKNOWN),
    (LineState.SENDING, LineState.PENDING),
    (LineState.UNKNOWN, LineState.CONFIRMED),
    (LineState.UNKNOWN, LineState.FAILED),
    (LineState.FAILED, LineState.PENDING),
    (LineState.FAILED, LineState.CONFIRMED),
}
EVERY_PAIR = list(itertools.product(LineState.values, repeat=2))


def test_the_table_is_the_designed_one_and_covers_every_state():
    assert set(TRANSITIONS) == set(LineState.values)
    assert {(s, t) for s, targets in TRANSITIONS.items() for t in targets} == ALLOWED


@pytest.mark.parametrize(("source", "target"), sorted(ALLOWED))
@pytest.mark.django_db
def test_an_allowed_transition_moves_the_line(source, target):
    line = IssuanceLineFactory(state=source)

    moved = move([line.pk], to=target, last_error="why")

    line.refresh_from_db()
    assert moved == 1
    assert (line.state, line.last_error) == (target, "why")


@pytest.mark.parametrize(
    ("source", "target"), sorted(pair for pair in EVERY_PAIR if pair not in ALLOWED)
)
@pytest.mark.django_db
def test_a_refused_transition_leaves_the_line_as_it_was(source, target):
    line = IssuanceLineFactory(state=source, last_error="before")

    moved = move([line.pk], to=target, last_error="after")

    line.refresh_from_db()
    assert moved == 0
    assert (line.state, line.last_error) == (source, "before")
    assert not may_move(source, target)


@pytest.mark.parametrize("state", [LineState.CONFIRMED, LineState.REJECTED])
def test_confirmed_and_rejected_are_final(state):
    assert not TRANSITIONS[state]
    assert all(not may_move(state, target) for target in LineState.values)


@pytest.mark.django_db
def test_only_from_narrows_the_sources_a_move_takes():
    failed = IssuanceLineFactory(state=LineState.FAILED)
    awaiting = IssuanceLineFactory(state=LineState.PENDING_APPROVAL)

    moved = move([failed.pk, awaiting.pk], to=LineState.PENDING, only_from=[LineState.FAILED])

    assert moved == 1
    assert IssuanceLine.objects.get(pk=failed.pk).state == LineState.PENDING
    assert IssuanceLine.objects.get(pk=awaiting.pk).state == LineState.PENDING_APPROVAL


def test_only_from_cannot_widen_the_sources():
    with pytest.raises(ValueError, match="cannot move"):
        move([1], to=LineState.PENDING, only_from=[LineState.CONFIRMED])


def test_sources_are_the_reverse_of_the_table():
    for target in LineState.values:
        assert sources_of(target) == {s for s, t in ALLOWED if t == target}
