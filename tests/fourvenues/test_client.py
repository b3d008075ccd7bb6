"""Unit tests of the Fourvenues HTTP client, with `responses` as the mock boundary.

No test sleeps: the client gets a fake clock and a sleep that only records (and advances the
fake clock), so backoff and throttling are asserted on the delays requested.
"""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, date, datetime
from decimal import Decimal
from http.client import RemoteDisconnected
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from urllib3.exceptions import (
    ConnectTimeoutError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from tickets.fourvenues import (
    ApiKeyAuth,
    AuthenticationFailed,
    CallRecord,
    CreateTicketsRequest,
    FourvenuesClient,
    FourvenuesError,
    InvalidResponse,
    LegacyAuth,
    NewTicket,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    RateLimiter,
    Rejected,
    Unavailable,
)

BASE = "https://api-alpha.fourvenues.com/integrations"
API_KEY = "ik_live_TOPSECRETkey0123456789abcdef"
INTEGRATION_ID = "integration-77f1c0"
SECRET = "legacy-SECRET-value-9f8e7d6c"
DOCUMENT = "12345678Z"


class FakeTime:
    """A monotonic clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def make_client(fake_time, records):
    def make(**overrides) -> FourvenuesClient:
        kwargs = {
            "base_url": BASE,
            "auth": ApiKeyAuth(API_KEY),
            "sleep": fake_time.sleep,
            "clock": fake_time.clock,
            "jitter": lambda: 1.0,
            # Throttling has its own tests; here it would mix its waits into the backoff ones.
            "rate_limit_per_second": None,
            "on_call": records.append,
        }
        kwargs.update(overrides)
        return FourvenuesClient(**kwargs)

    return make


@pytest.fixture
def client(make_client) -> FourvenuesClient:
    return make_client()


def url(path: str) -> str:
    return BASE + path


def ok(data) -> dict:
    return {"success": True, "data": data}


def error_body(status: int) -> dict:
    return {"success": False, "error": f"error {status}", "message": f"error {status}"}


def ticket_dict(ticket_id: str = "t1", **extra) -> dict:
    return {
        "_id": ticket_id,
        "code": "P6J21FF2S",
        "status": "activated",
        "event_id": "ev1",
        "rate_id": "rate1",
        "price_info": {"_id": "opt1", "price": 10},
        "price": 10,
        "payment_id": "pay1",
        "name": "Ana Pérez",
        "email": "ana@example.com",
        "personal_document_number": DOCUMENT,
        "created_at": "2024-05-01T22:00:00.000Z",
        **extra,
    }


def comp_request(count: int = 1) -> CreateTicketsRequest:
    return CreateTicketsRequest(
        ticket_rate_id="rate1",
        sale_type="online",
        channel_id="chan1",
        tickets=tuple(
            NewTicket(
                full_name=f"Guest {n}",
                email=f"guest{n}@example.com",
                price_id="opt1",
                personal_document_type="dni",
                personal_document_number=DOCUMENT,
            )
            for n in range(count)
        ),
    )


def query_of(call) -> dict[str, list[str]]:
    return parse_qs(urlsplit(call.request.url).query)


# Realistic exception chains, shaped as requests/urllib3 raise them.


def refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")
    return requests.ConnectionError(MaxRetryError(None, url("/x"), reason))


def dns_failure() -> requests.ConnectionError:
    reason = NameResolutionError("api.example", None, socket.gaierror(-2, "Name unknown"))
    return requests.ConnectionError(MaxRetryError(None, url("/x"), reason))


def connect_timeout() -> requests.ConnectTimeout:
    reason = ConnectTimeoutError(None, "Connection timed out (connect timeout=3.05)")
    return requests.ConnectTimeout(MaxRetryError(None, url("/x"), reason))


def read_timeout() -> requests.ReadTimeout:
    return requests.ReadTimeout(ReadTimeoutError(None, url("/x"), "Read timed out."))


def reset_after_send() -> requests.ConnectionError:
    return requests.ConnectionError(
        ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
    )


def remote_disconnected() -> requests.ConnectionError:
    return requests.ConnectionError(
        ProtocolError("Connection aborted.", RemoteDisconnected("closed without response"))
    )


def broken_chunked_body() -> requests.exceptions.ChunkedEncodingError:
    return requests.exceptions.ChunkedEncodingError(ProtocolError("Response ended prematurely"))


# --------------------------------------------------------------------------------------------
# Requests as sent
# --------------------------------------------------------------------------------------------


def test_v2_auth_sends_only_the_api_key_header(rsps, client):
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    headers = rsps.calls[0].request.headers
    assert headers["X-Api-Key"] == API_KEY
    assert "integration_id" not in headers
    assert "secret" not in headers


def test_v1_auth_sends_integration_id_and_secret_headers(rsps, make_client):
    client = make_client(auth=LegacyAuth(INTEGRATION_ID, SECRET))
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    headers = rsps.calls[0].request.headers
    assert headers["integration_id"] == INTEGRATION_ID
    assert headers["secret"] == SECRET
    assert "X-Api-Key" not in headers


def test_every_request_has_accept_user_agent_and_explicit_timeouts(rsps, make_client):
    client = make_client(connect_timeout=1.5, read_timeout=7.0)
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    request = rsps.calls[0].request
    assert request.headers["Accept"] == "application/json"
    assert request.headers["User-Agent"].startswith("comps-backoffice/")
    assert request.req_kwargs["timeout"] == (1.5, 7.0)


def test_auth_reprs_mask_secrets():
    assert API_KEY not in repr(ApiKeyAuth(API_KEY))
    assert API_KEY not in str(ApiKeyAuth(API_KEY))
    legacy = LegacyAuth(INTEGRATION_ID, SECRET)
    assert SECRET not in repr(legacy)
    assert INTEGRATION_ID not in repr(legacy)


def test_client_repr_masks_the_key(client):
    assert API_KEY not in repr(client)


@pytest.mark.parametrize("bad", ["", "   ", "key\r\nX-Evil: 1", " padded"])
def test_auth_rejects_unusable_header_values_without_quoting_them(bad):
    with pytest.raises(ValueError, match="API key") as caught:
        ApiKeyAuth(bad)
    if bad.strip():
        assert bad.strip() not in str(caught.value)


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
# GET failures: mapping and retries
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (400, Rejected),
        (401, AuthenticationFailed),
        (403, PermissionDenied),
        (404, NotFound),
        (409, Rejected),
        (422, Rejected),
    ],
)
def test_get_client_errors_are_raised_at_once_without_retry(rsps, client, fake_time, status, error):
    rsps.get(url("/events/ev1"), json=error_body(status), status=status)

    with pytest.raises(error) as caught:
        client.get_event("ev1")

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []
    assert caught.value.status == status
    assert caught.value.api_message == f"error {status}"
    assert caught.value.may_have_been_created is False


def test_401_message_names_the_likely_causes(rsps, client):
    rsps.get(url("/channels/"), json=error_body(401), status=401)

    with pytest.raises(AuthenticationFailed) as caught:
        client.check_connection()

    assert "expired" in caught.value.message
    assert "environment" in caught.value.message


def test_403_message_names_the_key_scope(rsps, client):
    rsps.get(url("/users/"), json=error_body(403), status=403)

    with pytest.raises(PermissionDenied, match="scope"):
        client.list_promoters()


def test_404_on_channels_is_explained_as_environment_or_scope(rsps, client):
    rsps.get(url("/channels/"), json=error_body(404), status=404)

    with pytest.raises(NotFound) as caught:
        client.check_connection()

    assert "environment" in caught.value.message
    assert "scope" in caught.value.message


def test_rejected_get_carries_the_api_message(rsps, client):
    rsps.get(url("/events/"), json={"error": "Date is empty"}, status=400)

    with pytest.raises(Rejected, match="Date is empty") as caught:
        client.list_events(start=date(2024, 1, 1), end=date(2024, 1, 2))

    assert caught.value.api_message == "Date is empty"


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, RateLimited), (500, Unavailable), (502, Unavailable), (503, Unavailable)],
)
def test_get_retries_transient_statuses_with_backoff_then_gives_up(
    rsps, client, fake_time, records, status, error
):
    rsps.get(url("/channels/"), json=error_body(status), status=status)

    with pytest.raises(error) as caught:
        client.list_channels()

    assert len(rsps.calls) == 4
    assert fake_time.sleeps == [0.5, 1.5, 4.5]
    assert caught.value.status == status
    assert [(record.status, record.attempt) for record in records] == [
        (status, n) for n in (1, 2, 3, 4)
    ]


@pytest.mark.parametrize(
    "fault",
    [refused, dns_failure, connect_timeout, read_timeout, reset_after_send, broken_chunked_body],
    ids=["refused", "dns", "connect-timeout", "read-timeout", "reset", "chunked"],
)
def test_get_retries_network_faults_then_raises_unavailable(
    rsps, client, fake_time, records, fault
):
    rsps.get(url("/channels/"), body=fault())

    with pytest.raises(Unavailable) as caught:
        client.list_channels()

    assert len(rsps.calls) == 4
    assert fake_time.sleeps == [0.5, 1.5, 4.5]
    assert caught.value.status is None
    assert [record.attempt for record in records] == [1, 2, 3, 4]
    assert all(record.status is None and record.error for record in records)


def test_get_succeeds_when_a_retry_succeeds(rsps, client, fake_time):
    rsps.get(url("/channels/"), body=reset_after_send())
    rsps.get(url("/channels/"), json=error_body(503), status=503)
    rsps.get(url("/channels/"), json=ok([{"_id": "c1"}]))

    channels = client.list_channels()

    assert [c.id for c in channels] == ["c1"]
    assert fake_time.sleeps == [0.5, 1.5]


def test_backoff_uses_equal_jitter(rsps, make_client, fake_time):
    client = make_client(jitter=lambda: 0.0)
    rsps.get(url("/channels/"), json=error_body(500), status=500)

    with pytest.raises(Unavailable):
        client.list_channels()

    assert fake_time.sleeps == [0.25, 0.75, 2.25]


def test_backoff_is_capped(rsps, make_client, fake_time):
    client = make_client(get_retries=5, backoff_seconds=1.0, max_backoff_seconds=10.0)
    rsps.get(url("/channels/"), json=error_body(500), status=500)

    with pytest.raises(Unavailable):
        client.list_channels()

    assert fake_time.sleeps == [1.0, 3.0, 9.0, 10.0, 10.0]


def test_get_retries_setting_is_honoured(rsps, make_client, fake_time):
    client = make_client(get_retries=1)
    rsps.get(url("/channels/"), json=error_body(502), status=502)

    with pytest.raises(Unavailable):
        client.list_channels()

    assert len(rsps.calls) == 2
    assert fake_time.sleeps == [0.5]


def test_zero_retries_means_a_single_attempt(rsps, make_client, fake_time):
    client = make_client(get_retries=0)
    rsps.get(url("/channels/"), body=read_timeout())

    with pytest.raises(Unavailable):
        client.list_channels()

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []


def test_retry_after_header_sets_the_delay(rsps, client, fake_time):
    rsps.get(url("/channels/"), json=error_body(429), status=429, headers={"Retry-After": "2"})
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    assert fake_time.sleeps == [2.0]


def test_retry_after_is_capped(rsps, make_client, fake_time):
    client = make_client(max_retry_after_seconds=30.0)
    rsps.get(url("/channels/"), json=error_body(429), status=429, headers={"Retry-After": "3600"})
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    assert fake_time.sleeps == [30.0]


def test_unreadable_retry_after_falls_back_to_backoff(rsps, client, fake_time):
    rsps.get(
        url("/channels/"),
        json=error_body(503),
        status=503,
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"},
    )
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    assert fake_time.sleeps == [0.5]


def test_rate_limited_get_reports_retry_after(rsps, client):
    rsps.get(url("/channels/"), json=error_body(429), status=429, headers={"Retry-After": "1"})

    with pytest.raises(RateLimited) as caught:
        client.list_channels()

    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize(
    ("body", "content_type", "match"),
    [
        ("{not json", "application/json", "not JSON"),
        ("<html>gateway</html>", "text/html", "not JSON"),
        ("[1, 2]", "application/json", "not a JSON object"),
        (json.dumps({"success": False, "error": "nope"}), "application/json", "success: false"),
        (json.dumps({"success": True}), "application/json", "without any data"),
        (json.dumps({"success": True, "data": None}), "application/json", "without any data"),
        (json.dumps({"success": True, "data": "text"}), "application/json", "cannot read"),
    ],
    ids=["malformed", "html", "array", "success-false", "no-data", "null-data", "string-data"],
)
def test_get_2xx_without_a_usable_envelope_is_invalid_and_not_retried(
    rsps, client, fake_time, body, content_type, match
):
    rsps.get(url("/channels/"), body=body, content_type=content_type)

    with pytest.raises(InvalidResponse, match=match):
        client.list_channels()

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []


def test_success_false_carries_the_api_message(rsps, client):
    rsps.get(url("/channels/"), json={"success": False, "message": "Organization disabled"})

    with pytest.raises(InvalidResponse) as caught:
        client.list_channels()

    assert caught.value.api_message == "Organization disabled"


def test_get_redirect_is_invalid_and_not_followed(rsps, client):
    rsps.get(url("/channels/"), status=301, headers={"Location": url("/moved/")})
    rsps.get(url("/moved/"), json=ok([]))

    with pytest.raises(InvalidResponse, match="redirected"):
        client.list_channels()

    assert len(rsps.calls) == 1


# --------------------------------------------------------------------------------------------
# Creating: never retried, classified by whether it may have been processed
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


@pytest.mark.parametrize("status", [200, 201])
def test_create_accepts_any_2xx(rsps, client, status):
    rsps.post(url("/tickets/"), json=ok(ticket_dict("t1")), status=status)

    assert client.create_tickets(comp_request())[0].id == "t1"


CREATE_REFUSED = [
    (400, Rejected),
    (401, AuthenticationFailed),
    (403, PermissionDenied),
    (404, NotFound),
    (422, Rejected),
    (429, RateLimited),
]


@pytest.mark.parametrize(("status", "error"), CREATE_REFUSED)
def test_create_refusals_mean_nothing_was_created(rsps, client, fake_time, status, error):
    rsps.post(url("/tickets/"), json=error_body(status), status=status)

    with pytest.raises(error) as caught:
        client.create_tickets(comp_request())

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []
    assert caught.value.may_have_been_created is False
    assert caught.value.status == status


def test_create_rejection_tells_staff_nothing_was_created(rsps, client):
    rsps.post(url("/tickets/"), json={"success": False, "error": "Email is required"}, status=400)

    with pytest.raises(Rejected) as caught:
        client.create_tickets(comp_request())

    assert "Email is required" in caught.value.message
    assert "Nothing was created" in caught.value.message


def test_create_429_is_not_retried_even_with_retry_after(rsps, client, fake_time):
    rsps.post(url("/tickets/"), json=error_body(429), status=429, headers={"Retry-After": "1"})

    with pytest.raises(RateLimited) as caught:
        client.create_tickets(comp_request())

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []
    assert caught.value.retry_after == 1.0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_create_5xx_outcome_is_unknown(rsps, client, fake_time, status):
    rsps.post(url("/tickets/"), json=error_body(status), status=status)

    with pytest.raises(OutcomeUnknown) as caught:
        client.create_tickets(comp_request())

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []
    assert caught.value.may_have_been_created is True
    assert caught.value.status == status


@pytest.mark.parametrize(
    "fault", [refused, dns_failure, connect_timeout], ids=["refused", "dns", "connect-timeout"]
)
def test_create_that_never_left_is_unavailable_and_safe(rsps, client, fake_time, fault):
    rsps.post(url("/tickets/"), body=fault())

    with pytest.raises(Unavailable) as caught:
        client.create_tickets(comp_request())

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []
    assert caught.value.may_have_been_created is False
    assert "never sent" in caught.value.message


@pytest.mark.parametrize(
    "fault",
    [
        read_timeout,
        reset_after_send,
        remote_disconnected,
        broken_chunked_body,
        lambda: requests.ConnectionError("unclassified"),
        lambda: requests.exceptions.SSLError("bad record mac"),
    ],
    ids=["read-timeout", "reset", "remote-disconnected", "chunked", "unclassified", "ssl"],
)
def test_create_that_may_have_arrived_is_outcome_unknown(rsps, client, fake_time, fault):
    rsps.post(url("/tickets/"), body=fault())

    with pytest.raises(OutcomeUnknown) as caught:
        client.create_tickets(comp_request())

    assert len(rsps.calls) == 1
    assert fake_time.sleeps == []
    assert caught.value.may_have_been_created is True
    assert "Do not send them again" in caught.value.message


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ("{not json", 200),
        ("", 200),
        (json.dumps({"success": False, "error": "Something failed"}), 200),
        (json.dumps({"success": True}), 200),
        (json.dumps({"success": True, "data": []}), 200),
        (json.dumps({"success": True, "data": {"code": "NOID"}}), 200),
        (json.dumps({"success": True, "data": "t1"}), 200),
        (json.dumps([ticket_dict()]), 200),
        ("", 302),
    ],
    ids=[
        "malformed",
        "empty",
        "success-false",
        "no-data",
        "empty-array",
        "no-id",
        "string-data",
        "bare-array",
        "redirect",
    ],
)
def test_create_with_an_unusable_reply_is_outcome_unknown(rsps, client, body, status):
    rsps.post(url("/tickets/"), body=body, status=status, content_type="application/json")

    with pytest.raises(OutcomeUnknown) as caught:
        client.create_tickets(comp_request())

    assert len(rsps.calls) == 1
    assert caught.value.may_have_been_created is True


def test_create_unexpected_exception_is_outcome_unknown(rsps, client):
    rsps.post(url("/tickets/"), body=RuntimeError("adapter exploded"))

    with pytest.raises(OutcomeUnknown):
        client.create_tickets(comp_request())

    assert len(rsps.calls) == 1


def test_create_is_not_retried_by_a_callers_session_adapter(rsps, make_client):
    # A session configured elsewhere with urllib3 retries for POST must not apply here.
    session = requests.Session()
    retrying = requests.adapters.HTTPAdapter(
        max_retries=requests.adapters.Retry(total=5, allowed_methods=None)
    )
    session.mount("https://", retrying)
    client = make_client(session=session)

    adapter = session.get_adapter(url("/tickets/"))
    assert adapter is not retrying
    assert adapter.max_retries.total == 0
    assert client._session is session


def test_refund_failures_follow_the_create_rules(rsps, client):
    rsps.post(url("/tickets/refund/t1"), body=read_timeout())

    with pytest.raises(OutcomeUnknown, match="refund"):
        client.refund_ticket("t1", amount=Decimal("0"))

    assert len(rsps.calls) == 1


# --------------------------------------------------------------------------------------------
# Call records, redaction and secrets
# --------------------------------------------------------------------------------------------


def test_one_call_record_per_attempt(rsps, client, records):
    rsps.get(url("/tickets/"), json=error_body(503), status=503)
    rsps.get(url("/tickets/"), json=ok([ticket_dict("t1")]))

    list(client.iter_tickets(event_id="ev1"))

    assert [(r.method, r.path, r.status, r.attempt) for r in records] == [
        ("GET", "/tickets/", 503, 1),
        ("GET", "/tickets/", 200, 2),
    ]
    assert records[0].query == {"event_id": "ev1", "limit": 500, "offset": 0}
    assert records[0].request_body is None


def test_call_record_measures_duration_with_the_injected_clock(rsps, make_client, records):
    ticks = iter([10.0, 10.25])
    client = make_client(clock=lambda: next(ticks))
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    assert records[0].duration_ms == pytest.approx(250.0)


def test_create_record_masks_the_document_number_in_request_and_response(rsps, client, records):
    rsps.post(url("/tickets/"), json=ok(ticket_dict("t1")))

    client.create_tickets(comp_request())

    [record] = records
    assert record.method == "POST"
    assert record.request_body["tickets"][0]["personal_document_number"] == "•••78Z"
    assert record.response_body["data"]["personal_document_number"] == "•••78Z"
    assert DOCUMENT not in json.dumps(record.request_body)
    assert DOCUMENT not in json.dumps(record.response_body)


def test_malformed_body_record_is_text_with_document_masked(rsps, client, records):
    rsps.post(
        url("/tickets/"),
        body='{"success": true, "data": {"personal_document_number": "12345678Z", ',
        content_type="application/json",
    )

    with pytest.raises(OutcomeUnknown):
        client.create_tickets(comp_request())

    assert isinstance(records[0].response_body, str)
    assert DOCUMENT not in records[0].response_body
    assert "•••78Z" in records[0].response_body


def test_large_response_bodies_are_truncated_in_records(rsps, client, records):
    rsps.get(url("/tickets/"), json=ok([ticket_dict(f"t{n}") for n in range(300)]))

    list(client.iter_tickets(event_id="ev1"))

    assert isinstance(records[0].response_body, str)
    assert len(records[0].response_body) <= 20_000


def test_failed_attempt_record_has_error_and_no_status(rsps, client, records):
    rsps.post(url("/tickets/"), body=read_timeout())

    with pytest.raises(OutcomeUnknown):
        client.create_tickets(comp_request())

    assert records[0].status is None
    assert records[0].error.startswith("ReadTimeout")
    assert records[0].response_body is None


def test_a_failing_recorder_never_hides_a_created_ticket(rsps, make_client):
    def broken(record: CallRecord) -> None:
        raise RuntimeError("database is down")

    client = make_client(on_call=broken)
    rsps.post(url("/tickets/"), json=ok(ticket_dict("t1")))

    assert client.create_tickets(comp_request())[0].id == "t1"


def failure_cases(leak: str) -> list[tuple[str, dict]]:
    """Every kind of failure, with the credential echoed back by the "server" where it can be."""
    return [
        ("get", {"json": error_body(401), "status": 401}),
        ("get", {"json": {"success": False, "error": f"bad key {leak}"}, "status": 403}),
        ("get", {"json": {"success": False, "message": f"bad key {leak}"}, "status": 500}),
        ("get", {"body": refused()}),
        ("get", {"body": read_timeout()}),
        ("get", {"json": {"success": False, "error": leak}}),
        ("post", {"json": {"error": f"key {leak}"}, "status": 400}),
        ("post", {"body": f"oops {leak}", "status": 502}),
        ("post", {"json": {"echo": {"secret": "x", "detail": leak}}, "status": 200}),
        ("post", {"body": reset_after_send()}),
        ("post", {"body": connect_timeout()}),
        ("post", {"json": {"success": False, "error": leak}}),
    ]


AUTHS = {
    "v2": (ApiKeyAuth(API_KEY), (API_KEY,)),
    "v1": (LegacyAuth(INTEGRATION_ID, SECRET), (INTEGRATION_ID, SECRET)),
}


@pytest.mark.parametrize("auth_kind", ["v2", "v1"])
@pytest.mark.parametrize("case", range(len(failure_cases("x"))))
def test_secrets_never_reach_messages_records_or_logs(
    rsps, make_client, records, caplog, auth_kind, case
):
    auth, secrets = AUTHS[auth_kind]
    method, reply = failure_cases(" ".join(secrets))[case]
    client = make_client(auth=auth, get_retries=1)
    caplog.set_level(logging.DEBUG, logger="tickets.fourvenues")
    if method == "get":
        rsps.get(url("/channels/"), **reply)
        call = client.list_channels
    else:
        rsps.post(url("/tickets/"), **reply)

        def call():
            return client.create_tickets(comp_request())

    with pytest.raises(FourvenuesError) as caught:
        call()

    exposed = " ".join(
        [
            str(caught.value),
            repr(caught.value),
            str(caught.value.api_message),
            repr(records),
            caplog.text,
        ]
    )
    assert records  # the check below is meaningless if nothing was recorded
    for secret in secrets:
        assert secret not in exposed


def test_logs_name_method_path_and_status(rsps, client, caplog):
    caplog.set_level(logging.INFO, logger="tickets.fourvenues")
    rsps.get(url("/channels/"), json=ok([]))

    client.list_channels()

    assert "GET /channels/ -> 200" in caplog.text


# --------------------------------------------------------------------------------------------
# Throttling through the client
# --------------------------------------------------------------------------------------------


class CountingLimiter(RateLimiter):
    def __init__(self) -> None:
        super().__init__(1000.0, clock=lambda: 0.0, sleep=lambda _s: None)
        self.acquired = 0

    def acquire(self) -> float:
        self.acquired += 1
        return 0.0


def test_every_attempt_acquires_the_limiter_including_retries(rsps, make_client):
    limiter = CountingLimiter()
    client = make_client(rate_limiter=limiter)
    rsps.get(url("/channels/"), json=error_body(503), status=503)
    rsps.get(url("/channels/"), json=error_body(503), status=503)
    rsps.get(url("/channels/"), json=ok([]))
    rsps.post(url("/tickets/"), json=ok(ticket_dict()))

    client.list_channels()
    client.create_tickets(comp_request())

    assert limiter.acquired == 4


def test_requests_are_spaced_by_the_rate_limit(rsps, make_client, fake_time):
    throttle_sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        throttle_sleeps.append(seconds)
        fake_time.now += seconds

    limiter = RateLimiter(10.0, clock=fake_time.clock, sleep=sleep)
    client = make_client(rate_limiter=limiter)
    rsps.get(url("/channels/"), json=ok([]))

    for _ in range(4):
        client.list_channels()

    assert throttle_sleeps == pytest.approx([0.1, 0.1, 0.1])


def test_clients_with_the_same_key_share_one_limiter(make_client):
    key = ApiKeyAuth("ik_live_shared-limiter-test-key")
    first = make_client(auth=key, rate_limit_per_second=10.0)
    second = make_client(auth=key, rate_limit_per_second=10.0)
    other = make_client(auth=ApiKeyAuth("ik_live_another-key-entirely"), rate_limit_per_second=10.0)

    assert first._limiter is second._limiter
    assert first._limiter is not other._limiter
