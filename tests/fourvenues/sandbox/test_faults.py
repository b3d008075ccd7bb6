"""Fault injection over real HTTP: each kind, one-shot versus persistent, and matching."""

import threading
import time

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_get, api_post, comp_body
from tickets.fourvenues.sandbox import (
    ERROR_AFTER_COMMIT,
    ERROR_BEFORE_COMMIT,
    LATENCY,
    MALFORMED_JSON,
    RATE_LIMIT,
    RESET_AFTER_COMMIT,
    RESPONSE_SHAPE,
    SUCCESS_FALSE,
    TIMEOUT_AFTER_COMMIT,
)


def create(server, holders=1, **kwargs):
    return api_post(server, "/tickets/", comp_body(server, holders=holders), **kwargs)


# --------------------------------------------------------------------------- each kind


def test_latency_delays_the_answer(sandbox):
    sandbox.inject(LATENCY, seconds=0.2)
    started = time.monotonic()
    response = api_get(sandbox, "/channels/")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2
    assert sandbox.active_faults() == []


def test_timeout_after_commit_stores_the_ticket_while_the_client_times_out(sandbox):
    sandbox.inject(TIMEOUT_AFTER_COMMIT, seconds=30)
    with pytest.raises(requests.ReadTimeout):
        create(sandbox, timeout=0.3)
    # The client gave up without knowing; the ticket exists all the same.
    assert len(sandbox.wait_for_tickets(1)) == 1
    assert sandbox.request_log == [("POST", "/integrations/tickets/")]


def test_timeout_after_commit_closes_without_a_response_after_the_hang(sandbox):
    sandbox.inject(TIMEOUT_AFTER_COMMIT, seconds=0.2)
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        create(sandbox, timeout=HTTP_TIMEOUT)
    assert time.monotonic() - started >= 0.2
    assert len(sandbox.tickets()) == 1


def test_timeout_on_a_read_simply_hangs(sandbox):
    sandbox.inject(TIMEOUT_AFTER_COMMIT, seconds=30, match_method="GET")
    with pytest.raises(requests.ReadTimeout):
        api_get(sandbox, "/channels/", timeout=0.2)


def test_stop_releases_a_request_stuck_in_a_hang(sandbox_factory):
    server = sandbox_factory()
    server.inject(TIMEOUT_AFTER_COMMIT, seconds=60)
    outcome = {}

    def call():
        try:
            create(server, timeout=30)
        except requests.RequestException as exc:
            outcome["error"] = exc

    caller = threading.Thread(target=call)
    caller.start()
    server.wait_for_tickets(1)  # the request is now hanging
    started = time.monotonic()
    server.stop()
    caller.join(5)
    assert time.monotonic() - started < 3
    assert not caller.is_alive()
    assert isinstance(outcome["error"], requests.ConnectionError)


def test_error_before_commit_stores_nothing(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT)
    response = create(sandbox)
    assert response.status_code == 500
    body = response.json()
    assert body["success"] is False
    assert body["error"] == body["message"]
    assert sandbox.tickets() == []


def test_error_before_commit_with_another_status(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT, status=503, message="Service Unavailable")
    response = create(sandbox)
    assert response.status_code == 503
    assert response.json()["error"] == "Service Unavailable"
    assert sandbox.tickets() == []


def test_error_after_commit_stores_the_ticket(sandbox):
    sandbox.inject(ERROR_AFTER_COMMIT)
    response = create(sandbox)
    assert response.status_code == 502
    assert response.json()["success"] is False
    assert len(sandbox.tickets()) == 1


def test_reset_after_commit_resets_the_connection_and_stores_the_ticket(sandbox):
    sandbox.inject(RESET_AFTER_COMMIT)
    with pytest.raises(requests.ConnectionError):
        create(sandbox)
    assert len(sandbox.tickets()) == 1
    # The create was not retried behind the client's back.
    assert sandbox.request_log == [("POST", "/integrations/tickets/")]


def test_malformed_json_answers_200_with_an_unparseable_body_and_stores(sandbox):
    sandbox.inject(MALFORMED_JSON)
    response = create(sandbox)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.JSONDecodeError):
        response.json()
    assert response.text.startswith('{"success": true')
    assert len(sandbox.tickets()) == 1


def test_success_false_without_commit_stores_nothing(sandbox):
    sandbox.inject(SUCCESS_FALSE)
    response = create(sandbox)
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is False
    assert body["error"]
    assert sandbox.tickets() == []


def test_success_false_with_commit_stores_the_ticket(sandbox):
    sandbox.inject(SUCCESS_FALSE, commit=True, message="Something went wrong")
    response = create(sandbox)
    assert response.status_code == 200
    assert response.json() == {
        "success": False,
        "error": "Something went wrong",
        "message": "Something went wrong",
    }
    assert len(sandbox.tickets()) == 1


def test_rate_limit_answers_429_beyond_the_rate_without_retry_after(sandbox):
    sandbox.inject(RATE_LIMIT, per_second=0.01, times=0)  # one token, refilled in 100 s
    assert api_get(sandbox, "/channels/").status_code == 200
    response = api_get(sandbox, "/channels/")
    assert response.status_code == 429
    assert response.json() == {
        "success": False,
        "error": "Too many requests",
        "message": "Too many requests",
    }
    assert "Retry-After" not in response.headers


def test_rate_limit_with_retry_after(sandbox):
    sandbox.inject(RATE_LIMIT, per_second=0.01, retry_after=7, times=0)
    api_get(sandbox, "/channels/")
    response = api_get(sandbox, "/channels/")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_a_throttled_create_is_not_processed(sandbox):
    sandbox.inject(RATE_LIMIT, per_second=0.01, times=0)
    assert create(sandbox).status_code == 200
    assert create(sandbox).status_code == 429
    assert len(sandbox.tickets()) == 1


def test_rate_limit_buckets_are_per_credential(sandbox):
    sandbox.inject(RATE_LIMIT, per_second=0.01, times=0)
    assert api_get(sandbox, "/channels/").status_code == 200
    assert api_get(sandbox, "/channels/").status_code == 429
    v1 = sandbox.api_headers("v1")
    assert api_get(sandbox, "/channels/", headers=v1).status_code == 200


def test_rate_limit_allows_a_burst(sandbox):
    sandbox.inject(RATE_LIMIT, per_second=0.01, burst=3, times=0)
    statuses = [api_get(sandbox, "/channels/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]


def test_rate_limit_refills_over_time(sandbox):
    sandbox.inject(RATE_LIMIT, per_second=20, burst=1, times=0)
    statuses = [api_get(sandbox, "/channels/").status_code]
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not (429 in statuses and statuses[-1] == 200):
        statuses.append(api_get(sandbox, "/channels/").status_code)
    assert statuses[0] == 200
    assert 429 in statuses, "requests faster than 20/s were throttled"
    assert statuses[-1] == 200, "a token came back within 2 s at 20 per second"


def test_response_shape_object_is_the_documented_default(sandbox):
    data = create(sandbox, holders=2).json()["data"]
    assert isinstance(data, dict)
    assert data == sandbox.tickets()[0]


def test_response_shape_array_returns_every_created_ticket(sandbox):
    sandbox.inject(RESPONSE_SHAPE, shape="array")
    data = create(sandbox, holders=2).json()["data"]
    assert data == sandbox.tickets()
    assert len(data) == 2


def test_response_shape_is_only_used_up_by_creates(sandbox):
    sandbox.inject(RESPONSE_SHAPE, shape="array")
    api_get(sandbox, "/channels/")
    assert len(sandbox.active_faults()) == 1
    assert isinstance(create(sandbox).json()["data"], list)
    assert sandbox.active_faults() == []


# --------------------------------------------------------------------------- lifetime, matching


def test_one_shot_fault_hits_only_the_next_request(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT)
    assert create(sandbox).status_code == 500
    assert create(sandbox).status_code == 200
    assert len(sandbox.tickets()) == 1


def test_fault_fires_the_given_number_of_times(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT, times=2)
    statuses = [api_get(sandbox, "/channels/").status_code for _ in range(3)]
    assert statuses == [500, 500, 200]


@pytest.mark.parametrize("times", [0, None])
def test_persistent_fault_stays_until_cleared(sandbox, times):
    sandbox.inject(ERROR_BEFORE_COMMIT, times=times)
    assert [api_get(sandbox, "/channels/").status_code for _ in range(3)] == [500] * 3
    sandbox.clear_faults()
    assert api_get(sandbox, "/channels/").status_code == 200


def test_outcome_faults_are_used_in_order(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT, status=503)
    sandbox.inject(ERROR_AFTER_COMMIT, status=504)
    assert create(sandbox).status_code == 503
    assert create(sandbox).status_code == 504
    assert create(sandbox).status_code == 200
    assert len(sandbox.tickets()) == 2


def test_latency_combines_with_an_outcome_fault(sandbox):
    sandbox.inject(LATENCY, seconds=0.1)
    sandbox.inject(ERROR_AFTER_COMMIT)
    started = time.monotonic()
    assert create(sandbox).status_code == 502
    assert time.monotonic() - started >= 0.1
    assert len(sandbox.tickets()) == 1


def test_match_method(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT, match_method="post", times=0)
    assert api_get(sandbox, "/channels/").status_code == 200
    assert create(sandbox).status_code == 500


def test_match_path_is_a_prefix_on_whole_segments(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT, match_path="/tickets", times=0)
    event_id = sandbox.catalogue.events[0]["_id"]
    assert api_get(sandbox, "/channels/").status_code == 200
    assert api_get(sandbox, "/tickets-rates/", params={"event_id": event_id}).status_code == 200
    assert api_get(sandbox, "/tickets/", params={"event_id": event_id}).status_code == 500
    assert api_get(sandbox, "/tickets/by-code/ABC").status_code == 500
    assert create(sandbox).status_code == 500


def test_match_method_and_path_together(sandbox):
    sandbox.inject(ERROR_AFTER_COMMIT, match_method="POST", match_path="/tickets/", times=0)
    event_id = sandbox.catalogue.events[0]["_id"]
    assert create(sandbox).status_code == 502
    assert api_get(sandbox, "/tickets/", params={"event_id": event_id}).status_code == 200


def test_a_non_matching_request_does_not_use_the_fault_up(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT, match_method="POST")
    api_get(sandbox, "/channels/")
    assert sandbox.active_faults()[0]["remaining"] == 1
    assert create(sandbox).status_code == 500


def test_faults_never_touch_the_control_endpoint(sandbox):
    sandbox.inject(ERROR_BEFORE_COMMIT, times=0)
    sandbox.inject(RATE_LIMIT, per_second=0.01, times=0)
    for _ in range(3):
        response = requests.get(f"{sandbox.control_url}/health", timeout=HTTP_TIMEOUT)
        assert response.status_code == 200


def test_faults_given_at_start_up(sandbox_factory):
    server = sandbox_factory(
        faults=[
            {"kind": ERROR_BEFORE_COMMIT, "params": {"status": 503}, "times": 0},
            {"kind": RESPONSE_SHAPE, "params": {"shape": "array"}, "times": 0},
        ]
    )
    assert api_get(server, "/channels/").status_code == 503
    assert [f["kind"] for f in server.active_faults()] == [ERROR_BEFORE_COMMIT, RESPONSE_SHAPE]


def test_an_unknown_fault_kind_is_refused(sandbox):
    with pytest.raises(ValueError, match="unknown fault kind"):
        sandbox.inject("explode")
