"""Settling the differences a reconciliation found: adopt, acknowledge, re-check."""

from __future__ import annotations

import pytest

from tests.factories import manager
from tests.services.reconciliation.support import plant, reconcile
from tickets.models import AuditEntry, Discrepancy, DiscrepancyKind, DiscrepancyState, IssuedTicket
from tickets.services.reconciliation import discrepancies
from tickets.services.reconciliation.errors import ReconciliationError

pytestmark = pytest.mark.django_db


def test_adopting_an_unknown_ticket_records_it_linked_to_no_issuance(issuing):
    planted = plant(issuing)
    reconcile(issuing)
    unknown = Discrepancy.objects.get(kind=DiscrepancyKind.UNKNOWN_LOCALLY)
    boss = manager()

    ticket = discrepancies.adopt(discrepancy_id=unknown.pk, actor=boss)

    assert ticket.remote_id == planted.by_hand["_id"]
    assert ticket.line is None
    assert ticket.adopted_at is not None
    unknown.refresh_from_db()
    assert (unknown.state, unknown.settled_by, unknown.ticket) == (
        DiscrepancyState.ADOPTED,
        boss,
        ticket,
    )
    entry = AuditEntry.objects.get(action="discrepancy.adopted")
    assert entry.actor == boss
    assert reconcile(issuing).unknown_locally == 0, "adopted: now matched"


def test_acknowledging_closes_with_a_reason_and_is_audited(issuing):
    plant(issuing)
    reconcile(issuing)
    boss = manager()
    ids = list(Discrepancy.objects.values_list("pk", flat=True))

    closed = discrepancies.acknowledge(discrepancy_ids=ids, reason="Box office mix-up", actor=boss)

    assert closed == 3
    assert set(Discrepancy.objects.values_list("state", "reason")) == {
        (DiscrepancyState.ACKNOWLEDGED, "Box office mix-up")
    }
    assert AuditEntry.objects.filter(action="discrepancy.acknowledged").count() == 3


def test_an_acknowledged_difference_is_not_raised_again_until_it_changes(issuing):
    planted = plant(issuing)
    reconcile(issuing)
    discrepancies.acknowledge(
        discrepancy_ids=list(Discrepancy.objects.values_list("pk", flat=True)),
        reason="Known",
        actor=manager(),
    )

    quiet = reconcile(issuing)
    issuing.sandbox.store.update(planted.drifted.remote_id, {"name": "Yet Another Name"})
    changed = reconcile(issuing)

    assert (quiet.drift, quiet.missing_remotely, quiet.unknown_locally) == (0, 0, 0)
    assert (changed.drift, changed.missing_remotely, changed.unknown_locally) == (1, 0, 0)
    reopened = Discrepancy.objects.get(state=DiscrepancyState.OPEN)
    assert reopened.details["name"]["remote"] == "Yet Another Name"


def test_acknowledging_without_a_reason_changes_nothing(issuing):
    plant(issuing)
    reconcile(issuing)

    with pytest.raises(ReconciliationError, match="Say why"):
        discrepancies.acknowledge(
            discrepancy_ids=list(Discrepancy.objects.values_list("pk", flat=True)),
            reason="  ",
            actor=manager(),
        )

    assert Discrepancy.objects.filter(state=DiscrepancyState.OPEN).count() == 3
    assert not AuditEntry.objects.filter(action="discrepancy.acknowledged").exists()


def test_a_recheck_resolves_a_difference_that_went_away_and_keeps_one_that_did_not(issuing):
    planted = plant(issuing)
    reconcile(issuing)
    drift = Discrepancy.objects.get(kind=DiscrepancyKind.DRIFT)
    missing = Discrepancy.objects.get(kind=DiscrepancyKind.MISSING_REMOTELY)
    issuing.sandbox.store.update(planted.drifted.remote_id, {"name": "Guest Number3"})
    boss = manager()

    assert discrepancies.recheck(discrepancy_id=drift.pk, actor=boss).state == "resolved"
    assert discrepancies.recheck(discrepancy_id=missing.pk, actor=boss).state == "open"
    assert AuditEntry.objects.filter(action="discrepancy.rechecked").count() == 2


def test_settling_an_already_settled_discrepancy_is_refused(issuing):
    plant(issuing)
    reconcile(issuing)
    unknown = Discrepancy.objects.get(kind=DiscrepancyKind.UNKNOWN_LOCALLY)
    discrepancies.adopt(discrepancy_id=unknown.pk, actor=manager())

    with pytest.raises(ReconciliationError, match="already adopted"):
        discrepancies.adopt(discrepancy_id=unknown.pk, actor=manager())
    assert IssuedTicket.objects.filter(remote_id=unknown.remote_id).count() == 1
