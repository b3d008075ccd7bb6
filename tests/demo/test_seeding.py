import pytest
from django.core.management import call_command
from django.db import connection

from tickets.demo.seeding import seed_tickets
from tickets.models import Issuance, IssuanceLine, IssuedTicket
from tickets.text import search_text


def _snapshot():
    return list(
        IssuedTicket.objects.order_by("id").values_list(
            "name", "email", "phone", "code", "entered", "event__remote_id", "line__position"
        )
    )


@pytest.mark.django_db
def test_seeding_writes_linked_tickets_with_their_search_text():
    result = seed_tickets(count=500, batch=120, seed=7, events=20)

    assert result.tickets == 500
    assert IssuedTicket.objects.count() == 500
    assert IssuanceLine.objects.count() == 500
    assert Issuance.objects.count() == result.issuances
    assert 500 / 15 <= result.issuances <= 500 / 5
    # Every ticket hangs off a line of an issuance of its own event.
    assert not IssuedTicket.objects.filter(line__isnull=True).exists()
    for ticket in IssuedTicket.objects.select_related("line__issuance")[:50]:
        assert ticket.line.issuance.event_id == ticket.event_id
        assert ticket.line.full_name == ticket.name
        assert ticket.search_text == search_text(
            ticket.name,
            ticket.email,
            ticket.code,
            ticket.qr_code,
            ticket.payment_id,
            ticket.remote_id,
            phone=ticket.phone,
        )
        assert len(ticket.code) == 9
        assert ticket.code.isupper() or ticket.code.isdigit()
        assert ticket.phone.startswith("+34")
        assert len(ticket.phone) == 12
    assert IssuedTicket.objects.filter(entered__gt=0).exists()
    assert IssuanceLine.objects.exclude(document_digest="").exists()
    # Accents survive in the names; search_text has them folded.
    assert IssuedTicket.objects.filter(name__regex=r"[áéíóúñÁÉÍÓÚÑ]").exists()


@pytest.mark.django_db
def test_the_same_seed_gives_the_same_tickets():
    seed_tickets(count=300, batch=100, seed=3, events=10)
    first = _snapshot()
    IssuedTicket.objects.all().delete()
    IssuanceLine.objects.all().delete()
    Issuance.objects.all().delete()

    seed_tickets(count=300, batch=100, seed=3, events=10)

    assert _snapshot() == first


@pytest.mark.django_db
def test_seeding_twice_adds_rows_and_keeps_sequences_right():
    seed_tickets(count=100, seed=1, events=5)
    seed_tickets(count=100, seed=1, events=5)

    assert IssuedTicket.objects.count() == 200
    # The sequences were moved past the explicit ids: the ORM can still insert.
    issuance = Issuance.objects.first()
    line = IssuanceLine.objects.create(
        issuance=issuance, position=999, full_name="New Holder", email="new@example.com"
    )
    assert line.pk > IssuanceLine.objects.exclude(pk=line.pk).order_by("-pk").first().pk


@pytest.mark.django_db
def test_the_command_reports_what_it_wrote(capsys):
    call_command("seed_tickets", "--count", "50", "--events", "3", "--seed", "2")

    assert "50 tickets in" in capsys.readouterr().out
    assert IssuedTicket.objects.count() == 50
    assert connection.vendor in {"sqlite", "postgresql"}
