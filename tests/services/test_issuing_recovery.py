"""Nothing stays stuck: concurrent submits, a worker that dies mid-batch, lost tasks."""

import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest
import time_machine
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tests import factories as f
from tests.fixtures.worker import drain_tasks
from tests.services.test_issuing_flow import assert_mirror_matches_sandbox, states
from tickets.fourvenues.endpoints import FourvenuesClient
from tickets.models import Issuance, IssuanceLine, IssuanceStatus, IssuedTicket, LineState
from tickets.services.credentials import build_client
from tickets.services.issuance import submit_issuance
from tickets.services.ledger import match_tickets, refresh_status, settle_matching
from tickets.services.maintenance import run_maintenance
from tickets.services.mirror import mirror_tickets
from tickets.services.sending import _claim, create_request_for, send_pending_lines

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def test_concurrent_submits_of_one_form_create_one_issuance(issuing):
    key = uuid.uuid4()
    draft = issuing.draft(3)
    barrier = threading.Barrier(6)
    results: list[tuple[int, bool]] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            barrier.wait()
            issuance, created = submit_issuance(
                idempotency_key=key, draft=draft, user=issuing.issuer
            )
            results.append((issuance.pk, created))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len({pk for pk, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert Issuance.objects.count() == 1
    assert IssuanceLine.objects.count() == 3
    drain_tasks()
    assert len(issuing.sandbox.tickets()) == 3


def _die_while_sending(issuing, issuance, *, reached_fourvenues: bool) -> IssuanceLine:
    """What a worker killed mid-call leaves behind: the line claimed `sending`, perhaps sent."""
    batch = _claim([issuance.lines.order_by("position").first()])
    if reached_fourvenues:
        build_client(issuing.credential).create_tickets(create_request_for(issuance, batch))
    for task in DBTaskResult.objects.filter(status=TaskResultStatus.READY):
        task.claim("worker-that-dies")  # its task stays RUNNING forever
    (line,) = batch
    return line


@pytest.mark.parametrize(
    ("reached", "expected"), [(True, LineState.CONFIRMED), (False, LineState.FAILED)]
)
def test_a_line_left_sending_by_a_dead_worker_is_resolved_not_resent(issuing, reached, expected):
    issuance = issuing.submit(2)
    line = _die_while_sending(issuing, issuance, reached_fourvenues=reached)

    drain_tasks()  # the dead worker's task is RUNNING: nothing else runs it
    line.refresh_from_db()
    assert line.state == LineState.SENDING
    assert run_maintenance().stale_sending_lines == 0  # a live call could still be in flight

    later = timezone.now() + dt.timedelta(minutes=15)
    with time_machine.travel(later, tick=True):
        report = run_maintenance()
        assert (report.stale_tasks, report.stale_sending_lines) == (1, 1)
        assert report.sends_enqueued == 1  # the second holder, never claimed
        drain_tasks()

    assert states(issuance) == [expected, LineState.CONFIRMED]
    creates = [r for r in issuing.sandbox.request_log if r[0] == "POST"]
    assert len(creates) == (2 if reached else 1)
    assert_mirror_matches_sandbox(issuing)


def test_maintenance_does_not_queue_work_a_task_already_covers(issuing):
    issuing.submit(1)
    report = run_maintenance()
    assert (report.sends_enqueued, report.resolves_enqueued) == (0, 0)
    sends = DBTaskResult.objects.filter(
        status=TaskResultStatus.READY, task_path="tickets.tasks.send_issuance"
    )
    assert sends.count() == 1


def test_a_lost_send_task_is_queued_again(issuing):
    issuance = issuing.submit(1)
    DBTaskResult.objects.all().delete()  # e.g. the task table was cleaned by hand
    assert run_maintenance().sends_enqueued == 1
    drain_tasks()
    assert states(issuance) == [LineState.CONFIRMED]


def test_a_ticket_adopted_before_its_create_answer_is_settled_never_duplicated(issuing):
    issuance = issuing.submit(1)
    (line,) = _claim([issuance.lines.get()])
    tickets = build_client(issuing.credential).create_tickets(create_request_for(issuance, [line]))
    # Someone mirrors the new ticket (e.g. adopts it from reconciliation) before we settle it.
    mirror_tickets(pairs=[(tickets[0], None)], environment=issuing.credential.environment)

    with pytest.raises(IntegrityError):
        settle_matching(issuance, match_tickets([line], tickets))

    line.refresh_from_db()
    assert line.state == LineState.SENDING  # nothing half-written; the resolver takes it over
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15), tick=True):
        assert run_maintenance().stale_sending_lines == 1
        drain_tasks()
    assert states(issuance) == [LineState.CONFIRMED]
    assert IssuedTicket.objects.get().line_id == line.pk
    assert len(issuing.sandbox.tickets()) == 1


def test_a_line_another_worker_claimed_is_not_claimed_again(issuing):
    issuance = issuing.submit(2)
    first, second = issuance.lines.order_by("position")
    stale_copy = IssuanceLine.objects.get(pk=first.pk)  # read by a second worker earlier
    assert _claim([first]) == [first]

    # The second worker's chunk holds the line already taken and a free one: it gets only the
    # free one, and the taken line keeps its claim.
    claimed = _claim([stale_copy, second])

    assert [line.pk for line in claimed] == [second.pk]
    first.refresh_from_db()
    assert (first.state, first.attempts) == (LineState.SENDING, 1)


def test_a_worker_stopped_after_its_last_call_leaves_the_status_as_current_as_the_lines(
    issuing, monkeypatch
):
    issuance = issuing.submit(2)

    def stop_the_worker(client: FourvenuesClient) -> None:
        raise SystemExit("stopped")  # the moment after the last call was settled

    monkeypatch.setattr(FourvenuesClient, "close", stop_the_worker)
    with pytest.raises(SystemExit):
        send_pending_lines(issuance_id=issuance.pk)

    # The last settle and the status were committed together: nothing is left for a refresh.
    issuance.refresh_from_db()
    assert states(issuance) == [LineState.CONFIRMED] * 2
    assert issuance.status == IssuanceStatus.COMPLETED


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks are postgresql's; SQLite runs one write transaction at a time",
)
def test_a_status_refresh_waits_for_one_in_progress_and_reads_what_it_committed():
    issuance = f.IssuanceFactory(status=IssuanceStatus.IN_PROGRESS)
    f.IssuanceLineFactory(issuance=issuance, state=LineState.CONFIRMED)
    last = f.IssuanceLineFactory(issuance=issuance, state=LineState.SENDING)
    refreshed: list[str] = []

    def refresh() -> None:
        try:
            refreshed.append(refresh_status(Issuance.objects.get(pk=issuance.pk)))
        finally:
            connection.close()

    # Another process settles the last line and holds the issuance while it refreshes; a
    # refresh that starts meanwhile must not store the picture from before that commit.
    with transaction.atomic():
        Issuance.objects.select_for_update().get(pk=issuance.pk)
        IssuanceLine.objects.filter(pk=last.pk).update(state=LineState.CONFIRMED)
        thread = threading.Thread(target=refresh)
        thread.start()
        _wait_until_a_query_waits_for_a_lock()
    thread.join()

    assert refreshed == [IssuanceStatus.COMPLETED]
    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.COMPLETED


def _wait_until_a_query_waits_for_a_lock() -> None:
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # In a transaction, pg_stat_activity keeps its first answer unless told to look again.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
            time.sleep(0.005)  # polling a condition, with a deadline
    raise AssertionError("the other refresh never reached the issuance's lock")


def test_two_workers_sending_one_issuance_send_each_line_once(issuing):
    issuance = issuing.submit(6)
    barrier = threading.Barrier(2)

    def worker() -> None:
        barrier.wait()
        try:
            send_pending_lines(issuance_id=issuance.pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert states(issuance) == [LineState.CONFIRMED] * 6
    assert len(issuing.sandbox.tickets()) == 6
    assert IssuanceLine.objects.filter(issuance=issuance, attempts=1).count() == 6
    assert_mirror_matches_sandbox(issuing)


def _database_url() -> str:
    """The test database, as a DATABASE_URL another process can use."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db["USER"] or "postgres"
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return (
        f"postgres://{user}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


def test_a_real_worker_killed_mid_call_leaves_nothing_stuck(issuing):
    # The create reaches Fourvenues and is stored, then the answer never comes; meanwhile the
    # worker process is killed with SIGKILL, as an OOM killer or a power cut would.
    issuing.sandbox.inject("timeout_after_commit", seconds=60, match_method="POST")
    issuance = issuing.submit(3)
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-startup-delay", "--no-reload"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": _database_url(), "LOG_LEVEL": "WARNING"},
    )
    try:
        issuing.sandbox.wait_for_tickets(1, timeout=30)
    finally:
        worker.kill()
        worker.wait(timeout=30)
    assert states(issuance) == [LineState.SENDING, LineState.PENDING, LineState.PENDING]

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=15), tick=True):
        report = run_maintenance()
        assert (report.stale_tasks, report.stale_sending_lines) == (1, 1)
        drain_tasks()

    assert states(issuance) == [LineState.CONFIRMED] * 3
    assert len([r for r in issuing.sandbox.request_log if r[0] == "POST"]) == 3
    assert_mirror_matches_sandbox(issuing)
