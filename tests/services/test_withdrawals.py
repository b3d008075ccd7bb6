"""Withdrawing a comp end to end: the ledger row, the real worker, the sandbox over HTTP, every
fault. After each scenario nothing was withdrawn twice (the sandbox's refund count of the ticket
is at most 1) and nothing is lost (the withdrawal ends withdrawn or failed, saying the truth the
sandbox holds)."""

import datetime as dt
import time

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.core import mail
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from tests.fixtures.worker import drain_tasks
from tickets.drafts import HolderData
from tickets.models import (
    AuditEntry,
    Delivery,
    DeliveryKind,
    DeliveryMode,
    DeliveryState,
    IssuedTicket,
    LineState,
    RunTrigger,
    VenuePolicy,
    Withdrawal,
    WithdrawalMethod,
    WithdrawalState,
)
from tickets.selectors import search as search_selectors
from tickets.services import maintenance, withdrawals
from tickets.services.reconciliation.runs import execute_run, request_run
from tickets.services.sending import send_pending_lines
from tickets.services.withdrawals import WithdrawalError, request_withdrawal, retry_withdrawal

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

REFUND = "/tickets/refund"


@pytest.fixture
def manager(db) -> User:
    user = User.objects.create_user("mona", email="mona@example.com")
    user.groups.add(Group.objects.get(name="Manager"))
    return user


def issued_ticket(issuing, *, holders=1, through_api: bool = True, drain: bool = True, **overrides):
    issuing.credential.withdraw_through_api = through_api
    issuing.credential.save(update_fields=["withdraw_through_api"])
    issuance = issuing.submit(holders, **overrides)
    if drain:
        drain_tasks()  # the create, and the ticket's e-mail
    else:
        send_pending_lines(issuance_id=issuance.pk)
    line = issuance.lines.get()
    assert line.state == LineState.CONFIRMED
    return IssuedTicket.objects.get(line=line)


def remote_status(issuing, ticket) -> str:
    return issuing.sandbox.store.get(ticket.remote_id)["status"]


def assert_told_the_truth(issuing, ticket) -> Withdrawal:
    """Nothing withdrawn twice, nothing lost: the ledger says what Fourvenues holds."""
    withdrawal = Withdrawal.objects.get(ticket=ticket)
    ticket.refresh_from_db()
    assert issuing.sandbox.refund_count(ticket.remote_id) <= 1
    assert withdrawal.state in (WithdrawalState.WITHDRAWN, WithdrawalState.FAILED)
    if remote_status(issuing, ticket) == "cancelled":
        assert withdrawal.state == WithdrawalState.WITHDRAWN
        assert ticket.withdrawn_at is not None
        assert ticket.status == "cancelled"
        assert ticket.is_valid is False
    else:
        assert withdrawal.state == WithdrawalState.FAILED
        assert withdrawal.last_error
        assert ticket.withdrawn_at is None
    return withdrawal


# --- Through the API, with the real worker ---------------------------------------------------


def test_a_withdrawal_is_recorded_before_any_call_then_sent_once_and_confirmed(issuing, manager):
    ticket = issued_ticket(issuing)

    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Guest misbehaved")

    assert withdrawal.method == WithdrawalMethod.API
    assert Withdrawal.objects.get().state == WithdrawalState.PENDING  # committed, nothing sent
    assert issuing.sandbox.refund_count(ticket.remote_id) == 0
    drain_tasks()
    withdrawal.refresh_from_db()
    assert withdrawal.state == WithdrawalState.WITHDRAWN
    assert withdrawal.attempts == 1
    assert remote_status(issuing, ticket) == "cancelled"
    assert issuing.sandbox.refund_count(ticket.remote_id) == 1
    assert_told_the_truth(issuing, ticket)
    actions = list(
        AuditEntry.objects.filter(target=f"ticket:{ticket.pk}").order_by("id").values_list("action")
    )
    assert [a for (a,) in actions] == ["withdrawal.requested", "withdrawal.confirmed"]
    # Shown withdrawn wherever its status is said.
    ticket.refresh_from_db()
    assert search_selectors.ticket_status_label(
        ticket.is_valid, ticket.status, withdrawn=True
    ) == str(search_selectors.STATUS_LABEL_WITHDRAWN)


@pytest.mark.parametrize(
    ("kind", "params", "cancelled"),
    [
        ("timeout_after_commit", {"seconds": 4}, True),
        ("error_after_commit", {"status": 502}, True),
        ("error_after_commit", {"status": 500}, True),
        ("reset_after_commit", {}, True),
        ("malformed_json", {}, True),
        ("error_before_commit", {"status": 500}, False),
        ("error_before_commit", {"status": 503}, False),
        ("error_before_commit", {"status": 400}, False),
        ("error_before_commit", {"status": 404}, False),
        ("success_false", {}, False),
        ("success_false", {"commit": True}, True),
    ],
    ids=lambda value: (
        str(value) if not isinstance(value, dict) else "-".join(map(str, value.values()))
    ),
)
def test_every_fault_ends_withdrawn_or_failed_with_the_truth_and_never_twice(
    issuing, manager, kind, params, cancelled
):
    ticket = issued_ticket(issuing)
    issuing.sandbox.inject(kind, match_method="POST", match_path=REFUND, **params)

    request_withdrawal(ticket=ticket, user=manager, reason="Duplicate guest")
    drain_tasks()  # the call, then (an ambiguous answer) the lookup, due at once here

    assert (remote_status(issuing, ticket) == "cancelled") is cancelled
    withdrawal = assert_told_the_truth(issuing, ticket)
    assert withdrawal.attempts == 1  # never resent


@pytest.mark.parametrize("kind", ["timeout_after_commit", "error_after_commit", "malformed_json"])
def test_an_ambiguous_answer_is_unknown_and_looked_up_never_resent(issuing, manager, kind):
    ticket = issued_ticket(issuing)
    issuing.sandbox.inject(kind, match_method="POST", match_path=REFUND)
    issuing.sandbox.app.clear_request_log()

    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Duplicate guest")
    withdrawals.process_withdrawal(withdrawal_id=withdrawal.pk)  # the call alone

    withdrawal.refresh_from_db()
    assert withdrawal.state == WithdrawalState.UNKNOWN
    assert "may or may not" in withdrawal.last_error
    drain_tasks()
    withdrawal.refresh_from_db()
    assert withdrawal.state == WithdrawalState.WITHDRAWN
    calls = issuing.sandbox.request_log
    assert [c for c in calls if c[0] == "POST"] == [
        ("POST", f"/integrations/tickets/refund/{ticket.remote_id}")
    ]
    assert ("GET", f"/integrations/tickets/{ticket.remote_id}") in calls
    assert AuditEntry.objects.filter(action="withdrawal.unknown").count() == 1


def test_a_429_puts_it_back_in_the_queue_and_it_is_sent_later_once(issuing, manager):
    ticket = issued_ticket(issuing)
    issuing.sandbox.inject("error_before_commit", status=429, match_path=REFUND)

    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Wrong night")
    drain_tasks()

    withdrawal.refresh_from_db()
    assert withdrawal.state == WithdrawalState.PENDING
    assert withdrawal.next_check_at > timezone.now()
    assert issuing.sandbox.refund_count(ticket.remote_id) == 0
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=1), tick=True):
        drain_tasks()
    withdrawal = assert_told_the_truth(issuing, ticket)
    assert withdrawal.state == WithdrawalState.WITHDRAWN
    assert withdrawal.attempts == 2
    assert issuing.sandbox.refund_count(ticket.remote_id) == 1


def test_a_failed_withdrawal_is_tried_again_only_deliberately(issuing, manager):
    ticket = issued_ticket(issuing)
    issuing.sandbox.inject("success_false", match_path=REFUND)
    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Wrong night")
    drain_tasks()
    withdrawal.refresh_from_db()
    assert withdrawal.state == WithdrawalState.FAILED
    assert "Sandbox fault" in withdrawal.last_error

    maintenance.run_maintenance()
    drain_tasks()
    assert Withdrawal.objects.get().state == WithdrawalState.FAILED  # nothing retries it alone
    with pytest.raises(WithdrawalError, match="Try again"):
        request_withdrawal(ticket=ticket, user=manager, reason="Again")

    retry_withdrawal(withdrawal=withdrawal, user=manager)
    drain_tasks()

    withdrawal = assert_told_the_truth(issuing, ticket)
    assert withdrawal.state == WithdrawalState.WITHDRAWN
    assert AuditEntry.objects.filter(action="withdrawal.retried").count() == 1
    assert issuing.sandbox.refund_count(ticket.remote_id) == 1


def test_a_ticket_cancelled_meanwhile_is_found_cancelled_not_failed(issuing, manager):
    ticket = issued_ticket(issuing)
    issuing.sandbox.store.update(ticket.remote_id, {"status": "cancelled"})  # in the dashboard

    request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    drain_tasks()  # the refund is refused ("already cancelled"); one look says the truth

    withdrawal = assert_told_the_truth(issuing, ticket)
    assert withdrawal.state == WithdrawalState.WITHDRAWN


def test_the_worker_killed_while_sending_leaves_it_unknown_and_looked_up(issuing, manager):
    ticket = issued_ticket(issuing)
    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    # The worker claimed it, sent the refund, and died before settling it.
    assert withdrawals._claim(withdrawal)
    issuing.sandbox.store.refund(ticket.remote_id, 0)

    later = timezone.now() + dt.timedelta(minutes=5)
    with time_machine.travel(later, tick=True):
        report = maintenance.run_maintenance()
        assert report.stale_withdrawals == 1
        withdrawal.refresh_from_db()
        assert withdrawal.state == WithdrawalState.UNKNOWN  # never back to pending
        drain_tasks()

    withdrawal = assert_told_the_truth(issuing, ticket)
    assert withdrawal.state == WithdrawalState.WITHDRAWN
    assert issuing.sandbox.refund_count(ticket.remote_id) == 1  # the dead worker's only


def test_the_scheduler_queues_a_pending_withdrawal_whose_task_was_lost(issuing, manager):
    ticket = issued_ticket(issuing)
    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    DBTaskResult.objects.filter(task_path__endswith="withdraw_ticket").delete()

    assert maintenance.run_maintenance().withdrawals_enqueued == 1
    assert maintenance.run_maintenance().withdrawals_enqueued == 0  # already queued
    drain_tasks()
    withdrawal.refresh_from_db()
    assert withdrawal.state == WithdrawalState.WITHDRAWN


# --- In the Fourvenues dashboard, confirmed by reconciliation ----------------------------------


def test_a_dashboard_withdrawal_waits_and_reconciliation_confirms_it(issuing, manager):
    ticket = issued_ticket(issuing, through_api=False)

    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Guest misbehaved")
    drain_tasks()

    assert withdrawal.method == WithdrawalMethod.DASHBOARD
    assert Withdrawal.objects.get().state == WithdrawalState.AWAITING_DASHBOARD
    assert issuing.sandbox.refund_count(ticket.remote_id) == 0  # Comps called nothing
    issuing.sandbox.store.update(ticket.remote_id, {"status": "cancelled"})  # the manager does
    run = request_run(event=ticket.event, trigger=RunTrigger.COMMAND, full=True, enqueue=False)
    execute_run(run_id=run.pk)

    withdrawal.refresh_from_db()
    ticket.refresh_from_db()
    assert withdrawal.state == WithdrawalState.WITHDRAWN
    assert ticket.withdrawn_at is not None
    assert AuditEntry.objects.filter(action="withdrawal.confirmed").get().data["how"] == (
        "reconciliation"
    )


# --- Who may, and what ------------------------------------------------------------------------


def test_an_issuer_withdraws_their_own_comp_only_within_the_window(issuing, manager):
    ticket = issued_ticket(issuing)
    issuer = issuing.issuer
    with pytest.raises(WithdrawalError, match="manager"):  # 0 minutes: never
        request_withdrawal(ticket=ticket, user=issuer, reason="Typo")

    VenuePolicy.objects.create(pk=1, issuer_withdrawal_minutes=10)
    later = timezone.now() + dt.timedelta(minutes=11)
    with time_machine.travel(later, tick=False), pytest.raises(WithdrawalError, match="manager"):
        request_withdrawal(ticket=ticket, user=issuer, reason="Typo")
    other = User.objects.create_user("otto")
    other.groups.add(Group.objects.get(name="Issuer"))
    with pytest.raises(WithdrawalError):
        request_withdrawal(ticket=ticket, user=other, reason="Not mine")

    withdrawal = request_withdrawal(ticket=ticket, user=issuer, reason="Typo in the name")
    assert withdrawal.requested_by == issuer
    assert Withdrawal.objects.count() == 1


def test_a_reason_is_required_and_a_ticket_is_withdrawn_once(issuing, manager):
    ticket = issued_ticket(issuing)
    with pytest.raises(WithdrawalError, match="why"):
        request_withdrawal(ticket=ticket, user=manager, reason="   ")
    assert not Withdrawal.objects.exists()

    request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    with pytest.raises(WithdrawalError, match="already being withdrawn"):
        request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    drain_tasks()
    ticket.refresh_from_db()
    with pytest.raises(WithdrawalError, match="already withdrawn"):
        request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    assert issuing.sandbox.refund_count(ticket.remote_id) == 1


# --- The guest is told ------------------------------------------------------------------------


def test_the_guest_is_told_by_email_and_the_ticket_mail_not_yet_sent_is_stopped(
    issuing, manager, mail_server
):
    ticket = issued_ticket(issuing, drain=False)  # its ticket e-mail still queued
    ticket_mail = Delivery.objects.get(ticket=ticket)
    assert ticket_mail.state == DeliveryState.QUEUED

    withdrawal = request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    withdrawals.process_withdrawal(withdrawal_id=withdrawal.pk)  # before the mail worker runs
    ticket_mail.refresh_from_db()
    assert ticket_mail.state == DeliveryState.FAILED
    drain_tasks()

    notice = Delivery.objects.get(ticket=ticket, kind=DeliveryKind.WITHDRAWN)
    assert notice.state == DeliveryState.SENT
    (message,) = mail_server.messages()  # the notice only: the ticket itself never went
    assert message["To"] == ticket.line.email
    assert "withdrawn" in message["Subject"]
    assert issuing.event.name in message["Subject"]
    assert not [part for part in message.iter_attachments()]  # no PDF, no QR
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "/g/" not in body
    assert ticket.code not in body


def test_the_notice_is_in_the_guest_language_and_only_when_comps_sends(issuing, manager):
    holder = HolderData(full_name="Lucía Pérez", email="lucia@example.com", language="es")
    ticket = issued_ticket(issuing, holders=(holder,))
    request_withdrawal(ticket=ticket, user=manager, reason="Duplicate")
    mail.outbox.clear()
    drain_tasks()
    (message,) = mail.outbox
    assert "retirada" in message.subject.lower()

    other = issued_ticket(issuing, delivery_mode=DeliveryMode.HAND_OUT)
    request_withdrawal(ticket=other, user=manager, reason="Duplicate")
    drain_tasks()
    assert not Delivery.objects.filter(ticket=other, kind=DeliveryKind.WITHDRAWN).exists()


def wait_until(condition, timeout: float = 20.0) -> None:
    """Poll `condition` (the worker runs in another thread) until it holds or time is up."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_end_to_end_with_the_background_worker_and_the_mail_server(
    issuing, manager, mail_server, worker
):
    issuance = issuing.submit(1)
    issuing.credential.withdraw_through_api = True
    issuing.credential.save(update_fields=["withdraw_through_api"])
    wait_until(lambda: len(mail_server.messages()) == 1)  # issued, and its ticket e-mailed
    ticket = IssuedTicket.objects.get(line__issuance=issuance)
    issuing.sandbox.inject("reset_after_commit", match_method="POST", match_path=REFUND)

    request_withdrawal(ticket=ticket, user=manager, reason="Guest misbehaved")

    wait_until(lambda: len(mail_server.messages()) == 2)  # the notice
    withdrawal = assert_told_the_truth(issuing, ticket)
    assert withdrawal.state == WithdrawalState.WITHDRAWN
    assert issuing.sandbox.refund_count(ticket.remote_id) == 1
    notice = mail_server.messages()[-1]
    assert "withdrawn" in notice["Subject"]
