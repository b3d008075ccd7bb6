"""The morning-after summary: due from COMPS_SUMMARY_HOUR the morning after the night, sent once
(run twice or at once), to every active manager and admin in their language, through a real
SMTP server; the scheduler queues it."""

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests import factories
from tickets.models import AuditEntry, EventPolicy, UserPreferences
from tickets.selectors import summaries as summary_selectors
from tickets.services import maintenance, summaries

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MADRID = ZoneInfo("Europe/Madrid")
SATURDAY = dt.date(2026, 3, 21)
SUNDAY_BEFORE_THE_HOUR = dt.datetime(2026, 3, 22, 10, 59, tzinfo=MADRID)
SUNDAY_AT_THE_HOUR = dt.datetime(2026, 3, 22, 11, 0, tzinfo=MADRID)


def _comp(event, *, issuer, admits=1, entered=0, **fields):
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event))
    issuance = factories.IssuanceFactory(price_option=option, created_by=issuer)
    line = factories.IssuanceLineFactory(issuance=issuance, state="confirmed")
    return factories.IssuedTicketFactory(line=line, admits=admits, entered=entered, **fields)


@pytest.fixture
def night(alpha_credential):
    event = factories.EventFactory(name="Saturday Club", night=SATURDAY)
    ana = factories.issuer(username="ana", first_name="Ana", last_name="Ruiz")
    _comp(event, issuer=ana, admits=3, entered=2)
    _comp(event, issuer=ana, admits=1, entered=0)
    _comp(event, issuer=ana, admits=2, entered=0, withdrawn_at=SUNDAY_BEFORE_THE_HOUR)
    return event


@pytest.fixture
def people():
    english = factories.manager(username="max", email="max@example.com")
    spanish = factories.admin(username="sol", email="sol@example.com")
    UserPreferences.objects.create(user=spanish, language="es")
    factories.manager(username="gone", email="gone@example.com", is_active=False)
    factories.manager(username="nomail", email="")
    factories.issuer(username="iris", email="iris@example.com")
    return english, spanish


def _by_recipient(mail_server):
    return {message["To"]: message for message in mail_server.messages()}


def test_nothing_is_due_before_the_hour(night, people, mail_server):
    with time_machine.travel(SUNDAY_BEFORE_THE_HOUR, tick=False):
        assert not summary_selectors.events_due_for_summary(now=SUNDAY_BEFORE_THE_HOUR).exists()
        assert summaries.send_due_summaries() == []
    assert mail_server.messages() == []
    assert not EventPolicy.objects.filter(summary_sent_at__isnull=False).exists()


def test_at_the_hour_every_manager_and_admin_gets_it_once_in_their_language(
    night, people, mail_server
):
    with time_machine.travel(SUNDAY_AT_THE_HOUR, tick=False):
        (sent,) = summaries.send_due_summaries()
        assert summaries.send_due_summaries() == []  # a second pass sends nothing

    assert (sent.event, sent.recipients, sent.failed) == (night, 2, 0)
    messages = _by_recipient(mail_server)
    assert set(messages) == {"max@example.com", "sol@example.com"}

    english = messages["max@example.com"]
    body = english.get_content()
    assert english["Subject"] == "Morning after: Saturday Club, 21 Mar 2026"
    assert "Comps given: 2" in body
    assert "People admitted: 4" in body
    assert "People who came: 2" in body
    assert "No-show rate: 50.0 %" in body
    assert "Withdrawn: 1" in body
    assert "Open discrepancies: 0" in body
    assert "Ana Ruiz: 2 comps, 4 people admitted, 2 came, no-show 50.0 %, 1 withdrawn" in body
    assert f"http://127.0.0.1:8000/reports/events/{night.pk}/summary/" in body

    spanish = messages["sol@example.com"].get_content()
    assert "Invitaciones dadas: 2" in spanish
    assert "Personas admitidas: 4" in spanish
    assert "50,0 %" in spanish
    assert "People admitted" not in spanish

    policy = EventPolicy.objects.get(event=night)
    assert policy.summary_sent_at == SUNDAY_AT_THE_HOUR
    (entry,) = AuditEntry.objects.filter(action="event_summary.sent")
    assert entry.target == f"event:{night.pk}"
    assert entry.data == {
        "recipients": 2,
        "failed": 0,
        "comps": 2,
        "people": 4,
        "came": 2,
        "withdrawn": 1,
        "open_discrepancies": 0,
    }


def test_an_event_whose_rules_were_set_keeps_them_and_is_still_summarised(
    night, people, mail_server
):
    EventPolicy.objects.create(event=night, approval_required=False)

    with time_machine.travel(SUNDAY_AT_THE_HOUR, tick=False):
        assert len(summaries.send_due_summaries()) == 1

    policy = EventPolicy.objects.get(event=night)
    assert policy.summary_sent_at is not None
    assert policy.approval_required is False
    assert len(mail_server.messages()) == 2


def test_sent_once_when_two_run_at_the_same_time(night, people, mail_server):
    barrier = threading.Barrier(2)
    results = []
    errors = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(summaries.send_due_summaries(now=SUNDAY_AT_THE_HOUR))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    with time_machine.travel(SUNDAY_AT_THE_HOUR, tick=False):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    assert errors == []
    assert sorted(len(r) for r in results) == [0, 1]
    assert len(mail_server.messages()) == 2
    assert AuditEntry.objects.filter(action="event_summary.sent").count() == 1


def test_the_claim_is_given_back_when_no_message_could_be_sent(night, people, mail_server):
    mail_server.stop()  # nothing listens any more

    with time_machine.travel(SUNDAY_AT_THE_HOUR, tick=False):
        assert summaries.send_due_summaries() == []

    assert EventPolicy.objects.get(event=night).summary_sent_at is None
    assert not AuditEntry.objects.filter(action="event_summary.sent").exists()


def test_one_refused_recipient_does_not_stop_the_others(night, people, mail_server):
    mail_server.faults.refuse_recipients.add("sol@example.com")

    with time_machine.travel(SUNDAY_AT_THE_HOUR, tick=False):
        (sent,) = summaries.send_due_summaries()
        assert summaries.send_due_summaries() == []

    assert (sent.recipients, sent.failed) == (1, 1)
    assert set(_by_recipient(mail_server)) == {"max@example.com"}


def test_the_hour_is_a_setting(night, people, mail_server, settings):
    settings.COMPS_SUMMARY_HOUR = 9
    nine = dt.datetime(2026, 3, 22, 9, 0, tzinfo=MADRID)

    with time_machine.travel(nine, tick=False):
        assert len(summaries.send_due_summaries()) == 1


def test_old_nights_and_nights_without_comps_are_not_summarised(night, people, mail_server):
    factories.EventFactory(name="Quiet night", night=SATURDAY)  # no comps
    old = factories.EventFactory(name="Long ago", night=dt.date(2026, 3, 1))
    _comp(old, issuer=factories.issuer())

    with time_machine.travel(SUNDAY_AT_THE_HOUR, tick=False):
        sent = summaries.send_due_summaries()

    assert [s.event for s in sent] == [night]


def test_the_scheduler_queues_the_summaries_when_one_is_due(night, people):
    task_path = "tickets.tasks.send_event_summaries"
    with time_machine.travel(SUNDAY_BEFORE_THE_HOUR, tick=False):
        assert maintenance.enqueue_due_summaries(now=SUNDAY_BEFORE_THE_HOUR) is False
    with time_machine.travel(SUNDAY_AT_THE_HOUR, tick=False):
        assert maintenance.run_maintenance().summaries_enqueued is True
        # Already waiting: not queued twice.
        assert maintenance.enqueue_due_summaries(now=SUNDAY_AT_THE_HOUR) is False
    queued = DBTaskResult.objects.filter(task_path=task_path, status=TaskResultStatus.READY)
    assert queued.count() == 1
