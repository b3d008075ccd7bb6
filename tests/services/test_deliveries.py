"""The delivery ledger: one message per ticket, written with the confirmation, sent by the
worker through a real SMTP server, retried when the server provably did not take it, never
sent twice by accident (a worker killed mid-send, a refusal then recovery)."""

import datetime as dt
import os
import subprocess
import sys
import threading
from collections import Counter

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from tests.fixtures.mail import email_url
from tests.fixtures.worker import database_url, drain_tasks
from tickets.drafts import HolderData
from tickets.models import (
    AuditEntry,
    Delivery,
    DeliveryChannel,
    DeliveryMode,
    DeliveryState,
    GuestPage,
    IssuanceLine,
    LineState,
)
from tickets.services.deliveries import queueing
from tickets.services.deliveries.queueing import NO_ADDRESS, DeliveryError
from tickets.services.deliveries.sending import INTERRUPTED, send_queued_deliveries
from tickets.services.maintenance import run_maintenance
from tickets.services.sending import send_pending_lines

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def holders(*emails: str) -> tuple[HolderData, ...]:
    return tuple(
        HolderData(full_name=f"Guest Number{i}", email=email)
        for i, email in enumerate(emails, start=1)
    )


def issue_and_confirm(issuing, guests, **overrides):
    """Submit and send to Fourvenues in this process; the deliveries stay queued for a worker."""
    issuance = issuing.submit(guests, **overrides)
    send_pending_lines(issuance_id=issuance.pk)
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.CONFIRMED}
    return issuance


def received(mail_server) -> Counter:
    return Counter(message["To"] for message in mail_server.messages())


def deliveries_of(issuance):
    return list(
        Delivery.objects.filter(ticket__line__issuance=issuance).order_by(
            "ticket__line__position", "id"
        )
    )


# --- Written with the confirmation --------------------------------------------------------


def test_comps_sends_queues_one_email_per_ticket_with_its_guest_page(issuing):
    issuance = issue_and_confirm(issuing, 3)
    deliveries = deliveries_of(issuance)
    assert [(d.channel, d.state, d.recipient) for d in deliveries] == [
        (DeliveryChannel.EMAIL, DeliveryState.QUEUED, f"guest{i}@example.com") for i in (1, 2, 3)
    ]
    assert GuestPage.objects.filter(ticket__line__issuance=issuance).count() == 3
    assert {d.language for d in deliveries} == {settings.LANGUAGE_CODE}


@pytest.mark.parametrize("mode", [DeliveryMode.FOURVENUES, DeliveryMode.HAND_OUT])
def test_other_modes_send_nothing_but_keep_the_guest_pages(issuing, mail_server, mode):
    issuing.credential.fourvenues_sends_tickets = True
    issuing.credential.save(update_fields=["fourvenues_sends_tickets"])
    issuance = issuing.submit(2, delivery_mode=mode)
    drain_tasks()
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.CONFIRMED}
    assert not Delivery.objects.exists()
    assert GuestPage.objects.filter(ticket__line__issuance=issuance).count() == 2
    assert mail_server.messages() == []


def test_a_holder_without_a_usable_address_is_handed_out_and_the_others_still_sent(
    issuing, mail_server
):
    issuance = issuing.submit(holders("ana@example.com", "no-email@venue.invalid"))
    drain_tasks()
    first, second = issuance.lines.order_by("position")
    assert (first.hand_out_reason, second.hand_out_reason) == ("", NO_ADDRESS)
    assert [d.recipient for d in deliveries_of(issuance)] == ["ana@example.com"]
    assert received(mail_server) == {"ana@example.com": 1}


def test_the_guest_language_of_the_line_is_the_message_language(issuing):
    guests = (
        HolderData(full_name="Ana Uno", email="ana@example.com", language="en"),
        HolderData(full_name="Eva Dos", email="eva@example.com", language="es"),
    )
    issuance = issue_and_confirm(issuing, guests)
    assert [d.language for d in deliveries_of(issuance)] == ["en", "es"]


# --- Sent by the worker, once ----------------------------------------------------------------


def test_the_worker_sends_each_queued_message_once(issuing, mail_server):
    issuance = issuing.submit(3)
    drain_tasks()
    drain_tasks()  # running the task again finds nothing left to send
    assert [d.state for d in deliveries_of(issuance)] == [DeliveryState.SENT] * 3
    assert received(mail_server) == {f"guest{i}@example.com": 1 for i in (1, 2, 3)}
    ids = [d.message_id for d in deliveries_of(issuance)]
    assert all(ids)
    assert len(set(ids)) == 3
    kept_ids = {message["Message-ID"].strip() for message in mail_server.messages()}
    assert kept_ids == set(ids)


def test_a_refusal_for_now_is_retried_after_a_backoff_and_sent_once(issuing, mail_server):
    issuance = issue_and_confirm(issuing, 2)
    mail_server.faults.temporary_refusals = 1
    send_queued_deliveries()
    first, second = deliveries_of(issuance)
    assert (first.state, second.state) == (DeliveryState.QUEUED, DeliveryState.SENT)
    assert "451" in first.last_error
    assert first.send_after > timezone.now()
    send_queued_deliveries()  # not before its time
    assert Delivery.objects.get(pk=first.pk).state == DeliveryState.QUEUED

    with time_machine.travel(first.send_after + dt.timedelta(seconds=1)):
        drain_tasks()
    first.refresh_from_db()
    assert (first.state, first.attempts, first.last_error) == (DeliveryState.SENT, 2, "")
    assert received(mail_server) == {"guest1@example.com": 1, "guest2@example.com": 1}


def test_a_mail_server_that_is_down_fails_nothing_else_and_gives_up_with_its_reason(
    issuing, mail_server, settings
):
    issuance = issue_and_confirm(issuing, 2)
    mail_server.stop()  # nothing listens there any more
    settings.COMPS_DELIVERY_ATTEMPTS = 2
    send_queued_deliveries()
    assert {d.state for d in deliveries_of(issuance)} == {DeliveryState.QUEUED}
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        send_queued_deliveries()
    deliveries = deliveries_of(issuance)
    assert {d.state for d in deliveries} == {DeliveryState.FAILED}
    assert all("gave up after 2 attempts" in d.last_error for d in deliveries)
    # The tickets themselves stand: only their delivery failed.
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.CONFIRMED}


def test_an_address_refused_for_good_fails_at_once_and_the_others_go(issuing, mail_server):
    issuance = issue_and_confirm(issuing, 2)
    mail_server.faults.refuse_recipients.add("guest1@example.com")
    send_queued_deliveries()
    first, second = deliveries_of(issuance)
    assert first.state == DeliveryState.FAILED
    assert "550" in first.last_error
    assert first.attempts == 1
    assert second.state == DeliveryState.SENT
    assert received(mail_server) == {"guest2@example.com": 1}


def test_a_real_worker_killed_mid_send_leaves_exactly_one_message_per_ticket(issuing, mail_server):
    # The server has kept the first message and holds its answer; the worker process is killed
    # with SIGKILL meanwhile, as an OOM killer or a power cut would.
    issuance = issue_and_confirm(issuing, 3)
    mail_server.faults.hold = threading.Event()
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload"],
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": database_url(),
            "EMAIL_URL": email_url(mail_server),
            "LOG_LEVEL": "WARNING",
        },
    )
    try:
        assert mail_server.faults.held.wait(timeout=60)
    finally:
        worker.kill()
        worker.wait(timeout=30)
    mail_server.faults.hold.set()
    mail_server.faults.hold = None
    assert [d.state for d in deliveries_of(issuance)] == [
        DeliveryState.SENDING,
        DeliveryState.QUEUED,
        DeliveryState.QUEUED,
    ]

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15), tick=True):
        report = run_maintenance()
        assert (report.stale_tasks, report.stale_deliveries) == (1, 1)
        drain_tasks()

    first, *others = deliveries_of(issuance)
    # Perhaps accepted before the worker died: failed with that said, never resent by itself.
    assert (first.state, first.last_error) == (DeliveryState.FAILED, INTERRUPTED)
    assert [d.state for d in others] == [DeliveryState.SENT] * 2
    assert received(mail_server) == {f"guest{i}@example.com": 1 for i in (1, 2, 3)}


def test_maintenance_queues_the_sending_of_messages_no_task_covers(issuing, mail_server):
    issuance = issue_and_confirm(issuing, 1)
    from django_tasks_db.models import DBTaskResult

    DBTaskResult.objects.all().delete()  # the task was lost
    assert run_maintenance().deliveries_enqueued
    assert not run_maintenance().deliveries_enqueued  # one is waiting now
    drain_tasks()
    assert [d.state for d in deliveries_of(issuance)] == [DeliveryState.SENT]


# --- What staff do --------------------------------------------------------------------------


def test_a_resend_is_deliberate_audited_and_sends_one_more(issuing, mail_server):
    issuance = issuing.submit(1)
    drain_tasks()
    line = issuance.lines.get()
    queueing.resend(line=line, user=issuing.issuer)
    drain_tasks()
    _, again = deliveries_of(issuance)
    assert (again.is_resend, again.requested_by, again.state) == (
        True,
        issuing.issuer,
        DeliveryState.SENT,
    )
    assert received(mail_server) == {"guest1@example.com": 2}
    assert AuditEntry.objects.filter(action="delivery.resend_requested").count() == 1


def test_changing_the_address_resends_there_and_audits_old_and_new(issuing, mail_server):
    issuance = issuing.submit(1)
    drain_tasks()
    line = issuance.lines.get()
    queueing.resend(line=line, user=issuing.issuer, email="  New.Address@Example.com ")
    drain_tasks()
    assert queueing.current_address(line) == "new.address@example.com"
    assert received(mail_server) == {"guest1@example.com": 1, "new.address@example.com": 1}
    entry = AuditEntry.objects.get(action="delivery.email_changed")
    assert (entry.data["from"], entry.data["to"]) == (
        "guest1@example.com",
        "new.address@example.com",
    )
    # The ticket's holder on Fourvenues is not changed: the ledger keeps what was sent there.
    assert IssuanceLine.objects.get(pk=line.pk).email == "guest1@example.com"


def test_a_resend_to_an_unusable_address_changes_nothing(issuing):
    issuance = issue_and_confirm(issuing, 1)
    line = issuance.lines.get()
    with pytest.raises(DeliveryError):
        queueing.resend(line=line, user=issuing.issuer, email="not an address")
    assert Delivery.objects.count() == 1
    assert not AuditEntry.objects.filter(action__startswith="delivery.").exists()


def test_resend_all_failed_resends_only_the_failed_and_bounced(issuing, mail_server):
    issuance = issue_and_confirm(issuing, 3)
    mail_server.faults.refuse_recipients.add("guest2@example.com")
    send_queued_deliveries()
    mail_server.faults.refuse_recipients.clear()
    assert queueing.resend_failed(issuance=issuance, user=issuing.issuer) == 1
    drain_tasks()
    assert received(mail_server) == {f"guest{i}@example.com": 1 for i in (1, 2, 3)}


def test_whatsapp_opens_a_prefilled_message_to_the_holder_with_the_guest_link(issuing):
    guests = (HolderData(full_name="Ana Uno", email="ana@example.com", phone="+34600111222"),)
    issuance = issue_and_confirm(issuing, guests)
    line = issuance.lines.get()
    link = queueing.record_whatsapp(line=line, user=issuing.issuer)
    page = GuestPage.objects.get(ticket__line=line)
    from urllib.parse import parse_qs, urlsplit

    from tickets.guest_links import guest_page_url

    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "wa.me", "/34600111222")
    text = parse_qs(parts.query)["text"][0]
    assert guest_page_url(page) in text
    assert "Ana Uno" in text
    whatsapp = Delivery.objects.get(channel=DeliveryChannel.WHATSAPP)
    assert (whatsapp.state, whatsapp.recipient, whatsapp.requested_by) == (
        DeliveryState.SENT,
        "+34600111222",
        issuing.issuer,
    )
    assert AuditEntry.objects.filter(action="delivery.whatsapp").count() == 1


def test_whatsapp_needs_a_phone(issuing):
    issuance = issue_and_confirm(issuing, 1)
    with pytest.raises(DeliveryError):
        queueing.record_whatsapp(line=issuance.lines.get(), user=issuing.issuer)
    assert not Delivery.objects.filter(channel=DeliveryChannel.WHATSAPP).exists()
