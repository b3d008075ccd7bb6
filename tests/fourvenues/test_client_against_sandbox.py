"""The client over real HTTP against the Fourvenues sandbox.

These exercise what `responses` cannot: real sockets, real timeouts, real resets, and the
sandbox's own validation. Delays are kept to fractions of a second; the only waits are the
ones a fault needs to happen at all.
"""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tickets.fourvenues import (
    ApiKeyAuth,
    AuthenticationFailed,
    CallRecord,
    CreateTicketsRequest,
    FourvenuesClient,
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
from tickets.fourvenues.errors import Refused

TICKETS_PATH = "/integrations/tickets/"


class RecordingSleep:
    """Records the delays the client asks for, and waits a bounded real time so that the
    sandbox's token bucket can refill without the test taking seconds."""

    def __init__(self, cap: float = 0.25) -> None:
        self.delays: list[float] = []
        self._cap = cap

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        time.sleep(min(seconds, self._cap))


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def sleeper() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def make_client(sandbox, records, sleeper):
    clients: list[FourvenuesClient] = []

    def make(server=None, **overrides) -> FourvenuesClient:
        server = server or sandbox
        kwargs = {
            "base_url": server.base_url,
            "auth": ApiKeyAuth(server.api_headers()["X-Api-Key"]),
            "connect_timeout": 1.0,
            "read_timeout": 5.0,
            "backoff_seconds": 0.05,
            "rate_limit_per_second": None,
            "on_call": records.append,
            "sleep": sleeper,
            "jitter": lambda: 1.0,
        }
        kwargs.update(overrides)
        client = FourvenuesClient(**kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client) -> FourvenuesClient:
    return make_client()


def free_comp_target(sandbox) -> tuple[str, str, str]:
    """(event_id, rate_id, price_id) of the first event's free rate."""
    event = sandbox.catalogue.events[0]
    rate = sandbox.catalogue.free_rate(event["_id"])
    return event["_id"], rate["_id"], rate["options"][0]["_id"]


def comp_request(sandbox, count: int = 1, **overrides) -> CreateTicketsRequest:
    _, rate_id, price_id = free_comp_target(sandbox)
    values = {
        "ticket_rate_id": rate_id,
        "sale_type": "online",
        "channel_id": sandbox.catalogue.channels[0]["_id"],
        "tickets": tuple(
            NewTicket(full_name=f"Guest {n}", email=f"guest{n}@example.com", price_id=price_id)
            for n in range(count)
        ),
    }
    values.update(overrides)
    return CreateTicketsRequest(**values)


def posts(sandbox) -> list[tuple[str, str]]:
    return [entry for entry in sandbox.request_log if entry == ("POST", TICKETS_PATH)]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Every endpoint
# --------------------------------------------------------------------------------------------


def test_check_connection_lists_the_catalogue_channels(sandbox, client):
    channels = client.check_connection()

    assert [c.id for c in channels] == [c["_id"] for c in sandbox.catalogue.channels]
    assert all(c.name and c.slug for c in channels)


def test_list_events_returns_the_catalogue_window(sandbox, client):
    today = sandbox.catalogue.today

    events = client.list_events(start=today, end=today + timedelta(days=70))

    assert [e.id for e in events] == [e["_id"] for e in sandbox.catalogue.events]
    assert all(e.start and e.start.tzinfo is UTC for e in events)
    assert all(e.start <= e.end for e in events)


def test_get_event_by_id(sandbox, client):
    expected = sandbox.catalogue.events[3]

    event = client.get_event(expected["_id"])

    assert event.id == expected["_id"]
    assert event.name == expected["name"]
    assert event.start == datetime.fromtimestamp(expected["start"], tz=UTC)


def test_unknown_event_is_not_found(client):
    with pytest.raises(NotFound):
        client.get_event("no-such-event")


def test_list_ticket_rates_with_decimal_prices(sandbox, client):
    event_id = sandbox.catalogue.events[0]["_id"]

    rates = client.list_ticket_rates(event_id=event_id)

    expected = sandbox.catalogue.rates_for(event_id)
    assert [r.id for r in rates] == [r["_id"] for r in expected]
    for rate, raw in zip(rates, expected, strict=True):
        assert [o.id for o in rate.options] == [o["_id"] for o in raw["options"]]
        assert [o.price for o in rate.options] == [
            Decimal(str(o["price"])).quantize(Decimal("0.01")) for o in raw["options"]
        ]


def test_list_promoters_including_a_non_ascii_id(sandbox, client):
    promoters = client.list_promoters()

    assert [p.id for p in promoters] == [u["_id"] for u in sandbox.catalogue.users]
    assert any(p.id.startswith("ñ") for p in promoters)
    assert all(p.first_name and p.last_name for p in promoters)


def test_create_one_ticket_then_read_it_by_id_and_by_code(sandbox, client):
    event_id, rate_id, price_id = free_comp_target(sandbox)

    [ticket] = client.create_tickets(comp_request(sandbox))

    assert posts(sandbox) == [("POST", TICKETS_PATH)]
    [stored] = sandbox.tickets()
    assert ticket.id == stored["_id"]
    assert (ticket.event_id, ticket.rate_id, ticket.price_id) == (event_id, rate_id, price_id)
    assert ticket.is_valid
    assert ticket.total_paid == Decimal("0.00")
    assert ticket.channel_id == sandbox.catalogue.channels[0]["_id"]
    assert client.get_ticket(ticket.id).code == ticket.code
    assert client.get_ticket_by_code(ticket.code).id == ticket.id


def test_create_with_a_non_ascii_promoter_as_referral(sandbox, client):
    promoter_id = next(u["_id"] for u in sandbox.catalogue.users if u["_id"].startswith("ñ"))

    [ticket] = client.create_tickets(
        comp_request(sandbox, channel_id=None, referral_id=promoter_id)
    )

    assert ticket.referral_id == promoter_id
    assert ticket.channel_id is None


def test_create_with_our_qr_code_finds_it_by_code(sandbox, client):
    _, rate_id, price_id = free_comp_target(sandbox)
    request = CreateTicketsRequest(
        ticket_rate_id=rate_id,
        sale_type="online",
        tickets=(
            NewTicket(
                full_name="Ana Pérez",
                email="ana@example.com",
                price_id=price_id,
                qr_code="COMPS-TEST-0001",
                personal_document_type="dni",
                personal_document_number="12345678Z",
            ),
        ),
    )

    [ticket] = client.create_tickets(request)

    assert client.get_ticket_by_code("COMPS-TEST-0001").id == ticket.id


def test_create_several_with_the_documented_object_response(sandbox, client):
    event_id, _, _ = free_comp_target(sandbox)

    returned = client.create_tickets(comp_request(sandbox, count=3))

    assert len(returned) == 1
    assert len(sandbox.tickets()) == 3
    # The rest are found by payment_id, as the issuing flow does.
    listed = [
        t for t in client.iter_tickets(event_id=event_id) if t.payment_id == returned[0].payment_id
    ]
    assert len(listed) == 3


def test_create_several_with_an_array_response(sandbox, client):
    sandbox.inject("response_shape", shape="array")

    returned = client.create_tickets(comp_request(sandbox, count=3))

    assert sorted(t.id for t in returned) == sorted(t["_id"] for t in sandbox.tickets())
    assert len({t.payment_id for t in returned}) == 1


def test_ticket_paging_over_more_than_one_full_page(sandbox, client, records):
    event_id, _, _ = free_comp_target(sandbox)
    sandbox.inject("response_shape", shape="array")
    created = client.create_tickets(comp_request(sandbox, count=501))
    records.clear()

    listed = list(client.iter_tickets(event_id=event_id))

    assert len(listed) == 501
    assert {t.id for t in listed} == {t.id for t in created}
    assert [(r.query["offset"], r.query["limit"]) for r in records] == [(0, 500), (500, 500)]


def test_ticket_paging_with_a_smaller_page_size_and_an_empty_last_page(sandbox, client, records):
    event_id, _, _ = free_comp_target(sandbox)
    client.create_tickets(comp_request(sandbox, count=6))
    records.clear()

    listed = list(client.iter_tickets(event_id=event_id, page_size=3))

    assert len(listed) == 6
    assert [r.query["offset"] for r in records] == [0, 3, 6]


def test_ticket_list_filtered_by_created_at(sandbox, client):
    event_id, _, _ = free_comp_target(sandbox)
    [first] = client.create_tickets(comp_request(sandbox))
    [second] = client.create_tickets(comp_request(sandbox))

    listed = list(
        client.iter_tickets(
            event_id=event_id,
            start_date=second.created_at,
            end_date=second.created_at + timedelta(seconds=1),
        )
    )

    assert [t.id for t in listed] == [second.id]
    assert first.created_at < second.created_at


def test_unknown_ticket_is_not_found(client):
    with pytest.raises(NotFound):
        client.get_ticket("no-such-ticket")
    with pytest.raises(NotFound):
        client.get_ticket_by_code("NOSUCHCODE")


def test_refund_of_a_comp_with_zero_voids_it(sandbox, client):
    [ticket] = client.create_tickets(comp_request(sandbox))

    client.refund_ticket(ticket.id, amount=Decimal("0"))

    refreshed = client.get_ticket(ticket.id)
    assert "cancelled" in refreshed.statuses
    assert not refreshed.is_valid


def test_refund_refused_by_the_api_is_rejected(sandbox, client):
    [ticket] = client.create_tickets(comp_request(sandbox))

    with pytest.raises(Rejected, match="refundable"):
        client.refund_ticket(ticket.id, amount=Decimal("5"))


def test_v1_auth_works(sandbox, make_client):
    headers = sandbox.api_headers("v1")
    client = make_client(auth=LegacyAuth(headers["integration_id"], headers["secret"]))

    assert client.check_connection()


def test_a_bad_key_is_an_authentication_failure_that_does_not_leak(make_client, records):
    key = "ik_live_not-the-right-key-at-all"
    client = make_client(auth=ApiKeyAuth(key))

    with pytest.raises(AuthenticationFailed) as caught:
        client.check_connection()

    assert caught.value.status == 401
    assert len(records) == 1
    assert key not in str(caught.value)
    assert key not in repr(records)


def test_an_endpoint_outside_the_key_scope_is_permission_denied(sandbox_factory, make_client):
    server = sandbox_factory(scopes=["GET /channels/"])
    client = make_client(server)

    assert client.check_connection()
    with pytest.raises(PermissionDenied):
        client.create_tickets(comp_request(server))
    assert server.tickets() == []


# --------------------------------------------------------------------------------------------
# Faults over real HTTP
# --------------------------------------------------------------------------------------------


def test_timeout_after_commit_is_outcome_unknown_and_the_ticket_exists(
    sandbox, make_client, records
):
    client = make_client(read_timeout=0.3)
    sandbox.inject("timeout_after_commit", seconds=3, match_method="POST")

    with pytest.raises(OutcomeUnknown) as caught:
        client.create_tickets(comp_request(sandbox))

    assert caught.value.may_have_been_created is True
    assert len(sandbox.tickets()) == 1
    assert len(posts(sandbox)) == 1
    assert records[-1].status is None
    assert "Timeout" in records[-1].error


def test_reset_after_commit_is_outcome_unknown_and_the_ticket_exists(sandbox, client):
    sandbox.inject("reset_after_commit", match_method="POST")

    with pytest.raises(OutcomeUnknown):
        client.create_tickets(comp_request(sandbox))

    assert len(sandbox.tickets()) == 1
    assert len(posts(sandbox)) == 1


def test_error_before_commit_is_outcome_unknown_and_nothing_is_stored(sandbox, client):
    sandbox.inject("error_before_commit", status=500, match_method="POST")

    with pytest.raises(OutcomeUnknown) as caught:
        client.create_tickets(comp_request(sandbox))

    assert caught.value.status == 500
    assert sandbox.tickets() == []
    assert len(posts(sandbox)) == 1


def test_error_after_commit_is_outcome_unknown_and_the_ticket_exists(sandbox, client):
    sandbox.inject("error_after_commit", status=502, match_method="POST")

    with pytest.raises(OutcomeUnknown):
        client.create_tickets(comp_request(sandbox))

    assert len(sandbox.tickets()) == 1
    assert len(posts(sandbox)) == 1


def test_a_retrying_session_from_the_caller_cannot_repeat_a_create(sandbox, make_client):
    # Were this adapter used, urllib3 would resend the POST on the 502.
    session = requests.Session()
    session.mount(
        "http://",
        HTTPAdapter(
            max_retries=Retry(
                total=3, status_forcelist=[502], allowed_methods=None, backoff_factor=0
            )
        ),
    )
    client = make_client(session=session)
    sandbox.inject("error_after_commit", status=502, times=None, match_method="POST")

    with pytest.raises(OutcomeUnknown):
        client.create_tickets(comp_request(sandbox))

    assert len(posts(sandbox)) == 1
    assert len(sandbox.tickets()) == 1


def test_malformed_json_after_commit_is_outcome_unknown(sandbox, client):
    sandbox.inject("malformed_json", match_method="POST")

    with pytest.raises(OutcomeUnknown):
        client.create_tickets(comp_request(sandbox))

    assert len(sandbox.tickets()) == 1
    assert len(posts(sandbox)) == 1


@pytest.mark.parametrize("commit", [False, True])
def test_success_false_is_a_refusal_with_the_api_message_whether_or_not_stored(
    sandbox, client, commit
):
    # Issue 13 §4.6: a 200 saying `success: false` is Fourvenues refusing, in its own words.
    sandbox.inject("success_false", commit=commit, match_method="POST", message="Rate sold out")

    with pytest.raises(Refused) as caught:
        client.create_tickets(comp_request(sandbox))

    assert caught.value.message == "Fourvenues refused these tickets: Rate sold out."
    assert caught.value.api_message == "Rate sold out"
    assert len(sandbox.tickets()) == (1 if commit else 0)
    assert len(posts(sandbox)) == 1


def test_validation_error_is_rejected_and_nothing_is_stored(sandbox, client):
    _, rate_id, _ = free_comp_target(sandbox)
    request = CreateTicketsRequest(
        ticket_rate_id=rate_id,
        sale_type="online",
        tickets=(NewTicket(full_name="Ana", email="ana@example.com", price_id="not-an-option"),),
    )

    with pytest.raises(Rejected) as caught:
        client.create_tickets(request)

    assert caught.value.status == 400
    assert "price" in caught.value.api_message
    assert caught.value.may_have_been_created is False
    assert sandbox.tickets() == []


def test_sale_type_not_allowed_is_rejected(sandbox, client):
    with pytest.raises(Rejected, match="sale_type"):
        client.create_tickets(comp_request(sandbox, sale_type="invitation"))
    assert sandbox.tickets() == []


def test_create_refused_connection_is_unavailable_and_safe(make_client):
    client = make_client(base_url=f"http://127.0.0.1:{closed_port()}/integrations")

    with pytest.raises(Unavailable) as caught:
        client.create_tickets(
            CreateTicketsRequest(
                ticket_rate_id="r",
                sale_type="online",
                tickets=(NewTicket(full_name="A", email="a@example.com", price_id="p"),),
            )
        )

    assert caught.value.may_have_been_created is False


def test_get_on_a_refused_connection_is_retried_then_unavailable(make_client, sleeper, records):
    client = make_client(base_url=f"http://127.0.0.1:{closed_port()}/integrations")

    with pytest.raises(Unavailable):
        client.list_channels()

    assert len(records) == 4
    assert len(sleeper.delays) == 3


def test_rate_limited_get_is_retried_then_succeeds(sandbox, client, sleeper):
    # One token per 10 s: the second call is refused; `times=1` lets the retry through.
    sandbox.inject("rate_limit", per_second=0.1, burst=1, times=1, match_method="GET")

    client.list_channels()
    channels = client.list_channels()

    assert channels
    assert sleeper.delays == [0.05]
    assert len(sandbox.request_log) == 3


def test_rate_limited_get_honours_retry_after(sandbox, client, sleeper):
    sandbox.inject(
        "rate_limit", per_second=0.1, burst=1, retry_after=1, times=1, match_method="GET"
    )

    client.list_channels()
    client.list_channels()

    assert sleeper.delays == [1.0]


def test_rate_limited_create_is_refused_and_not_retried(sandbox, client):
    sandbox.inject("rate_limit", per_second=0.1, times=None, match_method="POST")
    client.create_tickets(comp_request(sandbox))

    with pytest.raises(RateLimited) as caught:
        client.create_tickets(comp_request(sandbox))

    assert caught.value.may_have_been_created is False
    assert len(sandbox.tickets()) == 1
    assert len(posts(sandbox)) == 2


def test_get_5xx_is_retried_then_succeeds(sandbox, client, sleeper):
    sandbox.inject("error_before_commit", status=503, times=2, match_method="GET")

    assert client.list_channels()
    assert len(sleeper.delays) == 2


def test_get_read_timeout_is_retried_then_succeeds(sandbox, make_client, records):
    client = make_client(read_timeout=0.3)
    sandbox.inject("latency", seconds=1.0, match_method="GET")

    assert client.list_channels()
    assert [r.status for r in records] == [None, 200]


def test_client_side_throttle_spaces_real_requests(make_client):
    client = make_client(rate_limiter=RateLimiter(20.0))
    started = time.monotonic()

    for _ in range(5):
        client.list_channels()

    assert time.monotonic() - started >= 0.2 - 0.01


# --- Refunds (withdrawing a comp) under every fault: sent once, classified like a create -------


@pytest.mark.parametrize(
    ("kind", "params", "error", "applied"),
    [
        ("timeout_after_commit", {"seconds": 3}, OutcomeUnknown, True),
        ("error_after_commit", {"status": 502}, OutcomeUnknown, True),
        ("reset_after_commit", {}, OutcomeUnknown, True),
        ("malformed_json", {}, OutcomeUnknown, True),
        ("error_before_commit", {"status": 500}, OutcomeUnknown, False),
        ("error_before_commit", {"status": 429}, RateLimited, False),
        ("error_before_commit", {"status": 400}, Rejected, False),
        ("success_false", {}, Refused, False),
    ],
    ids=lambda v: v if isinstance(v, str) else (getattr(v, "__name__", None) or str(v)),
)
def test_a_refund_is_sent_once_under_every_fault_and_classified(
    sandbox, make_client, kind, params, error, applied
):
    client = make_client(read_timeout=1.0)
    [ticket] = client.create_tickets(comp_request(sandbox))
    sandbox.inject(kind, match_method="POST", match_path="/tickets/refund", **params)
    sandbox.app.clear_request_log()

    with pytest.raises(error):
        client.refund_ticket(ticket.id, amount=Decimal("0"))

    refunds = [call for call in sandbox.request_log if call[0] == "POST"]
    assert refunds == [("POST", f"/integrations/tickets/refund/{ticket.id}")]  # never repeated
    assert sandbox.refund_count(ticket.id) == (1 if applied else 0)
    assert ("cancelled" in client.get_ticket(ticket.id).statuses) is applied


def test_a_refund_answered_success_false_is_a_refusal_naming_it(sandbox, client):
    [ticket] = client.create_tickets(comp_request(sandbox))
    sandbox.inject("success_false", match_path="/tickets/refund", message="Not refundable")

    with pytest.raises(Refused, match=r"refused the refund: Not refundable\. Nothing was refunded"):
        client.refund_ticket(ticket.id, amount=Decimal("0"))
