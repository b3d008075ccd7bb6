"""The door list and the door lookup, read from the mirror as last reconciled."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from tests import factories
from tickets.models import (
    Environment,
    IssuedTicket,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
)
from tickets.selectors import door as door_selectors

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")


def _comp(event, name, *, issuer=None, reason=None, **fields):
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event, name="VIP"))
    extra = {"created_by": issuer} if issuer else {}
    if reason:
        extra["reason"] = factories.ReasonFactory(label=reason)
    issuance = factories.IssuanceFactory(price_option=option, **extra)
    line = factories.IssuanceLineFactory(issuance=issuance, full_name=name, state="confirmed")
    return factories.IssuedTicketFactory(line=line, **fields)


@pytest.fixture
def event():
    return factories.EventFactory(name="Saturday")


def test_the_list_is_alphabetical_with_accents_and_case_ignored(event):
    for name in ("Zoe Zamora", "álvaro Ortiz", "Beatriz Núñez", "Ángela Ruiz", "alberto Gil"):
        _comp(event, name)

    door = door_selectors.door_list(event)

    assert [e.name for e in door.entries] == [
        "alberto Gil",
        "álvaro Ortiz",
        "Ángela Ruiz",
        "Beatriz Núñez",
        "Zoe Zamora",
    ]


def test_each_entry_has_code_rate_admits_issuer_reason_and_entry(event):
    ana = factories.issuer(username="ana", first_name="Ana", last_name="Ruiz")
    entered_at = timezone.now()
    ticket = _comp(
        event,
        "Lola Flores",
        issuer=ana,
        reason="Press",
        code="ABC123",
        admits=3,
        entered=2,
        entry_date=entered_at,
    )

    (entry,) = door_selectors.door_list(event).entries

    assert (entry.pk, entry.name, entry.code, entry.rate, entry.admits) == (
        ticket.pk,
        "Lola Flores",
        "ABC123",
        ticket.rate_name,
        3,
    )
    assert (entry.issuer, entry.adopted, entry.reason) == ("Ana Ruiz", False, "Press")
    assert (entry.entered, entry.entry_date, entry.has_come) == (2, entered_at, True)


def test_an_adopted_ticket_says_it_has_no_issuance(event):
    factories.IssuedTicketFactory(
        line=None, event=event, name="Found Later", adopted_at=timezone.now()
    )
    # A ticket of the event that Comps neither issued nor adopted (a sale) is not a comp.
    factories.IssuedTicketFactory(line=None, event=event, name="Paid Ticket")

    (entry,) = door_selectors.door_list(event).entries

    assert (entry.name, entry.issuer, entry.adopted, entry.reason) == ("Found Later", "", True, "")


def test_totals_count_tickets_people_admitted_and_people_in(event):
    _comp(event, "A", admits=3, entered=2)
    _comp(event, "B", admits=1, entered=1)
    _comp(event, "C", admits=2, entered=0)
    # The door's counter past what a ticket admits lets in no more than it admits.
    _comp(event, "D", admits=1, entered=4)
    _comp(event, "W", admits=5, entered=0, withdrawn_at=timezone.now())

    door = door_selectors.door_list(event)

    assert (door.tickets, door.people, door.people_in) == (4, 7, 4)


def test_withdrawn_and_invalid_tickets_are_apart_not_admissible(event):
    _comp(event, "Kept")
    _comp(event, "Taken Back", withdrawn_at=timezone.now())
    _comp(event, "Cancelled There", is_valid=False, status="cancelled")
    _comp(event, "Status Unknown", is_valid=None, status="")

    door = door_selectors.door_list(event)

    assert [e.name for e in door.entries] == ["Kept", "Status Unknown"]
    assert [(e.name, e.status_label) for e in door.not_admissible] == [
        ("Cancelled There", "Cancelled"),
        ("Taken Back", "Valid"),
    ]
    assert all(not e.admissible for e in door.not_admissible)


def test_only_the_events_own_tickets(event):
    _comp(event, "Here")
    _comp(factories.EventFactory(), "Elsewhere")

    assert [e.name for e in door_selectors.door_list(event).entries] == ["Here"]


def test_the_list_says_when_it_was_last_reconciled(event, alpha_credential):
    assert door_selectors.door_list(event).reconciled_at is None

    def run(status, finished_at):
        return ReconciliationRun.objects.create(
            event=event,
            credential=alpha_credential,
            trigger=RunTrigger.SCHEDULE,
            full=True,
            status=status,
            started_at=finished_at,
            finished_at=finished_at,
        )

    earlier = timezone.now() - dt.timedelta(hours=2)
    run(RunStatus.SUCCEEDED, earlier)
    # A failed run may have stopped half-way: the list is as of the last one that succeeded.
    run(RunStatus.FAILED, timezone.now())

    assert door_selectors.door_list(event).reconciled_at == earlier


def test_the_door_list_costs_two_queries(event, django_assert_num_queries):
    for i in range(20):
        _comp(event, f"Guest {i}")

    with django_assert_num_queries(2):
        door = door_selectors.door_list(event)

    assert door.tickets == 20


# --- The lookup -------------------------------------------------------------------------------


def test_the_lookup_finds_part_of_a_name_accents_and_case_ignored(event):
    _comp(event, "José Pérez", code="J1")
    _comp(event, "Josefina Alba", code="J2")
    _comp(event, "María Joséfa", code="J3")
    _comp(event, "Pedro Gil", code="P1")

    result = door_selectors.door_lookup(event=event, term="  JOSE ")

    # Names that start with the term first, then the others, each alphabetically.
    assert [e.name for e in result.entries] == ["José Pérez", "Josefina Alba", "María Joséfa"]
    assert not result.more


def test_the_lookup_finds_a_code(event):
    _comp(event, "Pedro Gil", code="XK42")

    assert [e.name for e in door_selectors.door_lookup(event=event, term="xk4").entries] == [
        "Pedro Gil"
    ]


def test_the_lookup_never_matches_on_an_email_or_phone(event):
    ticket = _comp(event, "Pedro Gil")
    IssuedTicket.objects.filter(pk=ticket.pk).update(
        email="secret.lover@example.com", phone="612345678"
    )
    IssuedTicket.objects.filter(pk=ticket.pk).update(
        search_text="pedro gil secret.lover@example.com 612345678"
    )

    assert door_selectors.door_lookup(event=event, term="lover").entries == []
    assert door_selectors.door_lookup(event=event, term="612345").entries == []


def test_the_lookup_needs_two_characters(event):
    _comp(event, "Al Green")

    assert door_selectors.door_lookup(event=event, term="a") is None
    assert door_selectors.door_lookup(event=event, term="  ") is None
    assert door_selectors.door_lookup(event=event, term="al").entries[0].name == "Al Green"


def test_the_lookup_shows_withdrawn_tickets_as_such(event):
    _comp(event, "Rita Withdrawn", withdrawn_at=timezone.now())

    (entry,) = door_selectors.door_lookup(event=event, term="rita").entries

    assert entry.withdrawn_at is not None
    assert not entry.admissible


def test_the_lookup_stops_at_a_page_for_a_phone(event):
    for i in range(door_selectors.LOOKUP_SHOWN + 3):
        _comp(event, f"Sam {i:02d}")

    result = door_selectors.door_lookup(event=event, term="sam")

    assert len(result.entries) == door_selectors.LOOKUP_SHOWN
    assert result.more
    assert result.entries[0].name == "Sam 00"


def test_the_lookup_of_a_large_event_reads_few_rows(event, django_assert_max_num_queries):
    """Two queries whatever the event's size: candidates by search text, then their rows."""
    for i in range(60):
        _comp(event, f"Guest {i}")
    _comp(event, "Needle Person")

    with django_assert_max_num_queries(2):
        result = door_selectors.door_lookup(event=event, term="needle")

    assert [e.name for e in result.entries] == ["Needle Person"]


# 02:00 on Sunday: Saturday's night is in progress.
@time_machine.travel(dt.datetime(2026, 3, 22, 2, 0, tzinfo=MADRID), tick=False)
def test_the_lookup_offers_the_nights_around_tonight_tonight_first(alpha_credential):
    friday = factories.EventFactory(name="Friday", night=dt.date(2026, 3, 20))
    saturday = factories.EventFactory(name="Saturday", night=dt.date(2026, 3, 21))
    sunday = factories.EventFactory(name="Sunday", night=dt.date(2026, 3, 22))
    factories.EventFactory(name="Next week", night=dt.date(2026, 3, 28))
    factories.EventFactory(
        name="Production", night=dt.date(2026, 3, 21), environment=Environment.PRODUCTION
    )

    events = door_selectors.lookup_events()

    assert events == [saturday, friday, sunday]
    assert door_selectors.default_lookup_event(events) == saturday
    assert door_selectors.default_lookup_event([]) is None
