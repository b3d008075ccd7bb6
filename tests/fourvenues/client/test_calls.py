"""What the client writes down about each call (calls.py): records, redaction, secrets, logs.

Driven through the client, with `responses` as the mock boundary.
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.fourvenues.client_support import (
    API_KEY,
    DOCUMENT,
    INTEGRATION_ID,
    SECRET,
    comp_request,
    connect_timeout,
    error_body,
    ok,
    read_timeout,
    refused,
    reset_after_send,
    ticket_dict,
    url,
)
from tickets.fourvenues import (
    ApiKeyAuth,
    CallRecord,
    FourvenuesError,
    LegacyAuth,
    OutcomeUnknown,
)

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
