"""The managers' page of holders' personal data: what each event still holds and when it goes,
and "remove now" (confirmed, audited, only once the night is over)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import AuditEntry, EventPolicy, IssuanceLine, IssuedTicket
from tickets.selectors import purge as purge_selectors

pytestmark = pytest.mark.django_db

PHONE = "+34655443322"


def a_holder(event, **fields) -> IssuanceLine:
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event))
    issuance = factories.IssuanceFactory(price_option=option)
    line = factories.IssuanceLineFactory(
        issuance=issuance,
        full_name="Nora Night",
        email="nora@example.com",
        phone=PHONE,
        birthday=dt.date(1990, 4, 5),
        address="Calle Mayor 1",
        postal_code="28013",
        document_type="dni",
        document_number="12345678Z",
        document_digest="d" * 64,
        state="confirmed",
        **fields,
    )
    IssuedTicket.objects.create(
        environment=event.environment,
        remote_id=f"t-{line.pk}",
        line=line,
        event=event,
        name=line.full_name,
        email=line.email,
        phone=PHONE,
        address="Calle Mayor 1",
        raw={"_id": f"t-{line.pk}", "phone": PHONE, "birthday": "1990-04-05"},
        search_text="nora night nora@example.com 34655443322",
    )
    return line


@pytest.fixture
def past_event():
    factories.CredentialFactory()
    return factories.EventFactory(
        name="Last Friday", night=timezone.localdate() - dt.timedelta(days=3)
    )


@pytest.fixture
def coming_event():
    return factories.EventFactory(name="Next Friday")


def test_the_page_shows_what_each_event_still_holds_and_when_it_goes(
    manager_client, past_event, coming_event
):
    a_holder(past_event)
    a_holder(coming_event)

    response = manager_client.get(reverse("purge"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    rows = {row.event: row for row in response.context["rows"]}
    past = rows[past_event]
    assert (past.lines, past.with_document, past.with_birthday) == (1, 1, 1)
    assert (past.with_address, past.with_phone, past.tickets_with_phone) == (1, 1, 1)
    assert past.due_at == purge_selectors.purge_due_at(past_event.night)
    assert past.can_purge_now
    assert not rows[coming_event].can_purge_now
    page = response.content.decode()
    assert reverse("purge-event", args=[past_event.pk]) in page
    assert reverse("purge-event", args=[coming_event.pk]) not in page
    assert PHONE not in page
    assert "12345678Z" not in page


def test_issuers_may_not_see_it(issuer_client, past_event):
    assert issuer_client.get(reverse("purge")).status_code == 403
    url = reverse("purge-event", args=[past_event.pk])
    assert issuer_client.post(url, {"confirm": "on"}).status_code == 403


def test_remove_now_asks_for_confirmation_first(manager_client, past_event):
    line = a_holder(past_event)
    url = reverse("purge-event", args=[past_event.pk])

    assert manager_client.get(url).status_code == 200
    response = manager_client.post(url, {})

    assert response.status_code == 400
    assert "Tick the box to confirm." in response.content.decode()
    line.refresh_from_db()
    assert line.phone == PHONE
    assert not AuditEntry.objects.filter(action="personal_data.purged").exists()


def test_remove_now_purges_the_event_and_is_audited(manager_client, manager, past_event):
    line = a_holder(past_event)

    response = manager_client.post(
        reverse("purge-event", args=[past_event.pk]), {"confirm": "on"}, follow=True
    )

    assert response.redirect_chain[-1][0] == reverse("purge")
    line.refresh_from_db()
    assert (line.phone, line.document_number, line.document_digest, line.birthday) == (
        "",
        "",
        "",
        None,
    )
    ticket = line.ticket
    ticket.refresh_from_db()
    assert ticket.phone == ""
    assert ticket.raw == {"_id": ticket.remote_id}
    assert ticket.search_text == f"nora night nora@example.com {ticket.remote_id}"
    entry = AuditEntry.objects.get(action="personal_data.purged")
    assert entry.actor == manager
    assert entry.target == f"event:{past_event.pk}"
    assert entry.data["manual"] is True
    assert entry.data["counts"]["lines"] == 1
    assert EventPolicy.objects.get(event=past_event).purged_at is not None
    page = response.content.decode()
    assert "was removed" in page
    row = {r.event: r for r in response.context["rows"]}[past_event]
    assert not row.holds_data
    assert row.purged_at is not None


def test_remove_now_is_refused_before_the_night_is_over(manager_client, coming_event):
    factories.CredentialFactory()
    line = a_holder(coming_event)

    response = manager_client.post(
        reverse("purge-event", args=[coming_event.pk]), {"confirm": "on"}, follow=True
    )

    assert "not over yet" in response.content.decode()
    line.refresh_from_db()
    assert line.phone == PHONE


def test_the_page_reads_in_spanish(manager_client, past_event):
    a_holder(past_event)

    page = manager_client.get(reverse("purge"), HTTP_ACCEPT_LANGUAGE="es-ES,es").content.decode()

    assert "Datos personales" in page


def test_an_event_without_holders_has_nothing_to_remove(manager_client, past_event):
    response = manager_client.get(reverse("purge-event", args=[past_event.pk]))

    assert response.status_code == 200
    assert "This event holds no personal data any more." in response.content.decode()
    assert manager_client.get(reverse("purge-event", args=[987654])).status_code == 404
