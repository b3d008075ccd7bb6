"""Shared pieces of the client's unit tests (test_client, test_endpoints, test_calls).

`responses` is the mock boundary. No test sleeps: a client gets a fake clock and a sleep that
only records (and advances the fake clock), so backoff and throttling are asserted on the
delays requested. Each test module declares its own small fixtures on top of these helpers,
so nothing here is a fixture that other test directories could pick up by name.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from http.client import RemoteDisconnected
from urllib.parse import parse_qs, urlsplit

import requests
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
    CallRecord,
    CreateTicketsRequest,
    FourvenuesClient,
    NewTicket,
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


def client_factory(
    fake_time: FakeTime, records: list[CallRecord]
) -> Callable[..., FourvenuesClient]:
    """`make_client(**overrides)`: a client on the fake clock that records into `records`."""

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
