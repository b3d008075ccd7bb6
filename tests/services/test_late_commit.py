"""A late commit (issue 13, §4.3): Fourvenues creates a ticket after its line was declared failed.

Made to happen with the sandbox: the create is answered 500 before it is handled (the line goes
`unknown`, and the resolver, its grace period over, declares it `failed`), then the very same
create is handled after all, as a Fourvenues that committed it late would. Wherever a ticket with
one of our QR codes then turns up (a retry, refused because the code is taken; the resolver;
reconciliation), its line is confirmed and mirrored, never sent again, and nobody is told
"Nothing was created".
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from tests.fixtures.worker import drain_tasks
from tests.services.reconciliation.support import open_discrepancies, reconcile
from tests.services.test_issuing_flow import assert_mirror_matches_sandbox, states
from tickets.drafts import api_call_count
from tickets.fourvenues.errors import OutcomeUnknown, Rejected
from tickets.models import (
    AuditEntry,
    DiscrepancyKind,
    FailureCause,
    IssuanceLine,
    IssuanceStatus,
    IssuedTicket,
    LineState,
)
from tickets.services.credentials import build_client
from tickets.services.issuance import IssuanceError, retry_line
from tickets.services.ledger import confirm_lines
from tickets.services.resolver import (
    QR_CODE_TAKEN_NOT_FOUND,
    lines_with_taken_qr_codes,
)
from tickets.services.sending import create_request_for

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def _failed_lines(issuing, holders: int = 1):
    """An issuance whose creates all failed before Fourvenues handled them: `failed` lines."""
    issuing.sandbox.inject(
        "error_before_commit",
        match_method="POST",
        match_path="/tickets",
        times=api_call_count(holders),
    )
    issuance = issuing.submit(holders)
    drain_tasks()
    assert states(issuance) == [LineState.FAILED] * holders
    return issuance, list(issuance.lines.order_by("position"))


def _commit_late(issuing, issuance, line: IssuanceLine) -> dict:
    """Fourvenues handles the line's create after all: the ticket exists, with our QR code."""
    build_client(issuing.credential).create_tickets(create_request_for(issuance, [line]))
    (ticket,) = [t for t in issuing.sandbox.tickets() if t["code"] == line.qr_code]
    return ticket


def _creates(issuing) -> int:
    return len([r for r in issuing.sandbox.request_log if r[0] == "POST"])


def _said_nothing_was_created(issuance) -> bool:
    texts = [line.last_error for line in issuance.lines.all()] + [
        str(entry.data) for entry in AuditEntry.objects.filter(target=f"issuance:{issuance.pk}")
    ]
    return any("Nothing was created" in text for text in texts)


def test_a_retry_refused_because_our_qr_code_is_taken_confirms_the_late_ticket(issuing):
    issuance, (line,) = _failed_lines(issuing)
    ticket = _commit_late(issuing, issuance, line)

    # An hour later the issuer retries: Fourvenues refuses the create (our code is in use).
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1), tick=True):
        retry_line(line=line, user=issuing.issuer)
        drain_tasks()

    line.refresh_from_db()
    assert line.state == LineState.CONFIRMED
    assert line.ticket.remote_id == ticket["_id"]
    assert len(issuing.sandbox.tickets()) == 1
    assert _creates(issuing) == 3  # the first send, its late commit, the refused retry
    assert not _said_nothing_was_created(issuance)
    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.COMPLETED
    assert_mirror_matches_sandbox(issuing)


def test_a_refusal_of_a_call_of_two_looks_up_only_the_line_whose_code_is_taken(issuing, settings):
    settings.FOURVENUES_TICKETS_PER_CALL = 2
    issuance, (first, second) = _failed_lines(issuing, holders=2)
    _commit_late(issuing, issuance, first)

    retry_line(line=first, user=issuing.issuer)
    retry_line(line=second, user=issuing.issuer)
    drain_tasks()

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == LineState.CONFIRMED
    # The call was refused as a whole: the other ticket truly was not created.
    assert (second.state, second.failure_cause) == (LineState.FAILED, FailureCause.REFUSED)
    assert "Nothing was created" in second.last_error
    retry_line(line=second, user=issuing.issuer)
    drain_tasks()
    assert states(issuance) == [LineState.CONFIRMED] * 2
    assert len(issuing.sandbox.tickets()) == 2
    assert_mirror_matches_sandbox(issuing)


def test_the_resolver_confirms_a_failed_line_whose_ticket_turned_up_meanwhile(issuing):
    issuance, (first, second) = _failed_lines(issuing, holders=2)
    _commit_late(issuing, issuance, first)

    # Retrying the second line ends unknown (handled, then a 502): the resolver looks it up and
    # finds the first line's late ticket by its QR code on the way.
    issuing.sandbox.inject("error_after_commit", match_method="POST", status=502)
    retry_line(line=second, user=issuing.issuer)
    drain_tasks()

    assert states(issuance) == [LineState.CONFIRMED] * 2
    assert _creates(issuing) == 4  # two failed sends, one late commit, one retry: no resend
    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.COMPLETED
    assert_mirror_matches_sandbox(issuing)


def test_reconciliation_confirms_a_failed_line_whose_ticket_was_committed_late(issuing):
    issuance, (line,) = _failed_lines(issuing)
    ticket = _commit_late(issuing, issuance, line)

    run = reconcile(issuing)

    line.refresh_from_db()
    assert line.state == LineState.CONFIRMED
    assert line.ticket.remote_id == ticket["_id"]
    assert run.lines_settled == 1
    assert open_discrepancies(DiscrepancyKind.UNKNOWN_LOCALLY) == set()
    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.COMPLETED
    assert_mirror_matches_sandbox(issuing)
    with pytest.raises(IssuanceError, match="Only failed tickets"):
        retry_line(line=line, user=issuing.issuer)  # a confirmed line is never sent again


def test_reconciliation_does_not_take_a_failed_line_by_name_and_email_alone(issuing):
    _, (line,) = _failed_lines(issuing)
    # The same guest holds a ticket issued by hand, without our code: not this line's.
    issuing.sandbox.store.load(
        [
            {
                "event_id": issuing.event.remote_id,
                "rate_id": issuing.rate.remote_id,
                "channel_id": issuing.channel.remote_id,
                "name": line.full_name,
                "email": line.email,
            }
        ]
    )
    reconcile(issuing)
    line.refresh_from_db()
    assert line.state == LineState.FAILED


def test_a_taken_code_whose_ticket_cannot_be_found_is_not_called_not_created(issuing):
    issuance, (line,) = _failed_lines(issuing)
    other_event = next(
        e["_id"] for e in issuing.sandbox.catalogue.events if e["_id"] != issuing.event.remote_id
    )
    # A ticket with our code exists where the lookup cannot see it (another event).
    issuing.sandbox.store.load([{"event_id": other_event, "code": line.qr_code}])

    retry_line(line=line, user=issuing.issuer)
    drain_tasks()

    line.refresh_from_db()
    assert (line.state, line.last_error) == (LineState.FAILED, QR_CODE_TAKEN_NOT_FOUND)
    assert line.failure_cause == FailureCause.REFUSED
    assert not _said_nothing_was_created(issuance)


def test_a_ticket_found_while_its_line_is_being_retried_is_kept_and_linked_later(issuing):
    issuance, (line,) = _failed_lines(issuing)
    _commit_late(issuing, issuance, line)
    remote = build_client(issuing.credential).get_ticket_by_code(line.qr_code)
    retry_line(line=line, user=issuing.issuer)  # the line is pending again, not yet sent

    # Reconciliation (or the resolver) finds the ticket at that very moment.
    confirm_lines(issuance, [(IssuanceLine.objects.get(pk=line.pk), remote)])

    line.refresh_from_db()
    assert line.state == LineState.PENDING  # left to its send
    assert IssuedTicket.objects.get(remote_id=remote.id).line is None  # kept, never lost
    drain_tasks()  # the send is refused (code taken); the resolver links the ticket
    line.refresh_from_db()
    assert line.state == LineState.CONFIRMED
    assert IssuedTicket.objects.get(remote_id=remote.id).line_id == line.pk
    assert len(issuing.sandbox.tickets()) == 1
    assert_mirror_matches_sandbox(issuing)


def test_retrying_a_failed_line_whose_ticket_is_mirrored_confirms_it_instead(issuing):
    issuance = issuing.submit(1)
    drain_tasks()
    line = issuance.lines.get()
    # A line left failed beside its mirrored ticket (written before this was fixed).
    IssuanceLine.objects.filter(pk=line.pk).update(state=LineState.FAILED)

    with pytest.raises(IssuanceError, match="exists on Fourvenues already"):
        retry_line(line=line, user=issuing.issuer)

    line.refresh_from_db()
    assert line.state == LineState.CONFIRMED
    drain_tasks()
    assert _creates(issuing) == 1


def _lines(*codes):
    return [IssuanceLine(position=i, qr_code=code) for i, code in enumerate(codes, start=1)]


def _refusal(api_message):
    return Rejected("Fourvenues refused POST /tickets/ (HTTP 400).", api_message=api_message)


@pytest.mark.django_db(transaction=False)
def test_a_refusal_names_the_lines_whose_qr_code_is_taken():
    a, b = _lines("CMPAAAA", "CMPBBBB")
    named = _refusal("tickets[1].qr_code 'CMPBBBB' is already in use")
    assert lines_with_taken_qr_codes(named, [a, b]) == [b]
    unnamed = _refusal("Duplicate QR code")
    assert lines_with_taken_qr_codes(unnamed, [a, b]) == [a, b]
    assert lines_with_taken_qr_codes(_refusal("tickets[0].email is invalid"), [a, b]) == []
    assert lines_with_taken_qr_codes(_refusal(None), [a, b]) == []
    unknown = OutcomeUnknown("timed out", api_message="qr_code CMPAAAA is already in use")
    assert lines_with_taken_qr_codes(unknown, [a, b]) == []
