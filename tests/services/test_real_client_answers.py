"""What Fourvenues' real clients have seen (issue 13 §4.6), served by the sandbox over HTTP.

Each answer is one the sandbox gives on demand: a promoter as an object, tickets without amounts
or status, a 200 saying `success: false` to a create, drafts and hidden events. The product must
read each one right: the promoter's id, "unknown" (never 0 or valid), a refusal in Fourvenues'
words, and events mirrored but not offered.
"""

import pytest
import requests
from django.contrib.auth.models import Group, User
from django.urls import reverse
from django.utils import timezone

from tests.fixtures.worker import drain_tasks
from tickets.forms.issue import IssuanceForm
from tickets.models import (
    Event,
    FailureCause,
    IssuanceStatus,
    IssuedTicket,
    LineState,
    Promoter,
)
from tickets.selectors import catalogue as catalogue_selectors
from tickets.services.catalogue import refresh_catalogue
from tickets.services.exports import csv_rows
from tickets.services.issuance import retry_line

# The worker commits; serialized_rollback restores the roles and reasons the migrations made.
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

TIMEOUT = 5


def _promoter(issuing) -> Promoter:
    user = issuing.sandbox.catalogue.users[0]
    return Promoter.objects.create(
        environment="alpha",
        remote_id=user["_id"],
        email=user["email"],
        first_name=user["profile"]["name"],
        refreshed_at=timezone.now(),
    )


# --- (a) a promoter given as an object ---------------------------------------------------------


@pytest.mark.parametrize("id_key", ["_id", "id"])
def test_a_promoter_sent_as_an_object_is_mirrored_by_its_id(issuing, id_key):
    promoter = _promoter(issuing)
    issuing.sandbox.inject("promoter_object", id_key=id_key, times=0)

    issuance = issuing.submit(1, channel_id=None, promoter_id=promoter.pk)
    drain_tasks()

    line = issuance.lines.get()
    assert line.state == LineState.CONFIRMED
    (remote,) = issuing.sandbox.tickets()
    assert remote["referral_id"] == promoter.remote_id  # stored as an id; answered as an object
    ticket = IssuedTicket.objects.get()
    assert ticket.referral_remote_id == promoter.remote_id
    assert ticket.raw["referral_id"][id_key] == promoter.remote_id


# --- (b) tickets without amounts or status -----------------------------------------------------


def test_a_ticket_without_amounts_or_status_is_kept_as_unknown_never_zero_or_valid(issuing):
    issuing.sandbox.inject(
        "missing_fields", fields=["price", "total_paid", "total_fees", "status"], times=0
    )

    issuance = issuing.submit(1)
    drain_tasks()

    assert issuance.lines.get().state == LineState.CONFIRMED
    ticket = IssuedTicket.objects.get()
    assert (ticket.price, ticket.total_paid, ticket.total_fees) == (None, None, None)
    assert (ticket.status, ticket.statuses, ticket.is_valid) == ("", [], None)
    # What Fourvenues did send is still read: extras came, and they are 0.
    assert ticket.total_extras == 0


def test_unknown_amounts_and_status_read_unknown_on_the_ticket_page_and_in_exports(issuing, client):
    issuing.sandbox.inject("missing_fields", fields=["total_paid", "status", "refunded"], times=0)
    issuing.submit(1)
    drain_tasks()
    ticket = IssuedTicket.objects.get()
    manager = User.objects.create_user("mona")
    manager.groups.add(Group.objects.get(name="Manager"))
    client.force_login(manager)

    html = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()

    assert "Status unknown" in html
    assert "Not valid" not in html
    assert "unknown €" not in html
    assert "refunded unknown" in html
    paid = html.split('data-testid="paid">', 1)[1].split("</dd>", 1)[0]
    assert paid.startswith("unknown ")
    rows = b"".join(
        csv_rows(queryset=IssuedTicket.objects.all(), columns=["valid", "total_paid", "price"])
    )
    assert rows.decode("utf-8-sig").splitlines()[1] == "Unknown,,0.00"


# --- (c) a 200 with success: false to a create -------------------------------------------------


def test_success_false_to_a_create_fails_the_line_in_fourvenues_words(issuing, client):
    issuing.sandbox.inject(
        "success_false", match_method="POST", match_path="/tickets", message="Rate is closed"
    )

    issuance = issuing.submit(1)
    drain_tasks()

    line = issuance.lines.get()
    assert line.state == LineState.FAILED
    assert line.failure_cause == FailureCause.REFUSED
    assert "Rate is closed" in line.last_error
    assert [r for r in issuing.sandbox.request_log if r[0] == "POST"] == [
        ("POST", "/integrations/tickets/")
    ]  # sent once; no resolver lookup was needed to learn it failed
    issuance.refresh_from_db()
    assert issuance.status == IssuanceStatus.FAILED
    client.force_login(issuing.issuer)
    page = client.get(reverse("issuance-detail", args=[issuance.pk])).content.decode()
    assert "Rate is closed" in page


def test_a_refused_create_that_fourvenues_stored_all_the_same_is_never_issued_twice(issuing):
    # `commit`: the refusal came with the ticket stored. The line fails as Fourvenues says; a
    # retry re-sends our QR code, which Fourvenues refuses as taken, and the line is looked up.
    issuing.sandbox.inject("success_false", match_method="POST", match_path="/tickets", commit=True)
    issuance = issuing.submit(1)
    drain_tasks()
    line = issuance.lines.get()
    assert (line.state, line.failure_cause) == (LineState.FAILED, FailureCause.REFUSED)

    retry_line(line=line, user=issuing.issuer)
    drain_tasks()

    assert len(issuing.sandbox.tickets()) == 1
    line.refresh_from_db()
    assert line.state == LineState.CONFIRMED
    assert IssuedTicket.objects.get().line == line


# --- (d) drafts and hidden events --------------------------------------------------------------


def _publish(sandbox, event_id: str, **flags: bool) -> None:
    url = f"{sandbox.url}/_sandbox/events/{event_id}"
    response = requests.patch(url, json=flags, timeout=TIMEOUT)
    assert response.status_code == 200, response.text


def test_drafts_and_hidden_events_are_mirrored_but_not_offered_to_issuers(issuing):
    sandbox = issuing.sandbox
    live, draft, hidden = (event["_id"] for event in sandbox.catalogue.events[1:4])
    _publish(sandbox, draft, active=False)
    _publish(sandbox, hidden, visible=False)

    refresh_catalogue(credential=issuing.credential, days=14, today=sandbox.catalogue.today)

    mirrored = {e.remote_id: e for e in Event.objects.filter(environment="alpha")}
    assert (mirrored[draft].active, mirrored[hidden].visible) == (False, False)
    form = IssuanceForm(environment="alpha")
    offered = set(form.fields["event"].queryset.values_list("remote_id", flat=True))
    assert live in offered
    assert draft not in offered
    assert hidden not in offered
    # Reconciliation still reaches them: they are upcoming, only not offered.
    upcoming = catalogue_selectors.upcoming_events(environment="alpha")
    assert {draft, hidden} <= set(upcoming.values_list("remote_id", flat=True))


def test_a_draft_event_cannot_be_posted_to_the_issuing_form(issuing):
    sandbox = issuing.sandbox
    draft = sandbox.catalogue.events[1]["_id"]
    _publish(sandbox, draft, active=False)
    refresh_catalogue(credential=issuing.credential, days=14, today=sandbox.catalogue.today)
    event = Event.objects.get(remote_id=draft)

    form = IssuanceForm(environment="alpha", data={"event": event.pk})

    assert not form.is_valid()
    assert "event" in form.errors
