"""Unit tests of the Fourvenues HTTP layer (client.py), with `responses` as the mock boundary.

What is sent on the wire, statuses and network faults mapped to typed errors, retries and
backoff for GETs, a create sent exactly once, and throttling. No test sleeps (client_support).
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pytest
import requests

from tests.fourvenues.client_support import (
    API_KEY,
    INTEGRATION_ID,
    SECRET,
    broken_chunked_body,
    comp_request,
    connect_timeout,
    dns_failure,
    error_body,
    ok,
    read_timeout,
    refused,
    remote_disconnected,
    reset_after_send,
    ticket_dict,
    url,
)
from tickets.fourvenues import (
    ApiKeyAuth,
    AuthenticationFailed,
    InvalidResponse,
    LegacyAuth,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    RateLimiter,
    Rejected,
    Unavailable,
)
from tickets.fourvenues.errors import Refused

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


def test_client_repr_masks_the_key(client):
    assert API_KEY not in repr(client)


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


@pytest.mark.parametrize(
    ("body", "shown"),
    [
        ({"success": False, "error": "Something failed"}, ": Something failed."),
        ({"success": False, "message": "Rate closed"}, ": Rate closed."),
        ({"success": "false"}, ", without saying why."),
    ],
)
def test_create_answered_200_with_success_false_is_a_refusal_with_the_api_message(
    rsps, client, body, shown
):
    # Issue 13 §4.6: what Fourvenues' real clients have seen; a refusal, not an unknown outcome.
    rsps.post(url("/tickets/"), json=body, status=200)

    with pytest.raises(Refused) as caught:
        client.create_tickets(comp_request())

    assert caught.value.message == f"Fourvenues refused these tickets{shown}"
    assert caught.value.status == 200
    assert caught.value.may_have_been_created is False
    assert len(rsps.calls) == 1


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
