"""The withdrawal pages: the form with its reason, trying again, the managers' list; who may, and
bad input that never becomes a 500."""

import csv
import io
import secrets

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.guest_links import guest_page_token
from tickets.models import (
    Delivery,
    DeliveryChannel,
    DeliveryState,
    GuestPage,
    VenuePolicy,
    Withdrawal,
    WithdrawalState,
)
from tickets.services.withdrawals import NOT_SENT_WITHDRAWN


@pytest.fixture
def ticket(db):
    return factories.IssuedTicketFactory()


def withdraw_url(ticket):
    return reverse("ticket-withdraw", args=[ticket.pk])


def test_a_manager_withdraws_through_the_form_and_the_ticket_page_says_what_to_do(
    manager_client, ticket
):
    page = manager_client.get(withdraw_url(ticket))
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"] or "no-cache" in page["Cache-Control"]

    response = manager_client.post(withdraw_url(ticket), {"reason": "Guest misbehaved"})

    assert response.status_code == 302
    withdrawal = Withdrawal.objects.get(ticket=ticket)
    assert withdrawal.state == WithdrawalState.AWAITING_DASHBOARD  # the default: dashboard
    detail = manager_client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="dashboard-steps"' in detail
    assert ticket.code in detail
    assert "Guest misbehaved" in detail
    listing = manager_client.get(reverse("withdrawal-list")).content.decode()
    assert ticket.code in listing
    assert 'data-state="awaiting_dashboard"' in listing


@pytest.mark.parametrize("reason", ["", "   ", "x" * 301])
def test_a_bad_reason_is_a_message_and_changes_nothing(manager_client, ticket, reason):
    response = manager_client.post(withdraw_url(ticket), {"reason": reason})
    assert response.status_code == 400
    assert not Withdrawal.objects.exists()
    assert 'class="invalid-feedback"' in response.content.decode()


def test_an_issuer_outside_the_window_is_told_and_nothing_is_written(client, ticket):
    issuer = ticket.line.issuance.created_by
    client.force_login(issuer)
    page = client.get(withdraw_url(ticket))
    assert page.status_code == 200
    assert 'data-testid="withdraw-refusal"' in page.content.decode()
    assert client.post(withdraw_url(ticket), {"reason": "Typo"}).status_code == 200
    assert not Withdrawal.objects.exists()

    VenuePolicy.objects.create(pk=1, issuer_withdrawal_minutes=60)
    assert client.post(withdraw_url(ticket), {"reason": "Typo"}).status_code == 302
    assert Withdrawal.objects.get().requested_by == issuer


def test_another_issuers_ticket_is_a_404(issuer_client, ticket):
    assert issuer_client.get(withdraw_url(ticket)).status_code == 404
    assert issuer_client.post(withdraw_url(ticket), {"reason": "x"}).status_code == 404
    retry = reverse("withdrawal-retry", args=[ticket.pk])
    assert issuer_client.post(retry).status_code == 404


def test_only_managers_see_the_list_and_a_bad_filter_is_ignored(client, ticket):
    client.force_login(factories.issuer())
    assert client.get(reverse("withdrawal-list")).status_code == 403
    client.force_login(factories.manager())
    for query in ("?state=nonsense", "?page=999", "?page=x", "?state=failed"):
        assert client.get(reverse("withdrawal-list") + query).status_code == 200


def test_a_failed_withdrawal_is_tried_again_from_the_list(manager_client, manager, ticket):
    Withdrawal.objects.create(
        ticket=ticket,
        credential=ticket.line.issuance.credential,
        method="dashboard",
        state=WithdrawalState.FAILED,
        reason="Duplicate",
        requested_by=manager,
        last_error="Fourvenues refused the refund.",
    )
    listing = manager_client.get(reverse("withdrawal-list") + "?state=failed").content.decode()
    assert "Fourvenues refused the refund." in listing

    response = manager_client.post(reverse("withdrawal-retry", args=[ticket.pk]), {"next": "list"})

    assert response.status_code == 302
    assert response["Location"] == reverse("withdrawal-list")
    assert Withdrawal.objects.get().state == WithdrawalState.AWAITING_DASHBOARD
    # Not failed any more: a second try is a message, not an error.
    again = manager_client.post(reverse("withdrawal-retry", args=[ticket.pk]))
    assert again.status_code == 302


def test_retrying_a_ticket_without_a_withdrawal_is_a_404(manager_client, ticket):
    assert manager_client.post(reverse("withdrawal-retry", args=[ticket.pk])).status_code == 404


def test_the_guest_page_of_a_withdrawn_ticket_is_the_plain_404(client, ticket):
    token = guest_page_token(GuestPage.objects.create(ticket=ticket, key=secrets.token_urlsafe(32)))
    url = reverse("guest-page", args=[token])
    assert client.get(url).status_code == 200
    type(ticket).objects.filter(pk=ticket.pk).update(withdrawn_at=timezone.now())
    assert client.get(url).status_code == 404


def _withdrawn(ticket, manager, *, reason="Guest misbehaved"):
    now = timezone.now()
    type(ticket).objects.filter(pk=ticket.pk).update(
        withdrawn_at=now, status="cancelled", statuses=["cancelled"], is_valid=False
    )
    return Withdrawal.objects.create(
        ticket=ticket,
        credential=ticket.line.issuance.credential,
        method="api",
        state=WithdrawalState.WITHDRAWN,
        reason=reason,
        requested_by=manager,
        settled_at=now,
    )


def test_the_issuance_page_shows_withdrawn_lines_and_a_withdraw_button_for_managers(
    client, manager, ticket
):
    other = factories.IssuedTicketFactory(
        line=factories.IssuanceLineFactory(issuance=ticket.line.issuance, state="confirmed")
    )
    _withdrawn(ticket, manager)
    Delivery.objects.create(  # its ticket e-mail, stopped by the withdrawal
        ticket=ticket,
        channel=DeliveryChannel.EMAIL,
        recipient=ticket.line.email,
        language="en",
        state=DeliveryState.FAILED,
        last_error=NOT_SENT_WITHDRAWN,
    )
    client.force_login(manager)

    page = client.get(reverse("issuance-detail", args=[ticket.line.issuance.pk])).content.decode()

    assert 'data-withdrawal="withdrawn"' in page
    assert 'data-testid="resend-failed"' not in page  # a withdrawn ticket is never resent
    assert "Guest misbehaved" in page
    assert manager.get_username() in page
    assert reverse("ticket-withdraw", args=[other.pk]) in page
    assert reverse("ticket-withdraw", args=[ticket.pk]) not in page  # already withdrawn
    client.force_login(ticket.line.issuance.created_by)  # the issuer, no window
    page = client.get(reverse("issuance-detail", args=[ticket.line.issuance.pk])).content.decode()
    assert 'data-testid="line-withdraw"' not in page


def test_search_filters_and_labels_withdrawn_tickets_and_exports_say_so(client, manager, ticket):
    kept = factories.IssuedTicketFactory(
        line=factories.IssuanceLineFactory(issuance=ticket.line.issuance, state="confirmed")
    )
    _withdrawn(ticket, manager)
    client.force_login(manager)

    page = client.get(reverse("ticket-search"), {"status": "withdrawn"}).content.decode()
    assert ticket.code in page
    assert kept.code not in page
    assert 'data-withdrawn="1"' in page
    detail = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    assert 'data-testid="status-withdrawn"' in detail

    response = client.get(reverse("ticket-export"), {"columns": "code,status,withdrawn_at"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0] == ["Ticket code", "Status", "Withdrawn at"]
    by_code = {row[0]: row for row in rows[1:]}
    assert by_code[ticket.code][1] == "Withdrawn"
    assert by_code[ticket.code][2]
    assert by_code[kept.code][1:] == ["Valid", ""]
