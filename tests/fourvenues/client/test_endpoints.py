"""Unit tests of the typed endpoints (endpoints.py): paths, arguments, paging and parsing.

`responses` is the mock boundary; the HTTP underneath is test_client.py's subject.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from tests.fourvenues.client_support import (
    comp_request,
    ok,
    query_of,
    ticket_dict,
    url,
)
from tickets.fourvenues import (
    InvalidResponse,
)

# --------------------------------------------------------------------------------------------
# Paths and arguments
# --------------------------------------------------------------------------------------------


def test_collection_paths_keep_the_trailing_slash_and_item_paths_have_none(rsps, client):
    rsps.get(url("/tickets-rates/"), json=ok([]))
    rsps.get(url("/events/ev1"), json=ok({"_id": "ev1"}))
    rsps.get(url("/tickets/t1"), json=ok(ticket_dict("t1")))
    rsps.get(url("/tickets/by-code/P6J21FF2S"), json=ok(ticket_dict("t1")))

    client.list_ticket_rates(event_id="ev1")
    client.get_event("ev1")
    client.get_ticket("t1")
    client.get_ticket_by_code("P6J21FF2S")

    paths = [urlsplit(call.request.url).path for call in rsps.calls]
    assert paths == [
        "/integrations/tickets-rates/",
        "/integrations/events/ev1",
        "/integrations/tickets/t1",
        "/integrations/tickets/by-code/P6J21FF2S",
    ]
    assert query_of(rsps.calls[0]) == {"event_id": ["ev1"]}


def test_path_parameters_are_url_quoted(rsps, client):
    rsps.get(url("/tickets/%C3%B1abc%2F..%3Fx"), json=ok(ticket_dict("ñabc/..?x")))

    ticket = client.get_ticket("ñabc/..?x")

    assert ticket.id == "ñabc/..?x"
    assert urlsplit(rsps.calls[0].request.url).path == "/integrations/tickets/%C3%B1abc%2F..%3Fx"


@pytest.mark.parametrize("bad", ["", "  "])
def test_empty_ids_are_refused_before_any_request(rsps, client, bad):
    with pytest.raises(ValueError, match="non-empty"):
        client.get_ticket(bad)
    with pytest.raises(ValueError, match="non-empty"):
        client.get_ticket_by_code(bad)
    assert len(rsps.calls) == 0


# --------------------------------------------------------------------------------------------
# Reading: endpoints and parsing
# --------------------------------------------------------------------------------------------


def test_check_connection_lists_channels(rsps, client):
    rsps.get(url("/channels/"), json=ok([{"_id": "c1", "name": "Octava", "slug": "octava"}]))

    channels = client.check_connection()

    assert [(c.id, c.name, c.slug) for c in channels] == [("c1", "Octava", "octava")]


def test_list_events_sends_dates_and_pages(rsps, client):
    rsps.get(url("/events/"), json=ok([{"_id": "e1", "start": 1700000000}]))

    events = client.list_events(start=date(2024, 5, 1), end=date(2024, 5, 31))

    assert [e.id for e in events] == ["e1"]
    assert events[0].start == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert query_of(rsps.calls[0]) == {
        "start": ["2024-05-01"],
        "end": ["2024-05-31"],
        "limit": ["500"],
        "offset": ["0"],
    }


def test_list_events_refuses_an_inverted_range(rsps, client):
    with pytest.raises(ValueError, match="end"):
        client.list_events(start=date(2024, 5, 2), end=date(2024, 5, 1))
    assert len(rsps.calls) == 0


def test_list_ticket_rates_parses_options(rsps, client):
    rsps.get(
        url("/tickets-rates/"),
        json=ok([{"_id": "r1", "name": "General", "options": [{"_id": "o1", "price": 12.5}]}]),
    )

    [rate] = client.list_ticket_rates(event_id="ev1")

    assert rate.options[0].id == "o1"
    assert rate.options[0].price == Decimal("12.50")


def test_list_promoters_pages_users(rsps, client):
    rsps.get(
        url("/users/"), json=ok([{"_id": "u1", "profile": {"name": "Eva", "last_name": "Gil"}}])
    )

    [promoter] = client.list_promoters()

    assert promoter.full_name == "Eva Gil"
    assert query_of(rsps.calls[0]) == {"limit": ["500"], "offset": ["0"]}


def test_get_ticket_accepts_a_single_item_array(rsps, client):
    rsps.get(url("/tickets/t1"), json=ok([ticket_dict("t1")]))

    assert client.get_ticket("t1").id == "t1"


def test_get_ticket_without_id_in_data_is_invalid(rsps, client):
    rsps.get(url("/tickets/t1"), json=ok({"code": "X"}))

    with pytest.raises(InvalidResponse, match="no _id"):
        client.get_ticket("t1")


def test_refund_posts_the_amount_once(rsps, client):
    rsps.post(url("/tickets/refund/t1"), json={"success": True})

    client.refund_ticket("t1", amount=Decimal("0"))

    assert len(rsps.calls) == 1
    assert json.loads(rsps.calls[0].request.body) == {"amount": 0}


def test_refund_refuses_floats_and_negative_amounts(rsps, client):
    with pytest.raises(TypeError):
        client.refund_ticket("t1", amount=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        client.refund_ticket("t1", amount=Decimal("-1"))
    assert len(rsps.calls) == 0


# --------------------------------------------------------------------------------------------
# Paging
# --------------------------------------------------------------------------------------------


def test_ticket_paging_stops_at_a_short_page_with_advancing_offsets(rsps, client):
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t1"), ticket_dict("t2")]))
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t3"), ticket_dict("t4")]))
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t5")]))

    tickets = list(client.iter_tickets(event_id="ev1", page_size=2))

    assert [t.id for t in tickets] == ["t1", "t2", "t3", "t4", "t5"]
    assert len(rsps.calls) == 3
    assert [query_of(call)["offset"] for call in rsps.calls] == [["0"], ["2"], ["4"]]
    assert all(query_of(call)["limit"] == ["2"] for call in rsps.calls)
    assert all(query_of(call)["event_id"] == ["ev1"] for call in rsps.calls)


def test_ticket_paging_stops_at_an_empty_page(rsps, client):
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t1"), ticket_dict("t2")]))
    rsps.get(url("/tickets/"), json=ok([]))

    tickets = list(client.iter_tickets(event_id="ev1", page_size=2))

    assert [t.id for t in tickets] == ["t1", "t2"]
    assert [query_of(call)["offset"] for call in rsps.calls] == [["0"], ["2"]]


def test_ticket_paging_defaults_to_pages_of_500(rsps, client):
    rsps.get(url("/tickets/"), json=ok([ticket_dict(f"t{n}") for n in range(500)]))
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t500")]))

    tickets = list(client.iter_tickets(event_id="ev1"))

    assert len(tickets) == 501
    assert [query_of(call)["offset"] for call in rsps.calls] == [["0"], ["500"]]
    assert query_of(rsps.calls[0])["limit"] == ["500"]


def test_ticket_iteration_is_lazy(rsps, client):
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t1"), ticket_dict("t2")]))
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t3")]))

    iterator = client.iter_tickets(event_id="ev1", page_size=2)
    assert len(rsps.calls) == 0
    assert next(iterator).id == "t1"

    assert len(rsps.calls) == 1


def test_ticket_date_filters_are_sent_as_iso_with_milliseconds(rsps, client):
    rsps.get(url("/tickets/"), json=ok([]))

    list(
        client.iter_tickets(
            event_id="ev1",
            start_date=datetime(2021, 9, 1, tzinfo=UTC),
            end_date=datetime(2021, 9, 2, 1, 2, 3, 456789, tzinfo=UTC),
            date_field="updated_at",
        )
    )

    query = query_of(rsps.calls[0])
    assert query["start_date"] == ["2021-09-01T00:00:00.000Z"]
    assert query["end_date"] == ["2021-09-02T01:02:03.456Z"]
    assert query["date_field"] == ["updated_at"]


def test_ticket_date_filters_must_be_aware(client):
    with pytest.raises(ValueError, match="timezone-aware"):
        client.iter_tickets(event_id="ev1", start_date=datetime(2021, 9, 1))


@pytest.mark.parametrize("size", [0, 501])
def test_page_size_is_bounded_by_the_api_maximum(client, size):
    with pytest.raises(ValueError, match="page_size"):
        client.iter_tickets(event_id="ev1", page_size=size)


def test_a_server_ignoring_offset_does_not_page_forever(rsps, client):
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t1"), ticket_dict("t2")]))

    with pytest.raises(InvalidResponse, match="same page"):
        list(client.iter_tickets(event_id="ev1", page_size=2))
    assert len(rsps.calls) == 2


# --------------------------------------------------------------------------------------------
# Creating: what the reply is read as
# --------------------------------------------------------------------------------------------


def test_create_sends_the_payload_and_parses_an_object_response(rsps, client):
    rsps.post(url("/tickets/"), json=ok(ticket_dict("t1")))

    tickets = client.create_tickets(comp_request())

    assert [t.id for t in tickets] == ["t1"]
    sent = json.loads(rsps.calls[0].request.body)
    assert sent["quantity"] == 1
    assert sent["ticket_rate_id"] == "rate1"
    assert sent["channel_id"] == "chan1"
    assert sent["tickets"][0]["total_price"] == 0
    assert rsps.calls[0].request.headers["Content-Type"] == "application/json"


def test_create_parses_an_array_response(rsps, client):
    rsps.post(url("/tickets/"), json=ok([ticket_dict("t1"), ticket_dict("t2")]))

    tickets = client.create_tickets(comp_request(2))

    assert [t.id for t in tickets] == ["t1", "t2"]


def test_create_returns_fewer_tickets_than_sent_without_failing(rsps, client):
    # The documented response holds one object even for several tickets; the caller fetches
    # the rest by payment_id.
    rsps.post(url("/tickets/"), json=ok(ticket_dict("t1")))

    tickets = client.create_tickets(comp_request(3))

    assert [t.payment_id for t in tickets] == ["pay1"]
