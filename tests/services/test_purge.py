"""The purge of holders' personal data: comps issued through the real flow (the sandbox over
HTTP, so the raw answers, call records and mirror are real), a drift found by reconciliation,
a WhatsApp delivery, a draft and a document search in a session, saved searches; then the
purge, and a dump of every table of the database that must hold none of the values, while the
reports, the search's counts and reconciliation give what they gave before."""

from __future__ import annotations

import datetime as dt
import io
import threading
import uuid
from dataclasses import asdict

import pytest
import time_machine
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from tests.fixtures.sandbox import api_post, comp_body
from tests.fixtures.worker import drain_tasks
from tickets import document_searches
from tickets.drafts import SESSION_DRAFTS, HolderData, load_draft, store_draft
from tickets.models import (
    ApiCall,
    AuditEntry,
    Delivery,
    DeliveryChannel,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyState,
    EventPolicy,
    IssuanceLine,
    IssuedTicket,
    RunStatus,
    RunTrigger,
    SavedSearch,
    TicketSupplement,
)
from tickets.redaction import has_personal_data
from tickets.selectors import purge as purge_selectors
from tickets.selectors import reports as report_selectors
from tickets.selectors import search as search_selectors
from tickets.services import purge as purge_service
from tickets.services.deliveries import queueing
from tickets.services.exports import start_export
from tickets.services.maintenance import run_maintenance
from tickets.services.purge import PurgeError, purge_due, purge_event
from tickets.services.reconciliation.runs import execute_run, request_run
from tickets.services.search import DOCUMENT_DIGEST_PARAM
from tickets.services.sending import send_pending_lines
from tickets.text import document_digest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Distinctive values, in ASCII so that they read the same in every column's text (SQLite keeps
# JSON with non-ASCII characters escaped).
DOCUMENTS = ("X7306158Q", "Y4417229R")
PHONES = ("+34611223344", "+34622334455")
DRIFTED_PHONE = "+34699887766"  # the phone Fourvenues' dashboard gives the first holder
BIRTHDAYS = (dt.date(1971, 2, 3), dt.date(1969, 11, 28))
ADDRESSES = ("Calle Purgatorio 77", "Avenida Olvido 313")
POSTAL_CODES = ("QX4471", "QZ5582")


def holders() -> tuple[HolderData, ...]:
    return tuple(
        HolderData(
            full_name=f"Holder Purgeable{i}",
            email=f"holder{i}@example.com",
            phone=PHONES[i],
            gender="female",
            birthday=BIRTHDAYS[i],
            address=ADDRESSES[i],
            country="ES",
            postal_code=POSTAL_CODES[i],
            document_type="nie",
            document_number=DOCUMENTS[i],
        )
        for i in range(2)
    )


def forbidden_values() -> list[str]:
    values: list[str] = []
    for i in range(2):
        phone = PHONES[i]
        values += [phone, phone.removeprefix("+"), phone.removeprefix("+34")]
        values += [DOCUMENTS[i], document_digest(DOCUMENTS[i])]
        values += [BIRTHDAYS[i].isoformat(), ADDRESSES[i], POSTAL_CODES[i]]
    values += [DRIFTED_PHONE, DRIFTED_PHONE.removeprefix("+"), DRIFTED_PHONE.removeprefix("+34")]
    return values


def dump_everything() -> str:
    """Every installed app's rows as `dumpdata` writes them, and every table of the database
    read raw (sessions, the task queue, the history tables, whatever the ORM lists or not)."""
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    parts = [out.getvalue()]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend(repr(row) for row in cursor.fetchall())
    return "\n".join(parts)


def report_numbers(manager) -> dict[str, object]:
    """What the reports and the search count: must not change with the purge."""
    start, end = report_selectors.default_report_period()
    numbers: dict[str, object] = {
        grouping: [
            asdict(row)
            for row in report_selectors.ticket_report(
                grouping=grouping, date_from=start, date_to=end, environment="alpha"
            ).rows
        ]
        for grouping in report_selectors.REPORT_GROUPINGS
    }
    numbers["upcoming"] = [
        (n.event.pk, n.comps, n.checked_in, n.people)
        for n in report_selectors.upcoming_nights(days=60)
    ]
    numbers["top_issuers"] = [asdict(r) for r in report_selectors.top_issuers(days=7)]
    for status in ("", "valid", "invalid", "refunded", "withdrawn"):
        filters = search_selectors.TicketSearchFilters(status=status)
        numbers[f"search:{status}"] = search_selectors.search_tickets(
            user=manager, filters=filters
        ).count()
    for checked_in in ("yes", "no"):
        filters = search_selectors.TicketSearchFilters(checked_in=checked_in)
        numbers[f"checked_in:{checked_in}"] = search_selectors.search_tickets(
            user=manager, filters=filters
        ).count()
    filters = search_selectors.TicketSearchFilters(q="Purgeable")
    numbers["by_name"] = sorted(
        search_selectors.search_tickets(user=manager, filters=filters).values_list("pk", flat=True)
    )
    return numbers


def reconcile(issuing) -> object:
    run = request_run(event=issuing.event, trigger=RunTrigger.COMMAND, full=True, enqueue=False)
    run = execute_run(run_id=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    return run


def after_the_horizon(issuing) -> dt.datetime:
    return purge_selectors.purge_due_at(issuing.event.night) + dt.timedelta(minutes=1)


@pytest.fixture
def issued(issuing, manager):
    """Two comps issued with every personal field filled, checked in, drifted, delivered."""
    issuance = issuing.submit(holders())
    send_pending_lines(issuance_id=issuance.pk)
    lines = list(issuance.lines.order_by("position"))
    assert {line.state for line in lines} == {"confirmed"}
    first, second = (line.ticket for line in lines)
    # Fourvenues' dashboard: the first holder's phone changed, the second came in.
    issuing.sandbox.store.update(first.remote_id, {"phone": DRIFTED_PHONE})
    issuing.sandbox.store.update(
        second.remote_id, {"enter": 1, "entry_date": int(timezone.now().timestamp())}
    )
    run = reconcile(issuing)
    assert run.drift == 1
    queueing.record_whatsapp(line=lines[0], user=manager)
    # A reviewed draft of the same event, and a search by document number, in a session.
    session = SessionStore()
    store_draft(session, uuid.uuid4(), issuing.draft(holders()))
    document_searches.remember(session, document_digest(DOCUMENTS[0]), hint="•••58Q")
    session.save()
    SavedSearch.objects.create(
        owner=manager,
        name="By document",
        query=f"{DOCUMENT_DIGEST_PARAM}={lines[1].document_digest}",
    )
    SavedSearch.objects.create(owner=manager, name="By phone", query="q=611223344&sort=-issued")
    return issuance, session.session_key


def test_before_the_purge_the_values_are_everywhere(issued):
    """The test below proves something: without a purge the dump holds every value."""
    dump = dump_everything()
    for value in (PHONES[0], DRIFTED_PHONE, ADDRESSES[1], POSTAL_CODES[0]):
        assert value in dump
    assert BIRTHDAYS[0].isoformat() in dump
    assert document_digest(DOCUMENTS[1]) in dump
    assert Delivery.objects.filter(channel=DeliveryChannel.WHATSAPP, recipient=PHONES[0]).exists()
    assert Discrepancy.objects.filter(kind=DiscrepancyKind.DRIFT).exists()


def test_the_purge_removes_every_value_from_every_table_and_the_counts_stay(
    issuing, issued, manager
):
    _issuance, session_key = issued
    before = report_numbers(manager)
    phone_search = search_selectors.TicketSearchFilters(q="611223344")
    assert search_selectors.search_tickets(user=manager, filters=phone_search).exists()

    report = purge_due(now=after_the_horizon(issuing))

    (result,) = report.events
    assert result.event == issuing.event
    assert result.counts.lines == 2
    assert result.counts.tickets == 2
    assert result.counts.deliveries == 1
    assert result.counts.discrepancies == 1
    assert result.counts.drafts == 1
    assert result.counts.document_searches == 1
    assert result.counts.saved_searches == 2
    assert result.counts.api_calls > 0

    dump = dump_everything()
    for value in forbidden_values():
        assert value not in dump, value
    # The document number is kept encrypted: its field is empty, not merely unreadable.
    for line in IssuanceLine.objects.all():
        assert (line.document_number, line.document_digest, line.document_type) == ("", "", "")
        assert (line.phone, line.address, line.postal_code, line.birthday) == ("", "", "", None)
        assert line.purged_at is not None
        # What counts and reconciliation need stays.
        assert line.full_name.startswith("Holder Purgeable")
        assert line.email.endswith("example.com")
    for ticket in IssuedTicket.objects.all():
        assert ticket.purged_at is not None
        assert not has_personal_data(ticket.raw)
        assert ticket.raw["_id"] == ticket.remote_id  # the rest of the raw answer stays
        assert ticket.name.startswith("Holder Purgeable")
        assert ticket.search_text.split()[0] == "holder"
    assert not any(has_personal_data(s.raw) for s in TicketSupplement.objects.all())
    for call in ApiCall.objects.all():
        assert call.method
        assert call.path
        assert call.duration_ms is not None
        assert not has_personal_data(call.request_body)
        assert not has_personal_data(call.response_body)
    assert EventPolicy.objects.get(event=issuing.event).purged_at is not None
    # The draft of the purged event is gone from the session; the session itself stays.
    data = SessionStore(session_key=session_key).load()
    assert data[SESSION_DRAFTS] == {}
    assert document_searches.tokens(SessionStore(session_key=session_key)) == {}
    assert set(SavedSearch.objects.values_list("query", flat=True)) == {"", "sort=-issued"}

    entry = AuditEntry.objects.get(action="personal_data.purged")
    assert entry.target == f"event:{issuing.event.pk}"
    assert entry.data["counts"]["lines"] == 2
    assert entry.data["manual"] is False

    assert report_numbers(manager) == before
    assert not search_selectors.search_tickets(user=manager, filters=phone_search).exists()

    # Reconciliation still matches every ticket and raises nothing new (the drifted phone is
    # no longer compared); its own answers, naming a purged event, keep no personal field.
    open_before = set(
        Discrepancy.objects.filter(state=DiscrepancyState.OPEN).values_list("pk", flat=True)
    )
    run = reconcile(issuing)
    assert (run.matched, run.drift, run.unknown_locally, run.missing_remotely) == (2, 0, 0, 0)
    assert (
        not Discrepancy.objects.filter(state=DiscrepancyState.OPEN)
        .exclude(pk__in=open_before)
        .exists()
    )
    assert report_numbers(manager) == before
    dump = dump_everything()
    for value in forbidden_values():
        assert value not in dump, value


def test_the_audit_log_never_holds_the_values(issuing, issued):
    purge_due(now=after_the_horizon(issuing))
    entries = repr(list(AuditEntry.objects.values_list("target_label", "data")))
    for value in forbidden_values():
        assert value not in entries


def test_an_export_of_a_search_for_a_phone_keeps_no_phone_in_the_audit_log(issued, manager):
    """The audit log is append-only and outlives the purge: its writers never put a holder's
    phone in it (an export logs its filter, and the search box may hold a phone)."""
    filters = search_selectors.TicketSearchFilters(q="+34 611 223 344")
    export = start_export(user=manager, filters=filters, columns=None, fmt="csv")
    assert b"".join(export.stream)
    entry = AuditEntry.objects.get(action="tickets.exported")
    assert entry.data["row_count"] == 1
    assert "611" not in repr(entry.data)


def test_nothing_of_the_event_goes_before_the_horizon(issuing, issued):
    """A minute before its horizon the event keeps everything (its call records, made today,
    are older than the horizon by then: they go by their own age, tested with the others)."""
    _issuance, session_key = issued
    saved = set(SavedSearch.objects.values_list("query", flat=True))

    report = purge_due(now=after_the_horizon(issuing) - dt.timedelta(minutes=2))

    assert report.events == []
    assert IssuanceLine.objects.filter(purged_at__isnull=True).count() == 2
    assert set(IssuanceLine.objects.values_list("phone", flat=True)) == set(PHONES)
    assert IssuanceLine.objects.exclude(document_digest="").count() == 2
    assert (
        IssuedTicket.objects.filter(purged_at__isnull=True, postal_code__in=POSTAL_CODES).count()
        == 2
    )
    assert all(has_personal_data(t.raw) for t in IssuedTicket.objects.all())
    assert Delivery.objects.filter(recipient=PHONES[0]).exists()
    assert has_personal_data(Discrepancy.objects.get().remote_snapshot)
    assert not AuditEntry.objects.filter(action="personal_data.purged").exists()
    assert not EventPolicy.objects.filter(purged_at__isnull=False).exists()
    (key,) = SessionStore(session_key=session_key).load()[SESSION_DRAFTS]
    assert load_draft(SessionStore(session_key=session_key), uuid.UUID(key)) is not None
    assert set(SavedSearch.objects.values_list("query", flat=True)) == saved


def test_call_records_lose_their_personal_fields_once_older_than_the_horizon(issuing, issued):
    calls = ApiCall.objects.count()
    assert any(has_personal_data(c.request_body) for c in ApiCall.objects.all())
    horizon = dt.timedelta(days=purge_selectors.purge_after_days())

    assert purge_due(now=timezone.now() + horizon - dt.timedelta(minutes=1)).old_api_calls == 0
    report = purge_due(now=timezone.now() + horizon + dt.timedelta(minutes=1))

    assert report.old_api_calls > 0
    assert ApiCall.objects.count() == calls  # method, path, status and duration stay
    for call in ApiCall.objects.all():
        assert not has_personal_data(call.request_body)
        assert not has_personal_data(call.response_body)


def test_a_dry_run_counts_and_changes_nothing(issuing, issued):
    before = dump_everything()

    report = purge_due(now=after_the_horizon(issuing), dry_run=True)

    (result,) = report.events
    assert result.dry_run
    assert (result.counts.lines, result.counts.tickets, result.counts.deliveries) == (2, 2, 1)
    assert result.counts.discrepancies == 1
    assert dump_everything() == before


def test_purging_twice_changes_nothing_the_second_time(issuing, issued):
    now = after_the_horizon(issuing)
    purge_due(now=now)
    first = dump_everything()

    report = purge_due(now=now + dt.timedelta(hours=1))

    assert report.events == []  # nothing left to do: the event is no longer due
    assert purge_event(event=issuing.event, now=now).counts.total == 0
    assert AuditEntry.objects.filter(action="personal_data.purged").count() == 1
    assert dump_everything() == first


def test_a_manager_may_purge_an_event_once_its_night_is_over(issuing, issued, manager):
    night_over = purge_selectors.end_of_night_on(issuing.event.night)
    with pytest.raises(PurgeError):
        purge_event(event=issuing.event, now=night_over - dt.timedelta(minutes=1), actor=manager)
    assert IssuanceLine.objects.filter(purged_at__isnull=False).count() == 0

    result = purge_event(event=issuing.event, now=night_over, actor=manager, manual=True)

    assert result.counts.lines == 2
    entry = AuditEntry.objects.get(action="personal_data.purged")
    assert (entry.actor, entry.data["manual"]) == (manager, True)
    assert not IssuanceLine.objects.exclude(phone="").exists()


def test_adopted_strays_go_by_their_own_night(issuing, issued):
    issuance, _ = issued
    stray = IssuedTicket.objects.filter(line__issuance=issuance).first()
    # As if adopted without a line, for an event Comps does not know.
    IssuedTicket.objects.filter(pk=stray.pk).update(
        line=None, event=None, event_night=dt.date(2020, 5, 1), phone="+34633445566"
    )

    report = purge_due(now=timezone.now())

    assert report.events == []  # the event itself is not due
    assert report.strays is not None
    assert report.strays.counts.tickets == 1
    stray.refresh_from_db()
    assert (stray.phone, stray.address, stray.postal_code) == ("", "", "")
    assert stray.purged_at is not None
    assert not has_personal_data(stray.raw)
    assert IssuanceLine.objects.exclude(phone="").count() == 2  # the other lines are not due


def test_two_purges_at_once_purge_once(issuing, issued):
    now = after_the_horizon(issuing)
    barrier = threading.Barrier(2)
    results: list[object] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(purge_due(now=now))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    purged_lines = sum(r.counts.lines for report in results for r in report.events)
    assert purged_lines == 2  # each line once, by one of them
    assert AuditEntry.objects.filter(action="personal_data.purged").count() == 1
    assert not IssuanceLine.objects.exclude(phone="").exists()


def test_a_large_event_is_purged_a_chunk_at_a_time(issuing, issued, monkeypatch):
    monkeypatch.setattr(purge_service, "CHUNK", 1)

    (result,) = purge_due(now=after_the_horizon(issuing)).events

    assert (result.counts.lines, result.counts.tickets) == (2, 2)
    assert not IssuanceLine.objects.filter(purged_at__isnull=True).exists()
    assert not IssuedTicket.objects.filter(purged_at__isnull=True).exists()
    dump = dump_everything()
    for value in forbidden_values():
        assert value not in dump, value


def test_the_scheduler_queues_the_purge_hourly_and_the_task_runs_it(issuing, issued, settings):
    assert run_maintenance().purge_enqueued
    assert not run_maintenance().purge_enqueued  # one is waiting
    settings.COMPS_PURGE_AFTER_DAYS = 0
    with time_machine.travel(purge_selectors.end_of_night_on(issuing.event.night), tick=False):
        drain_tasks()
    assert not IssuanceLine.objects.exclude(phone="").exists()
    assert AuditEntry.objects.filter(action="personal_data.purged").count() == 1


def test_what_reconciliation_finds_later_for_a_purged_event_goes_at_the_next_run(issuing, issued):
    """A comp made by hand on Fourvenues (our channel) after the purge turns up as unknown
    here, its snapshot carrying the holder's phone: the next scheduled purge removes it."""
    now = after_the_horizon(issuing)
    purge_due(now=now)
    body = comp_body(issuing.sandbox)
    body["tickets"][0]["phone"] = "+34644556677"
    assert api_post(issuing.sandbox, "/tickets/", body).status_code == 200
    run = reconcile(issuing)
    assert run.unknown_locally == 1
    assert has_personal_data(
        Discrepancy.objects.get(kind=DiscrepancyKind.UNKNOWN_LOCALLY).remote_snapshot
    )

    (result,) = purge_due(now=now + dt.timedelta(hours=1)).events

    assert result.counts.discrepancies == 1
    assert "644556677" not in dump_everything()
    assert AuditEntry.objects.filter(action="personal_data.purged").count() == 2
