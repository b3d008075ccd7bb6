"""The client reads what Fourvenues' real clients have seen (issue 13 §4.6), over real HTTP.

The sandbox serves each answer on demand (`promoter_object`, `missing_fields`, a 404 on a
listing); the client must take a promoter object's `_id` or `id`, keep missing amounts and a
missing status as unknown (None), and explain a 404 on any listing as the other environment.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from tickets.fourvenues import ApiKeyAuth, FourvenuesClient, NotFound
from tickets.fourvenues.schemas import Ticket


@pytest.fixture
def client(sandbox):
    client = FourvenuesClient(
        base_url=sandbox.base_url,
        auth=ApiKeyAuth(sandbox.api_headers()["X-Api-Key"]),
        read_timeout=5.0,
        backoff_seconds=0.01,
        get_retries=0,
        rate_limit_per_second=None,
    )
    yield client
    client.close()


def _issue_with_promoter(sandbox) -> dict:
    """One comp attributed to the first promoter, issued on the sandbox: its stored ticket."""
    event = sandbox.catalogue.events[0]
    rate = sandbox.catalogue.free_rate(event["_id"])
    (ticket,) = sandbox.store.load(
        [
            {
                "event_id": event["_id"],
                "rate_id": rate["_id"],
                "referral_id": sandbox.catalogue.users[0]["_id"],
                "name": "Ana Promo",
                "email": "ana@example.com",
            }
        ]
    )
    return ticket


@pytest.mark.parametrize("id_key", ["_id", "id"])
def test_a_promoter_object_reads_as_its_id_in_listings_and_by_id(sandbox, client, id_key):
    stored = _issue_with_promoter(sandbox)
    sandbox.inject("promoter_object", id_key=id_key, times=0)
    promoter_id = sandbox.catalogue.users[0]["_id"]

    (listed,) = client.iter_tickets(event_id=stored["event_id"])
    by_id = client.get_ticket(stored["_id"])

    assert listed.referral_id == by_id.referral_id == promoter_id
    assert listed.raw["referral_id"] == {
        id_key: promoter_id,
        "name": "Lucía Fernández",
        "email": sandbox.catalogue.users[0]["email"],
    }


def test_missing_amounts_and_status_read_as_unknown_not_zero_or_activated(sandbox, client):
    stored = _issue_with_promoter(sandbox)
    sandbox.inject("missing_fields", times=0)  # default: price, total_paid, status

    ticket = client.get_ticket(stored["_id"])

    assert (ticket.price, ticket.total_paid) == (None, None)
    assert ticket.statuses == ()
    assert ticket.is_valid is None
    assert ticket.total_fees == Decimal("0.00")  # still sent, so still read
    assert ticket.is_refunded is False


def test_an_explicit_zero_is_still_zero_and_an_activated_ticket_still_valid():
    ticket = Ticket.from_api({"_id": "t1", "price": 0, "total_paid": "0", "status": "activated"})
    assert (ticket.price, ticket.total_paid, ticket.is_valid) == (Decimal("0.00"),) * 2 + (True,)
    blank = Ticket.from_api({"_id": "t2", "price": "", "total_paid": None, "refunded": "n/a"})
    assert (blank.price, blank.total_paid, blank.refunded) == (None, None, None)
    assert Ticket.from_api({"_id": "t3", "status": "cancelled"}).is_valid is False


@pytest.mark.parametrize(
    ("path", "call", "also"),
    [
        ("/channels", lambda c, s: c.list_channels(), ""),
        (
            "/events",
            lambda c, s: c.list_events(
                start=s.catalogue.today, end=s.catalogue.today + timedelta(days=7)
            ),
            "",
        ),
        ("/users", lambda c, s: c.list_promoters(), ""),
        (
            "/tickets-rates",
            lambda c, s: c.list_ticket_rates(event_id=s.catalogue.events[0]["_id"]),
            ", or the event is not on this account",
        ),
        (
            "/tickets",
            lambda c, s: list(c.iter_tickets(event_id=s.catalogue.events[0]["_id"])),
            ", or the event is not on this account",
        ),
    ],
)
def test_a_404_on_any_listing_suggests_the_other_environment(sandbox, client, path, call, also):
    sandbox.inject("error_before_commit", status=404, match_method="GET", match_path=path)

    with pytest.raises(NotFound) as caught:
        call(client, sandbox)

    assert caught.value.message == (
        f"Fourvenues answered 404 for {path}/: the key is probably for the other environment "
        f"(alpha vs production), or {path}/ is not in the key's scope{also}."
    )


def test_a_404_for_one_ticket_still_says_nothing_was_found(sandbox, client):
    with pytest.raises(NotFound) as caught:
        client.get_ticket("no-such-ticket")
    assert (
        caught.value.message
        == "Fourvenues found nothing at GET /tickets/no-such-ticket (HTTP 404)."
    )
