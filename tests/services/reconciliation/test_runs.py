"""Reconciliation runs against the sandbox over HTTP: every category on a planted data set,
incremental runs, paging, faults in the middle of a run, and lines settled on the way."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests.services.reconciliation.support import (
    issue_through_comps,
    open_discrepancies,
    plant,
    reconcile,
)
from tickets.fourvenues.sandbox.documents import iso_ms
from tickets.models import (
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyState,
    IssuanceLine,
    IssuedTicket,
    LineState,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
    TicketChange,
)
from tickets.services.reconciliation import runs
from tickets.services.reconciliation.errors import ReconciliationError
from tickets.services.sending import send_pending_lines

pytestmark = pytest.mark.django_db


def test_a_full_run_sorts_every_difference_into_its_category(issuing):
    planted = plant(issuing)

    run = reconcile(issuing)

    assert run.status == RunStatus.SUCCEEDED, run.error
    assert (run.remote_tickets, run.matched, run.updated) == (6, 3, 2)
    assert (run.missing_remotely, run.unknown_locally, run.drift) == (1, 1, 1)
    assert open_discrepancies(DiscrepancyKind.MISSING_REMOTELY) == {planted.deleted.remote_id}
    assert open_discrepancies(DiscrepancyKind.UNKNOWN_LOCALLY) == {planted.by_hand["_id"]}
    assert open_discrepancies(DiscrepancyKind.DRIFT) == {planted.drifted.remote_id}
    drift = Discrepancy.objects.get(kind=DiscrepancyKind.DRIFT)
    assert drift.details == {"name": {"local": "Guest Number3", "remote": "Somebody Else"}}
    unknown = Discrepancy.objects.get(kind=DiscrepancyKind.UNKNOWN_LOCALLY)
    assert unknown.details == {
        "looks_ours_because": ["our channel", "zero price on a rate we issue comps on"]
    }
    assert "12345678Z" not in str(unknown.remote_snapshot), "never a full document number"


def test_matched_tickets_take_the_remote_state_and_keep_its_history(issuing):
    planted = plant(issuing)

    run = reconcile(issuing)

    checked_in = IssuedTicket.objects.get(pk=planted.checked_in.pk)
    assert checked_in.entered == 1
    assert checked_in.entry_date == dt.datetime.fromtimestamp(1_800_000_000, tz=dt.UTC)
    cancelled = IssuedTicket.objects.get(pk=planted.cancelled.pk)
    assert (cancelled.status, cancelled.is_valid) == ("cancelled", False)
    changes = {
        (change.ticket_id, change.field, change.old, change.new)
        for change in TicketChange.objects.filter(run=run)
    }
    assert (planted.checked_in.pk, "entered", "0", "1") in changes
    assert (planted.cancelled.pk, "status", "activated", "cancelled") in changes
    assert {pk for pk, *_ in changes} == {planted.checked_in.pk, planted.cancelled.pk}
    drifted = IssuedTicket.objects.get(pk=planted.drifted.pk)
    assert drifted.name == "Guest Number3", "drift is for a manager to settle, not overwritten"


def test_a_second_run_updates_open_discrepancies_instead_of_duplicating_them(issuing):
    plant(issuing)
    first = reconcile(issuing)

    second = reconcile(issuing)

    assert second.status == RunStatus.SUCCEEDED
    assert Discrepancy.objects.filter(state=DiscrepancyState.OPEN).count() == 3
    assert set(Discrepancy.objects.values_list("run", flat=True)) == {second.pk}
    assert second.updated == 0, "the first run already brought the mirror up to date"
    assert first.pk != second.pk


def test_a_discrepancy_no_longer_true_is_resolved_by_the_next_run(issuing):
    planted = plant(issuing)
    reconcile(issuing)
    issuing.sandbox.store.update(planted.drifted.remote_id, {"name": "Guest Number3"})

    reconcile(issuing)

    drift = Discrepancy.objects.get(kind=DiscrepancyKind.DRIFT)
    assert drift.state == DiscrepancyState.RESOLVED


def test_ordinary_sales_are_never_flagged(issuing):
    planted = plant(issuing)

    reconcile(issuing)

    assert not Discrepancy.objects.filter(remote_id=planted.ordinary_sale["_id"]).exists()
    assert not IssuedTicket.objects.filter(remote_id=planted.ordinary_sale["_id"]).exists()


def test_an_incremental_run_picks_up_only_what_changed_since_the_last(issuing, monkeypatch):
    # Without the safety overlap, exactly the tickets updated after the previous run's newest.
    monkeypatch.setattr(runs, "INCREMENTAL_OVERLAP", dt.timedelta(0))
    tickets = issue_through_comps(issuing, 4)
    reconcile(issuing)
    issuing.sandbox.store.update(tickets[1].remote_id, {"enter": 1})
    issuing.sandbox.store.delete(tickets[2].remote_id)

    run = reconcile(issuing, full=False)

    assert not run.full
    assert run.since is not None
    # The changed ticket, and the previous run's newest one: the start is inclusive.
    assert run.remote_tickets == 2
    assert run.updated == 1
    assert run.missing_remotely == 0, "only a full run can tell a ticket is missing"
    assert IssuedTicket.objects.get(pk=tickets[1].pk).entered == 1
    assert run.high_water_mark > ReconciliationRun.objects.order_by("pk").first().high_water_mark


def test_without_a_previous_run_an_incremental_request_runs_full(issuing):
    issue_through_comps(issuing, 1)

    run = reconcile(issuing, full=False)

    assert run.full
    assert run.since is None


def test_paging_crosses_page_boundaries_without_losing_or_repeating_tickets(issuing):
    mirrored = issue_through_comps(issuing, 2)
    event_id = issuing.event.remote_id
    start = timezone.now() - dt.timedelta(hours=1)
    # 1,001 more tickets issued by hand with our channel: three pages of 500, 500 and 3.
    loaded = issuing.sandbox.store.load(
        {
            "event_id": event_id,
            "channel_id": issuing.channel.remote_id,
            "name": f"Hand {i}",
            "email": f"hand{i}@example.com",
            "created_at": iso_ms(int(start.timestamp() * 1000) + i),
        }
        for i in range(1001)
    )

    run = reconcile(issuing)

    assert run.remote_tickets == 1003
    assert run.api_calls == 3
    assert run.unknown_locally == 1001
    assert open_discrepancies(DiscrepancyKind.UNKNOWN_LOCALLY) == {t["_id"] for t in loaded}
    assert run.matched == len(mirrored)


def test_a_run_rate_limited_in_the_middle_fails_and_changes_nothing(issuing, settings):
    settings.FOURVENUES_GET_RETRIES = 1
    tickets = issue_through_comps(issuing, 2)
    issuing.sandbox.store.update(tickets[0].remote_id, {"enter": 1})
    issuing.sandbox.store.load(
        {"event_id": issuing.event.remote_id, "channel_id": issuing.channel.remote_id}
        for _ in range(600)
    )
    # One token, refilled every 1,000 s: the first page answers, every later request
    # (retries included) is throttled.
    issuing.sandbox.inject(
        "rate_limit", times=None, match_method="GET", match_path="/tickets", per_second=0.001
    )

    run = reconcile(issuing)

    assert run.status == RunStatus.FAILED
    assert "too many requests" in run.error.lower() or "rate" in run.error.lower()
    assert run.api_calls >= 3, "the first page, then the throttled attempts"
    assert IssuedTicket.objects.get(pk=tickets[0].pk).entered == 0
    assert not TicketChange.objects.exists()
    assert not Discrepancy.objects.exists()


@pytest.mark.parametrize("status", [500, 503])
def test_a_run_hit_by_5xx_after_its_first_page_fails_and_changes_nothing(issuing, settings, status):
    settings.FOURVENUES_GET_RETRIES = 1
    tickets = issue_through_comps(issuing, 1)
    issuing.sandbox.store.update(tickets[0].remote_id, {"status": "cancelled"})
    issuing.sandbox.store.load(
        {"event_id": issuing.event.remote_id, "channel_id": issuing.channel.remote_id}
        for _ in range(500)
    )
    issuing.sandbox.inject(
        "error_before_commit",
        times=None,
        after=1,
        match_method="GET",
        match_path="/tickets",
        status=status,
    )

    run = reconcile(issuing)

    assert run.status == RunStatus.FAILED
    assert str(status) in run.error or "unavailable" in run.error.lower()
    assert run.api_calls == 3, "the first page, then the second and its one retry"
    assert IssuedTicket.objects.get(pk=tickets[0].pk).status == "activated"
    assert not Discrepancy.objects.exists()
    assert IssuedTicket.objects.count() == 1


def test_a_run_with_a_revoked_key_fails_saying_why(issuing):
    issue_through_comps(issuing, 1)
    issuing.credential.api_key = "not-the-key"
    issuing.credential.save()

    run = reconcile(issuing)

    assert run.status == RunStatus.FAILED
    assert "key" in run.error.lower() or "401" in run.error or "auth" in run.error.lower()
    assert "not-the-key" not in run.error


def test_an_open_unknown_line_is_settled_when_its_ticket_turns_up(issuing):
    issuance = issuing.submit(1)
    issuing.sandbox.inject("timeout_after_commit", match_method="POST", seconds=3)
    send_pending_lines(issuance_id=issuance.pk)
    line = IssuanceLine.objects.get(issuance=issuance)
    assert line.state == LineState.UNKNOWN
    issuing.sandbox.wait_for_tickets(1)

    run = reconcile(issuing)

    line.refresh_from_db()
    assert line.state == LineState.CONFIRMED
    assert run.lines_settled == 1
    assert run.unknown_locally == 0
    assert IssuedTicket.objects.get(line=line).remote_id == issuing.sandbox.tickets()[0]["_id"]


def test_a_second_run_of_an_event_cannot_start_while_one_is_queued(issuing):
    runs.request_run(event=issuing.event, trigger=RunTrigger.COMMAND, enqueue=False)

    with pytest.raises(ReconciliationError, match="already queued or running"):
        runs.request_run(event=issuing.event, trigger=RunTrigger.COMMAND, enqueue=False)
