"""The /_sandbox control endpoint: index, health, faults, tickets, reset."""

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_get, issue
from tickets.fourvenues.sandbox import DEFAULT_API_KEY, FAULT_KINDS


def control(server, method, path, **kwargs):
    kwargs.setdefault("timeout", HTTP_TIMEOUT)
    return requests.request(method, f"{server.control_url}{path}", **kwargs)


@pytest.mark.parametrize("path", ["", "/"])
def test_index_describes_urls_credentials_endpoints_and_faults(sandbox, path):
    response = control(sandbox, "GET", path)
    assert response.status_code == 200
    index = response.json()
    assert index["base_url"] == sandbox.base_url
    assert index["control_url"] == sandbox.control_url
    assert index["credentials"]["X-Api-Key"] == DEFAULT_API_KEY
    assert f"POST {sandbox.base_url}/tickets/" in index["api_endpoints"]
    assert set(index["fault_kinds"]) == set(FAULT_KINDS)
    assert index["fault_kinds"]["timeout_after_commit"]["params"] == {"seconds": 30.0}


def test_health(sandbox):
    issue(sandbox)
    sandbox.inject("latency", seconds=0, times=0)
    data = control(sandbox, "GET", "/health").json()["data"]
    assert data["status"] == "ok"
    assert (data["tickets"], data["faults"], data["seed"]) == (1, 1, 1)


def test_catalogue_dump(sandbox):
    data = control(sandbox, "GET", "/catalogue").json()["data"]
    assert data["channels"] == sandbox.catalogue.channels
    assert len(data["events"]) == len(sandbox.catalogue.events)


def test_add_a_fault_then_list_it_and_see_it_apply(sandbox):
    spec = {
        "kind": "error_before_commit",
        "params": {"status": 503},
        "match_method": "GET",
        "match_path": "/channels",
        "times": 1,
    }
    response = control(sandbox, "POST", "/faults", json=spec)
    assert response.status_code == 201
    fault = response.json()["data"]
    assert fault["kind"] == "error_before_commit"
    assert fault["params"]["status"] == 503
    assert (fault["match_method"], fault["match_path"]) == ("GET", "/channels")
    assert (fault["times"], fault["remaining"], fault["fired"]) == (1, 1, 0)
    assert control(sandbox, "GET", "/faults").json()["data"] == [fault]

    assert api_get(sandbox, "/channels/").status_code == 503
    assert control(sandbox, "GET", "/faults").json()["data"] == []


def test_the_fault_body_needs_no_json_content_type(sandbox):
    # curl -d sends application/x-www-form-urlencoded; training sessions use it.
    response = control(sandbox, "POST", "/faults", data='{"kind": "malformed_json"}')
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"kind": "explode"}, "unknown fault kind"),
        ({}, "kind is required"),
        ({"kind": "latency", "params": {"seconds": "2"}}, "seconds must be a number"),
        ({"kind": "latency", "params": {"secs": 2}}, "unknown parameter(s) for latency: secs"),
        ({"kind": "error_after_commit", "params": {"status": 200}}, "status must be an integer"),
        ({"kind": "response_shape", "params": {"shape": "list"}}, "shape must be"),
        ({"kind": "rate_limit", "params": {"per_second": 0}}, "per_second must be a number > 0"),
        ({"kind": "success_false", "params": {"commit": "yes"}}, "commit must be true or false"),
        ({"kind": "latency", "times": -1}, "times must be a non-negative integer"),
        ({"kind": "latency", "match_method": ""}, "match_method must be a non-empty string"),
        ({"kind": "latency", "when": "now"}, "unknown field(s): when"),
        (["latency"], "a fault must be a JSON object"),
    ],
    ids=[
        "unknown-kind",
        "no-kind",
        "param-type",
        "unknown-param",
        "status-range",
        "shape",
        "rate-zero",
        "commit-type",
        "times-negative",
        "empty-method",
        "unknown-field",
        "not-object",
    ],
)
def test_bad_faults_are_400_and_not_added(sandbox, body, message):
    response = control(sandbox, "POST", "/faults", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert sandbox.active_faults() == []


def test_invalid_json_fault_is_400(sandbox):
    response = control(sandbox, "POST", "/faults", data="{kind")
    assert response.status_code == 400


def test_clear_all_faults(sandbox):
    sandbox.inject("latency", seconds=0, times=0)
    sandbox.inject("malformed_json")
    response = control(sandbox, "DELETE", "/faults")
    assert response.json() == {"success": True, "data": {"cleared": 2}}
    assert sandbox.active_faults() == []


def test_clear_one_fault(sandbox):
    keep = sandbox.inject("latency", seconds=0, times=0)
    drop = sandbox.inject("malformed_json")
    assert control(sandbox, "DELETE", f"/faults/{drop['id']}").status_code == 200
    assert [f["id"] for f in sandbox.active_faults()] == [keep["id"]]
    assert control(sandbox, "DELETE", f"/faults/{drop['id']}").status_code == 404


def test_tickets_shows_every_stored_ticket_in_full(sandbox):
    issue(sandbox, holders=2)
    response = control(sandbox, "GET", "/tickets")
    assert response.json() == {"success": True, "data": sandbox.tickets()}
    assert "surcharge" in response.json()["data"][0]


def test_reset_clears_tickets_faults_and_the_request_log(sandbox):
    issue(sandbox)
    sandbox.inject("latency", seconds=0, times=0)
    response = control(sandbox, "POST", "/reset")
    assert response.status_code == 200
    assert sandbox.tickets() == []
    assert sandbox.active_faults() == []
    assert sandbox.request_log == []


def test_python_reset_matches(sandbox):
    issue(sandbox)
    sandbox.inject("latency", seconds=0, times=0)
    sandbox.reset()
    assert (sandbox.tickets(), sandbox.active_faults(), sandbox.request_log) == ([], [], [])


def test_unknown_control_path_is_404_and_wrong_method_405(sandbox):
    assert control(sandbox, "GET", "/nothing").status_code == 404
    response = control(sandbox, "GET", "/reset")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"


def test_request_log_records_api_calls_only_without_query(sandbox):
    api_get(sandbox, "/channels/")
    api_get(sandbox, "/users", params={"limit": 2}, headers={})
    control(sandbox, "GET", "/health")
    assert sandbox.request_log == [
        ("GET", "/integrations/channels/"),
        ("GET", "/integrations/users"),
    ]
