"""Approving and rejecting issuances that wait for a manager: the ledger moves, the send is
queued with the decision, four eyes, one decision only, and the requester's e-mail."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone, translation

from tests import factories
from tests.approval_support import awaiting_issuance, queued
from tests.fixtures.issuing import IssuingSetup
from tests.fixtures.worker import drain_tasks
from tickets.models import (
    ApprovalRequest,
    ApprovalState,
    AuditEntry,
    Issuance,
    IssuanceStatus,
    LineState,
    UserPreferences,
)
from tickets.selectors import approvals as approval_selectors
from tickets.services import approvals, policies
from tickets.services.approvals import ApprovalError


def states(issuance: Issuance) -> list[str]:
    return list(issuance.lines.order_by("position").values_list("state", flat=True))


def audit_of(issuance: Issuance, action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action, target=f"issuance:{issuance.pk}"))


@pytest.mark.django_db
class TestDeciding:
    def test_approving_puts_the_lines_in_the_queue_and_queues_their_send(self, manager):
        issuance = awaiting_issuance(holders=3)

        decisions = approvals.approve(issuances=[issuance], user=manager, reason="Artist's crew")

        assert [a.issuance_id for a in decisions.decided] == [issuance.pk]
        assert decisions.refused == []
        assert states(issuance) == [LineState.PENDING] * 3
        issuance.refresh_from_db()
        assert issuance.status == IssuanceStatus.IN_PROGRESS
        assert len(queued("send_issuance", issuance.pk)) == 1
        approval = ApprovalRequest.objects.get(issuance=issuance)
        assert approval.state == ApprovalState.APPROVED
        assert approval.decided_by == manager
        assert approval.decided_at is not None
        assert approval.decision_reason == "Artist's crew"
        (entry,) = audit_of(issuance, "approval.approved")
        assert entry.actor == manager
        assert entry.data["reason"] == "Artist's crew"
        assert len(queued("notify_approval_decision", approval.pk)) == 1

    def test_rejecting_settles_the_lines_rejected_and_sends_nothing(self, manager):
        issuance = awaiting_issuance(holders=2)

        approvals.reject(issuances=[issuance], user=manager, reason="Over budget this week")

        assert states(issuance) == [LineState.REJECTED] * 2
        issuance.refresh_from_db()
        assert issuance.status == IssuanceStatus.REJECTED
        assert queued("send_issuance") == []
        approval = ApprovalRequest.objects.get(issuance=issuance)
        assert (approval.state, approval.decision_reason) == (
            ApprovalState.REJECTED,
            "Over budget this week",
        )
        (entry,) = audit_of(issuance, "approval.rejected")
        assert entry.data["reason"] == "Over budget this week"
        assert len(queued("notify_approval_decision", approval.pk)) == 1

    def test_a_rejection_needs_a_reason(self, manager):
        issuance = awaiting_issuance()

        with pytest.raises(ApprovalError, match="Say why"):
            approvals.reject(issuances=[issuance], user=manager, reason="   ")

        assert states(issuance) == [LineState.PENDING_APPROVAL] * 2
        assert ApprovalRequest.objects.get(issuance=issuance).state == ApprovalState.REQUESTED
        assert audit_of(issuance, "approval.rejected") == []

    def test_the_requester_can_never_approve_their_own_comps(self):
        requester = factories.manager()
        issuance = awaiting_issuance(requester=requester)

        with pytest.raises(ApprovalError, match="another manager must approve"):
            approvals.approve(issuances=[issuance], user=requester)
        with pytest.raises(ApprovalError, match="another manager must approve"):
            approvals.reject(issuances=[issuance], user=requester, reason="No")

        assert states(issuance) == [LineState.PENDING_APPROVAL] * 2
        assert ApprovalRequest.objects.get(issuance=issuance).state == ApprovalState.REQUESTED
        assert queued("send_issuance") == []
        assert queued("notify_approval_decision") == []

    def test_in_bulk_the_own_requests_are_refused_and_the_others_decided(self):
        deciding = factories.manager()
        own = awaiting_issuance(requester=deciding)
        others = [awaiting_issuance(), awaiting_issuance()]
        requests = list(ApprovalRequest.objects.order_by("id"))

        decisions = approvals.approve(requests=requests, user=deciding, reason="")

        assert sorted(a.issuance_id for a in decisions.decided) == sorted(i.pk for i in others)
        ((refused, why),) = decisions.refused
        assert refused.issuance_id == own.pk
        assert f"#{own.pk}" in why
        assert "yours" in why
        assert states(own) == [LineState.PENDING_APPROVAL] * 2
        for issuance in others:
            assert states(issuance) == [LineState.PENDING] * 2
            assert len(queued("send_issuance", issuance.pk)) == 1

    def test_a_second_decision_on_a_decided_request_changes_nothing(self, manager):
        issuance = awaiting_issuance()
        # Both managers opened the queue before either decided: each holds it as `requested`.
        seen_by_first = ApprovalRequest.objects.get(issuance=issuance)
        seen_by_second = ApprovalRequest.objects.get(issuance=issuance)
        approvals.approve(requests=[seen_by_first], user=manager)

        with pytest.raises(ApprovalError, match="decided already"):
            approvals.reject(requests=[seen_by_second], user=factories.manager(), reason="No")
        with pytest.raises(ApprovalError, match="decided already"):
            approvals.approve(requests=[seen_by_second], user=factories.manager())

        approval = ApprovalRequest.objects.get(issuance=issuance)
        assert (approval.state, approval.decided_by) == (ApprovalState.APPROVED, manager)
        assert states(issuance) == [LineState.PENDING] * 2
        assert len(queued("send_issuance", issuance.pk)) == 1
        assert len(audit_of(issuance, "approval.approved")) == 1
        assert audit_of(issuance, "approval.rejected") == []

    def test_only_approvers_decide(self, issuer):
        issuance = awaiting_issuance()

        with pytest.raises(ApprovalError, match="may not"):
            approvals.approve(issuances=[issuance], user=issuer)

        assert states(issuance) == [LineState.PENDING_APPROVAL] * 2

    def test_an_issuance_that_does_not_wait_cannot_be_decided(self, manager):
        issuance = factories.IssuanceFactory()

        with pytest.raises(ApprovalError, match="does not wait"):
            approvals.approve(issuances=[issuance], user=manager)

    def test_comps_for_a_night_gone_by_cannot_be_approved_only_rejected(self, manager):
        past = factories.PriceOptionFactory(
            rate__event__night=timezone.localdate() - dt.timedelta(days=1)
        )
        issuance = awaiting_issuance(price_option=past)

        with pytest.raises(ApprovalError, match="already taken place"):
            approvals.approve(issuances=[issuance], user=manager)
        approvals.reject(issuances=[issuance], user=manager, reason="Too late")

        assert states(issuance) == [LineState.REJECTED] * 2

    def test_an_overlong_reason_is_refused_whole(self, manager):
        issuance = awaiting_issuance()

        with pytest.raises(ApprovalError, match="under 500"):
            approvals.reject(issuances=[issuance], user=manager, reason="x" * 501)

        assert ApprovalRequest.objects.get(issuance=issuance).state == ApprovalState.REQUESTED


# --- With the worker: the approved comps are issued, and the requester is told ---------------

transactional = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def waiting_on_the_sandbox(issuing: IssuingSetup, *, holders: int) -> Issuance:
    return awaiting_issuance(
        holders=holders,
        requester=issuing.issuer,
        credential=issuing.credential,
        price_option=issuing.option,
        channel=issuing.channel,
        reason=issuing.reason,
    )


@transactional
def test_approved_comps_are_issued_end_to_end(issuing):
    issuance = waiting_on_the_sandbox(issuing, holders=3)
    drain_tasks()
    assert issuing.sandbox.tickets() == []  # waiting: nothing is sent

    approvals.approve(issuances=[issuance], user=factories.manager())
    drain_tasks()

    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.COMPLETED
    assert states(issuance) == [LineState.CONFIRMED] * 3
    remote = issuing.sandbox.tickets()
    assert sorted(t["qr_code"] for t in remote) == sorted(
        issuance.lines.values_list("qr_code", flat=True)
    )


@transactional
def test_rejected_comps_are_never_sent(issuing):
    issuance = waiting_on_the_sandbox(issuing, holders=2)

    approvals.reject(issuances=[issuance], user=factories.manager(), reason="Not tonight")
    drain_tasks()

    assert issuing.sandbox.tickets() == []
    assert states(issuance) == [LineState.REJECTED] * 2


@transactional
def test_the_requester_is_told_in_spanish_through_the_mail_server(mail_server):
    requester = factories.issuer(email="rocio@example.com", first_name="Rocío")
    UserPreferences.objects.create(user=requester, language="es")
    issuance = awaiting_issuance(requester=requester, holders=2)
    decider = factories.manager(first_name="Marta", last_name="Jefa")

    approvals.reject(issuances=[issuance], user=decider, reason="Cupo agotado este fin de semana")
    drain_tasks()

    (message,) = mail_server.messages()
    assert message["To"] == "rocio@example.com"
    assert message["Subject"] == f"Rechazadas: tus invitaciones para {issuance.event.name}"
    body = message.get_content()
    assert "Las 2 invitaciones que pediste" in body
    assert "Cupo agotado este fin de semana" in body
    assert "Marta Jefa" in body
    assert f"/issuances/{issuance.pk}/" in body


@transactional
def test_the_requester_is_told_in_english_when_they_chose_it(mail_server):
    requester = factories.issuer(email="ian@example.com")
    UserPreferences.objects.create(user=requester, language="en")
    issuance = awaiting_issuance(requester=requester, holders=1)

    approvals.approve(issuances=[issuance], user=factories.manager(), reason="Fine")
    drain_tasks()

    (message,) = [m for m in mail_server.messages() if m["To"] == "ian@example.com"]
    assert message["Subject"] == f"Approved: your comps for {issuance.event.name}"
    assert "was approved" in message.get_content()


@transactional
def test_without_a_chosen_language_the_venue_default_is_used(mail_server, settings):
    settings.LANGUAGE_CODE = "es"
    requester = factories.issuer(email="nadie@example.com")
    issuance = awaiting_issuance(requester=requester, holders=1)

    approvals.approve(issuances=[issuance], user=factories.manager())
    drain_tasks()

    (message,) = [m for m in mail_server.messages() if m["To"] == "nadie@example.com"]
    assert message["Subject"].startswith("Aprobadas:")


@transactional
def test_a_requester_without_an_address_is_not_mailed(mail_server):
    requester = factories.issuer(email="")
    issuance = awaiting_issuance(requester=requester, holders=1)

    approvals.reject(issuances=[issuance], user=factories.manager(), reason="No")
    drain_tasks()

    assert mail_server.messages() == []


@transactional
def test_of_managers_deciding_at_once_exactly_one_wins():
    issuance = awaiting_issuance(holders=2)
    deciders = [factories.manager() for _ in range(4)]
    stale = [ApprovalRequest.objects.get(issuance=issuance) for _ in deciders]
    barrier = threading.Barrier(len(deciders))
    won: list[str] = []
    refused: list[str] = []
    errors: list[BaseException] = []

    def decide(index: int) -> None:
        translation.activate("en")  # a new thread starts in the venue's language
        try:
            barrier.wait()
            if index % 2:
                approvals.reject(requests=[stale[index]], user=deciders[index], reason="No")
            else:
                approvals.approve(requests=[stale[index]], user=deciders[index])
            won.append("rejected" if index % 2 else "approved")
        except ApprovalError as error:
            refused.append(str(error))
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(deciders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(won) == 1
    assert len(refused) == 3
    assert refused == [f"Issuance #{issuance.pk} was decided already."] * 3, refused
    approval = ApprovalRequest.objects.get(issuance=issuance)
    assert approval.state == won[0]
    expected = LineState.PENDING if won[0] == "approved" else LineState.REJECTED
    assert states(issuance) == [expected] * 2
    assert len(queued("send_issuance", issuance.pk)) == (1 if won[0] == "approved" else 0)
    decided = AuditEntry.objects.filter(action__in=["approval.approved", "approval.rejected"])
    assert decided.count() == 1


@transactional
def test_an_issuance_over_the_venues_size_waits_and_once_approved_is_issued(issuing):
    manager = factories.manager()
    policies.set_venue_policy(approval_over_size=2, issuer_withdrawal_minutes=0, user=manager)

    issuance = issuing.submit(3)
    drain_tasks()

    assert states(issuance) == [LineState.PENDING_APPROVAL] * 3
    assert issuing.sandbox.tickets() == []
    (waiting,) = approval_selectors.waiting_requests()
    assert waiting.issuance_id == issuance.pk
    assert approval_selectors.grounds_in_words(waiting.grounds) == [
        "3 holders: more than the 2 above which a manager approves."
    ]

    approvals.approve(requests=[waiting], user=manager, reason="Birthday table")
    drain_tasks()

    assert states(issuance) == [LineState.CONFIRMED] * 3
    assert len(issuing.sandbox.tickets()) == 3
