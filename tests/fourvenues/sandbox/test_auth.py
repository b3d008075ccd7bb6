"""Authentication: X-Api-Key (v2) or integration_id + secret (v1); 401 otherwise; key scopes."""

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_get, api_post, comp_body
from tickets.fourvenues.sandbox import (
    DEFAULT_API_KEY,
    DEFAULT_INTEGRATION_ID,
    DEFAULT_SECRET,
    ROUTES,
)


@pytest.mark.parametrize("name", ["X-Api-Key", "x-api-key", "X-API-KEY"])
def test_api_key_header_in_any_case(sandbox, name):
    assert api_get(sandbox, "/channels/", headers={name: DEFAULT_API_KEY}).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"integration_id": DEFAULT_INTEGRATION_ID, "secret": DEFAULT_SECRET},
        {"Integration_Id": DEFAULT_INTEGRATION_ID, "SECRET": DEFAULT_SECRET},
    ],
    ids=["lowercase", "mixed-case"],
)
def test_v1_integration_id_and_secret(sandbox, headers):
    assert api_get(sandbox, "/channels/", headers=headers).status_code == 200


def test_extra_headers_are_ignored(sandbox):
    headers = {"X-Api-Key": DEFAULT_API_KEY, "integration_id": "junk", "X-Whatever": "1"}
    assert api_get(sandbox, "/channels/", headers=headers).status_code == 200


def test_a_valid_v1_pair_is_enough_even_beside_a_wrong_key(sandbox):
    headers = {"X-Api-Key": "wrong", **sandbox.api_headers("v1")}
    assert api_get(sandbox, "/channels/", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Api-Key": "ik_live_wrong"},
        {"X-Api-Key": ""},
        {"integration_id": DEFAULT_INTEGRATION_ID},
        {"secret": DEFAULT_SECRET},
        {"integration_id": DEFAULT_INTEGRATION_ID, "secret": "wrong"},
        {"integration_id": "wrong", "secret": DEFAULT_SECRET},
        {"Authorization": f"Bearer {DEFAULT_API_KEY}"},
    ],
    ids=[
        "none",
        "wrong-key",
        "empty-key",
        "id-only",
        "secret-only",
        "wrong-secret",
        "wrong-id",
        "bearer",
    ],
)
def test_missing_or_wrong_credentials_are_401(sandbox, headers):
    response = api_get(sandbox, "/channels/", headers=headers)
    assert response.status_code == 401
    body = response.json()
    assert body["success"] is False
    assert body["error"] == body["message"]
    assert body["error"]


def _concrete(template):
    return (
        template.replace("{eventId}", "x")
        .replace("{userId}", "x")
        .replace("{ticketId}", "x")
        .replace("{ticketCode}", "X")
    )


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: r.scope)
def test_every_endpoint_requires_credentials(sandbox, route):
    response = requests.request(
        route.method, sandbox.base_url + _concrete(route.template), json={}, timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 401


def test_rejected_credentials_store_nothing(sandbox):
    response = api_post(sandbox, "/tickets/", comp_body(sandbox), headers={"X-Api-Key": "no"})
    assert response.status_code == 401
    assert sandbox.tickets() == []


def test_other_configured_credentials(sandbox_factory):
    server = sandbox_factory(api_key="ik_test_other", integration_id="int-2", secret="s2")
    assert api_get(server, "/channels/", headers={"X-Api-Key": DEFAULT_API_KEY}).status_code == 401
    assert api_get(server, "/channels/", headers={"X-Api-Key": "ik_test_other"}).status_code == 200
    v1 = {"integration_id": "int-2", "secret": "s2"}
    assert api_get(server, "/channels/", headers=v1).status_code == 200


def test_a_scheme_can_be_switched_off(sandbox_factory):
    server = sandbox_factory(integration_id=None, secret=None)
    v1 = {"integration_id": DEFAULT_INTEGRATION_ID, "secret": DEFAULT_SECRET}
    assert api_get(server, "/channels/", headers=v1).status_code == 401
    assert api_get(server, "/channels/").status_code == 200


def test_scoped_key_gets_403_outside_its_endpoints(sandbox_factory):
    server = sandbox_factory(scopes=["GET /channels/", "POST /tickets/", "GET /tickets/{id}"])
    assert api_get(server, "/channels/").status_code == 200
    assert api_post(server, "/tickets/", comp_body(server)).status_code == 200
    ticket_id = server.tickets()[0]["_id"]
    assert api_get(server, f"/tickets/{ticket_id}").status_code == 200
    forbidden = api_get(server, "/users/")
    assert forbidden.status_code == 403
    assert "GET /users/" in forbidden.json()["error"]


def test_scopes_must_name_real_endpoints(sandbox_factory):
    with pytest.raises(ValueError, match="GET /tikets/"):
        sandbox_factory(scopes=["GET /tikets/"])


def test_control_endpoint_needs_no_credentials(sandbox):
    response = requests.get(f"{sandbox.control_url}/health", timeout=HTTP_TIMEOUT)
    assert response.status_code == 200
