"""Planting changes "made on Fourvenues" in the sandbox (for tests, benchmarks and trainers):
tickets issued by hand, dashboard edits, cancellations, deletions; and faults that strike in
the middle of a paged listing."""

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_get, issue


def control(server, method, path, **kwargs):
    kwargs.setdefault("timeout", HTTP_TIMEOUT)
    return requests.request(method, f"{server.control_url}{path}", **kwargs)


def listed(server, **params):
    event_id = server.catalogue.events[0]["_id"]
    response = api_get(server, "/tickets/", params={"event_id": event_id, **params})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_tickets_issued_by_hand_are_listed_with_the_defaults_of_a_box_office_ticket(sandbox):
    event_id = sandbox.catalogue.events[0]["_id"]
    response = control(
        sandbox,
        "POST",
        "/tickets",
        json=[{"event_id": event_id, "name": "By Hand"}, {"event_id": event_id}],
    )

    assert response.status_code == 201
    created = response.json()["data"]
    assert [t["_id"] for t in listed(sandbox)] == [t["_id"] for t in created]
    first = listed(sandbox)[0]
    assert (first["name"], first["status"], first["total_paid"], first["enter"]) == (
        "By Hand",
        "activated",
        0,
        0,
    )
    assert len(first["code"]) == 9
    assert first["created_at"] == first["updated_at"]


def test_a_dashboard_edit_changes_the_ticket_and_moves_updated_at_on(sandbox):
    [ticket] = issue(sandbox)

    response = control(
        sandbox,
        "PATCH",
        f"/tickets/{ticket['_id']}",
        json={"name": "New Name", "status": "cancelled"},
    )

    assert response.status_code == 200
    [after] = listed(sandbox)
    assert (after["name"], after["status"]) == ("New Name", "cancelled")
    assert after["updated_at"] > ticket["updated_at"]
    assert listed(sandbox, date_field="updated_at", start_date=after["updated_at"]) == [after]


@pytest.mark.parametrize("field", ["_id", "code", "event_id", "updated_at"])
def test_identity_and_timestamps_cannot_be_edited(sandbox, field):
    [ticket] = issue(sandbox)

    response = control(sandbox, "PATCH", f"/tickets/{ticket['_id']}", json={field: "x"})

    assert response.status_code == 400
    assert field in response.json()["error"]
    assert sandbox.tickets() == [ticket]


def test_a_deleted_ticket_is_gone_from_every_endpoint(sandbox):
    kept, deleted = issue(sandbox, holders=2)

    assert control(sandbox, "DELETE", f"/tickets/{deleted['_id']}").status_code == 200

    assert [t["_id"] for t in listed(sandbox)] == [kept["_id"]]
    assert api_get(sandbox, f"/tickets/{deleted['_id']}").status_code == 404
    assert api_get(sandbox, f"/tickets/by-code/{deleted['code']}").status_code == 404
    assert control(sandbox, "DELETE", f"/tickets/{deleted['_id']}").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        b'"text"',
        b'{"name": "no event"}',
        b'{"event_id": "e", "created_at": "yesterday"}',
        b'[{"event_id": "e", "_id": "same"}, {"event_id": "e", "_id": "same"}]',
    ],
)
def test_bad_planting_bodies_are_refused_and_change_nothing(sandbox, body):
    response = control(sandbox, "POST", "/tickets", data=body)

    assert response.status_code == 400
    assert sandbox.tickets() == []


def test_a_bulk_load_pages_in_creation_order(sandbox):
    event_id = sandbox.catalogue.events[0]["_id"]
    created = sandbox.store.load({"event_id": event_id, "name": f"N{i}"} for i in range(1203))

    pages = [listed(sandbox, offset=offset) for offset in (0, 500, 1000)]

    assert [len(page) for page in pages] == [500, 500, 203]
    assert [t["_id"] for page in pages for t in page] == [t["_id"] for t in created]


def test_a_fault_with_after_lets_that_many_requests_through_first(sandbox):
    issue(sandbox)
    sandbox.inject("error_before_commit", after=2, match_path="/tickets", status=503)

    answers = [
        api_get(sandbox, "/tickets/", params={"event_id": sandbox.catalogue.events[0]["_id"]})
        for _ in range(4)
    ]

    assert [a.status_code for a in answers] == [200, 200, 503, 200]
