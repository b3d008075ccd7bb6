"""The sandbox answers as Fourvenues' real clients have seen it answer (issue 13 §4.6).

Two document faults reshape the tickets of an answer (`promoter_object`, `missing_fields`), and
the control API makes an event a draft or hides it, all over real HTTP. What is stored never
changes: only the answer does.
"""

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_get, api_post, comp_body, issue
from tickets.fourvenues.sandbox import MISSING_FIELDS, PROMOTER_OBJECT, FaultError, FaultSpec
from tickets.fourvenues.sandbox.catalogue import night_of


def control(server, method, path, **kwargs):
    kwargs.setdefault("timeout", HTTP_TIMEOUT)
    return requests.request(method, f"{server.control_url}{path}", **kwargs)


def promoted_body(server):
    """A valid create attributed to the first promoter (referral_id, no channel)."""
    body = comp_body(server)
    del body["channel_id"]
    body["referral_id"] = server.catalogue.users[0]["_id"]
    return body


# --------------------------------------------------------------------------- promoter_object


@pytest.mark.parametrize("id_key", ["_id", "id"])
def test_promoter_object_answers_the_referral_as_an_object_everywhere(sandbox, id_key):
    sandbox.inject(PROMOTER_OBJECT, id_key=id_key, times=0)
    user = sandbox.catalogue.users[0]
    promoter = {id_key: user["_id"], "name": "Lucía Fernández", "email": user["email"]}

    created = api_post(sandbox, "/tickets/", promoted_body(sandbox)).json()["data"]
    (stored,) = sandbox.tickets()
    listed = api_get(sandbox, "/tickets/", params={"event_id": stored["event_id"]}).json()
    by_id = api_get(sandbox, f"/tickets/{stored['_id']}").json()["data"]
    by_code = api_get(sandbox, f"/tickets/by-code/{stored['code']}").json()["data"]

    for ticket in (created, listed["data"][0], by_id, by_code):
        assert ticket["referral_id"] == promoter
    assert stored["referral_id"] == user["_id"]  # the store keeps the id


def test_promoter_object_leaves_tickets_without_a_promoter_and_other_endpoints_alone(sandbox):
    sandbox.inject(PROMOTER_OBJECT, times=1)
    users = api_get(sandbox, "/users/").json()["data"]
    assert users == sandbox.catalogue.users
    assert sandbox.active_faults()[0]["fired"] == 0  # a listing of users is not a ticket answer

    (ticket,) = issue(sandbox)  # through a channel: no referral to reshape

    assert not ticket["referral_id"]
    assert sandbox.active_faults() == []  # used up by the create all the same


# --------------------------------------------------------------------------- missing_fields


def test_missing_fields_leaves_amounts_and_status_out_of_answers_only(sandbox):
    sandbox.inject(MISSING_FIELDS, times=0)

    created = api_post(sandbox, "/tickets/", comp_body(sandbox)).json()["data"]
    (stored,) = sandbox.tickets()
    listed = api_get(sandbox, "/tickets/", params={"event_id": stored["event_id"]}).json()["data"]

    for ticket in (created, listed[0]):
        assert not {"price", "total_paid", "status"} & set(ticket)
        assert ticket["_id"] == stored["_id"]
        assert "total_fees" in ticket
    assert (stored["price"], stored["total_paid"], stored["status"]) == (0, 0, "activated")


def test_missing_fields_takes_the_fields_to_leave_out(sandbox):
    sandbox.inject(MISSING_FIELDS, fields=["refunded", "for"])
    (ticket,) = issue(sandbox)
    answered = api_get(sandbox, f"/tickets/{ticket['_id']}").json()["data"]
    assert "status" in answered  # the create used the one-shot fault up
    sandbox.inject(MISSING_FIELDS, fields=["refunded", "for"])
    answered = api_get(sandbox, f"/tickets/{ticket['_id']}").json()["data"]
    assert not {"refunded", "for"} & set(answered)
    assert answered["status"] == "activated"


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        (PROMOTER_OBJECT, {"id_key": "uuid"}, "id_key must be '_id' or 'id'"),
        (MISSING_FIELDS, {"fields": []}, "fields must be a non-empty list"),
        (MISSING_FIELDS, {"fields": ["_id"]}, "never _id"),
        (MISSING_FIELDS, {"fields": [3]}, "fields must be a non-empty list"),
    ],
)
def test_bad_document_fault_parameters_are_refused(sandbox, kind, params, message):
    with pytest.raises(FaultError, match=message):
        FaultSpec(kind=kind, params=params)
    response = control(sandbox, "POST", "/faults", json={"kind": kind, "params": params})
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_document_faults_parse_from_the_command_line():
    assert FaultSpec.parse("missing_fields:fields=price").params == {"fields": ["price"]}
    assert FaultSpec.parse("promoter_object:id_key=id").params == {"id_key": "id"}


def test_the_index_describes_the_document_faults_and_event_publication(sandbox):
    index = control(sandbox, "GET", "/").json()
    assert index["fault_kinds"][PROMOTER_OBJECT]["params"] == {"id_key": "_id"}
    assert index["fault_kinds"][MISSING_FIELDS]["params"] == {
        "fields": ["price", "total_paid", "status"]
    }
    assert f"PATCH {sandbox.control_url}/events/<id>" in index["control_endpoints"]


# --------------------------------------------------------------------------- drafts, hidden


def test_an_event_can_be_made_a_draft_or_hidden_and_published_again(sandbox):
    event = sandbox.catalogue.events[0]
    day = night_of(event["date"]).isoformat()
    night = {"start": day, "end": day}
    assert (event["active"], event["visible"]) == (True, True)

    draft = control(sandbox, "PATCH", f"/events/{event['_id']}", json={"active": False})
    hidden = control(sandbox, "PATCH", f"/events/{event['_id']}", json={"visible": False})

    assert draft.json()["data"]["active"] is False
    assert hidden.json()["data"] == {**event, "active": False, "visible": False}
    served = api_get(sandbox, f"/events/{event['_id']}").json()["data"]
    assert (served["active"], served["visible"]) == (False, False)
    listed = [
        e
        for e in api_get(sandbox, "/events/", params=night).json()["data"]
        if e["_id"] == event["_id"]
    ]
    assert listed == [served]
    control(sandbox, "PATCH", f"/events/{event['_id']}", json={"active": True, "visible": True})
    assert api_get(sandbox, f"/events/{event['_id']}").json()["data"] == event


@pytest.mark.parametrize(
    "body", [{}, {"name": "x"}, {"active": "no"}, [], {"active": False, "slug": "x"}]
)
def test_publication_changes_other_than_the_two_flags_are_refused(sandbox, body):
    event_id = sandbox.catalogue.events[0]["_id"]
    response = control(sandbox, "PATCH", f"/events/{event_id}", json=body)
    assert response.status_code == 400
    assert sandbox.catalogue.events[0]["active"] is True


def test_publishing_an_unknown_event_is_not_found(sandbox):
    response = control(sandbox, "PATCH", "/events/nope", json={"active": False})
    assert response.status_code == 404
