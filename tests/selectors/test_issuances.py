"""Issuance selectors not covered by a page's own tests: earlier comps of a holder."""

import datetime as dt

import pytest
from django.utils import timezone

from tests import factories as f
from tickets.models import LineState
from tickets.selectors import issuances as issuance_selectors

pytestmark = pytest.mark.django_db


def comp(event_option, email, *, state=LineState.CONFIRMED, at=None, by=None):
    issuance = f.IssuanceFactory(price_option=event_option, **({"created_by": by} if by else {}))
    if at is not None:
        issuance.created_at = at
        issuance.save(update_fields=["created_at"])
    return f.IssuanceLineFactory(issuance=issuance, email=email, state=state)


def test_earlier_comps_counts_each_holders_comps_for_the_event_and_names_the_latest():
    option = f.PriceOptionFactory()
    now = timezone.now()
    comp(option, "ana@example.com", at=now - dt.timedelta(days=2))
    ivy = f.issuer(username="ivy", first_name="Ivy", last_name="Issuer")
    comp(option, "ana@example.com", at=now - dt.timedelta(hours=1), by=ivy)
    nameless = f.issuer(username="max", first_name="", last_name="")
    # Still being checked with Fourvenues: it may be a ticket, so it counts.
    comp(option, "bo@example.com", state=LineState.UNKNOWN, at=now, by=nameless)

    found = issuance_selectors.earlier_comps(
        event=option.rate.event, emails=["bo@example.com", "cy@example.com", "ana@example.com"]
    )

    assert found == [
        issuance_selectors.EarlierComps(
            email="bo@example.com", count=1, latest_at=now, latest_by="max"
        ),
        issuance_selectors.EarlierComps(
            email="ana@example.com",
            count=2,
            latest_at=now - dt.timedelta(hours=1),
            latest_by="Ivy Issuer",
        ),
    ]


def test_earlier_comps_ignores_failed_and_rejected_lines_and_other_events():
    option = f.PriceOptionFactory()
    comp(option, "ana@example.com", state=LineState.FAILED)
    comp(option, "ana@example.com", state=LineState.REJECTED)
    comp(f.PriceOptionFactory(), "ana@example.com")  # another event

    assert (
        issuance_selectors.earlier_comps(event=option.rate.event, emails=["ana@example.com"]) == []
    )


# --- What needs the issuer: failed lines to retry ----------------------------------------------


def test_issuances_needing_action_are_the_users_own_with_failed_lines_newest_first():
    iris = f.issuer()
    older = f.IssuanceFactory(created_by=iris)
    f.IssuanceLineFactory(issuance=older, state=LineState.FAILED)
    newer = f.IssuanceFactory(created_by=iris)
    f.IssuanceLineFactory(issuance=newer, state=LineState.FAILED)
    f.IssuanceLineFactory(issuance=newer, state=LineState.FAILED)
    f.IssuanceLineFactory(issuance=newer, state=LineState.CONFIRMED)
    for state in (LineState.CONFIRMED, LineState.REJECTED, LineState.UNKNOWN, LineState.PENDING):
        f.IssuanceLineFactory(issuance=f.IssuanceFactory(created_by=iris), state=state)
    f.IssuanceLineFactory(issuance=f.IssuanceFactory(), state=LineState.FAILED)  # not hers

    needing = list(issuance_selectors.issuances_needing_action(iris))

    assert needing == [newer, older]
    assert [(i.failed_count, i.confirmed_count, i.line_count) for i in needing] == [
        (2, 1, 3),
        (1, 0, 1),
    ]


def test_a_manager_needing_action_is_only_their_own_too():
    manager = f.manager()
    own = f.IssuanceFactory(created_by=manager)
    f.IssuanceLineFactory(issuance=own, state=LineState.FAILED)
    f.IssuanceLineFactory(issuance=f.IssuanceFactory(), state=LineState.FAILED)

    assert list(issuance_selectors.issuances_needing_action(manager)) == [own]
    assert issuance_selectors.needing_action_count(manager) == 2  # everyone's, for their list
    assert issuance_selectors.needing_action_count(manager, only_mine=True) == 1


def test_issuances_needing_action_is_one_query(django_assert_num_queries):
    iris = f.issuer()
    for _ in range(3):
        issuance = f.IssuanceFactory(created_by=iris)
        f.IssuanceLineFactory(issuance=issuance, state=LineState.FAILED)

    with django_assert_num_queries(1):
        rows = list(issuance_selectors.issuances_needing_action(iris)[:5])
        for issuance in rows:  # what a home page card shows of each
            _ = (issuance.event.name, issuance.rate.name, issuance.failed_count)

    assert len(rows) == 3


def test_a_retried_line_no_longer_needs_action():
    iris = f.issuer()
    issuance = f.IssuanceFactory(created_by=iris)
    failed = f.IssuanceLineFactory(issuance=issuance, state=LineState.FAILED)

    failed.state = LineState.PENDING
    failed.save()

    assert not issuance_selectors.issuances_needing_action(iris).exists()
    assert issuance_selectors.needing_action_count(iris) == 0
