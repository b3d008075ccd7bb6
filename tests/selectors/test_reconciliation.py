"""Reads of reconciliation for other pages: the open count, and how a settled reason reads."""

import pytest
from django.utils import timezone
from django.utils.translation import override

from tests import factories
from tickets.models import Discrepancy, DiscrepancyKind, DiscrepancyState, ReconciliationRun
from tickets.selectors import reconciliation as reconciliation_selectors

pytestmark = pytest.mark.django_db


def _discrepancy(run, remote_id, **fields):
    return Discrepancy.objects.create(
        run=run,
        event=run.event,
        environment=run.event.environment,
        remote_id=remote_id,
        kind=DiscrepancyKind.DRIFT,
        last_seen_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def run(credential):
    return ReconciliationRun.objects.create(
        event=factories.EventFactory(), credential=credential, trigger="schedule", full=True
    )


def test_open_discrepancy_count_counts_only_open_ones_of_every_event(
    run, credential, django_assert_num_queries
):
    other = ReconciliationRun.objects.create(
        event=factories.EventFactory(), credential=credential, trigger="schedule", full=True
    )
    _discrepancy(run, "a")
    _discrepancy(other, "b")
    _discrepancy(run, "c", state=DiscrepancyState.ACKNOWLEDGED)
    _discrepancy(run, "d", state=DiscrepancyState.RESOLVED)

    with django_assert_num_queries(1):
        assert reconciliation_selectors.open_discrepancy_count() == 2


def test_a_reason_written_by_a_run_reads_in_the_language_a_managers_as_written(run):
    by_run = _discrepancy(
        run, "a", state=DiscrepancyState.RESOLVED, reason="No longer found by reconciliation #12."
    )
    by_manager = _discrepancy(
        run, "b", state=DiscrepancyState.ACKNOWLEDGED, reason="Edited at the door"
    )

    with override("es"):
        assert reconciliation_selectors.settled_reason(by_run) == (
            "Desapareció sola: la conciliación n.º 12 ya no la encontró."
        )
        assert reconciliation_selectors.settled_reason(by_manager) == "Edited at the door"
    with override("en"):
        assert reconciliation_selectors.settled_reason(by_run) == (
            "Gone by itself: reconciliation #12 no longer found it."
        )
