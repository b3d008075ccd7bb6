"""POST /tickets/refund/{id} (§3.10 assumption) and PUT /tickets/by-code/{code}/checkin (§3.11)."""

from datetime import UTC, datetime

import pytest
import requests

from tests.fixtures.sandbox import api_get, api_post, api_put, comp_body, issue


def refund(server, ticket_id, body):
    return api_post(server, f"/tickets/refund/{ticket_id}", body)


def fetch(server, ticket_id):
    return api_get(server, f"/tickets/{ticket_id}").json()["data"]


def paid_ticket(server, *, total_price, fee):
    body = comp_body(server)
    body["tickets"][0].update(total_price=total_price, fee=fee)
    response = api_post(server, "/tickets/", body)
    assert response.status_code == 200
    return response.json()["data"]


def test_refund_zero_on_a_comp_voids_it(sandbox):
    [ticket] = issue(sandbox)
    response = refund(sandbox, ticket["_id"], {"amount": 0})
    assert response.status_code == 200
    assert response.json() == {"success": True}
    after = fetch(sandbox, ticket["_id"])
    assert after["status"] == "cancelled"
    assert after["refunded"] == 0
    assert after["updated_at"] > ticket["updated_at"]
    assert after["created_at"] == ticket["created_at"]


def test_partial_refunds_add_up_and_cancel_when_covered(sandbox):
    ticket = paid_ticket(sandbox, total_price=10, fee=1)
    assert ticket["total_paid"] == 11
    assert refund(sandbox, ticket["_id"], {"amount": 4.5}).status_code == 200
    middle = fetch(sandbox, ticket["_id"])
    assert (middle["refunded"], middle["status"]) == (4.5, "activated")
    assert refund(sandbox, ticket["_id"], {"amount": 6.5}).status_code == 200
    final = fetch(sandbox, ticket["_id"])
    assert (final["refunded"], final["status"]) == (11, "cancelled")


def test_refund_beyond_the_balance_is_400(sandbox):
    ticket = paid_ticket(sandbox, total_price=5, fee=0)
    response = refund(sandbox, ticket["_id"], {"amount": 6})
    assert response.status_code == 400
    assert fetch(sandbox, ticket["_id"])["refunded"] == 0


def test_refund_of_a_cancelled_ticket_is_400(sandbox):
    [ticket] = issue(sandbox)
    refund(sandbox, ticket["_id"], {"amount": 0})
    response = refund(sandbox, ticket["_id"], {"amount": 0})
    assert response.status_code == 400
    assert "cancelled" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "amount is required"),
        ({"amount": -1}, "amount must be a number >= 0"),
        ({"amount": "0"}, "amount must be a number >= 0"),
        ({"amount": True}, "amount must be a number >= 0"),
        ([0], "Request body must be a JSON object"),
    ],
    ids=["missing", "negative", "string", "bool", "array"],
)
def test_invalid_refund_is_400_and_changes_nothing(sandbox, body, message):
    [ticket] = issue(sandbox)
    response = refund(sandbox, ticket["_id"], body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert fetch(sandbox, ticket["_id"]) == ticket


def test_refund_of_an_unknown_ticket_is_404(sandbox):
    assert refund(sandbox, "nope", {"amount": 0}).status_code == 404


def checkin(server, code, body):
    return api_put(server, f"/tickets/by-code/{code}/checkin", body)


def test_checkin_sets_enter_and_entry_date_in_epoch_seconds(sandbox):
    [ticket] = issue(sandbox)
    body = {"enter": 1, "entry_date": "2026-03-07T00:45:10.000Z", "quality": 4}
    response = checkin(sandbox, ticket["code"], body)
    assert response.status_code == 200
    assert response.json() == {"success": True}
    after = fetch(sandbox, ticket["_id"])
    assert after["enter"] == 1
    assert after["entry_date"] == int(datetime(2026, 3, 7, 0, 45, 10, tzinfo=UTC).timestamp())
    assert after["updated_at"] > ticket["updated_at"]


def test_checkin_by_id_too(sandbox):
    [ticket] = issue(sandbox)
    body = {"enter": 1, "entry_date": "2026-03-07T01:00:00Z"}
    assert api_put(sandbox, f"/tickets/{ticket['_id']}/checkin", body).status_code == 200
    assert fetch(sandbox, ticket["_id"])["enter"] == 1


def test_a_used_ticket_cannot_enter_again(sandbox):
    [ticket] = issue(sandbox)
    body = {"enter": 1, "entry_date": "2026-03-07T01:00:00Z"}
    assert checkin(sandbox, ticket["code"], body).status_code == 200
    response = checkin(sandbox, ticket["code"], body)
    assert response.status_code == 400
    assert "already used" in response.json()["error"]


def test_a_cancelled_ticket_cannot_enter(sandbox):
    [ticket] = issue(sandbox)
    refund(sandbox, ticket["_id"], {"amount": 0})
    response = checkin(sandbox, ticket["code"], {"enter": 1, "entry_date": "2026-03-07"})
    assert response.status_code == 400
    assert fetch(sandbox, ticket["_id"])["enter"] == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"entry_date": "2026-03-07T01:00:00Z"}, "enter is required"),
        ({"enter": 0, "entry_date": "2026-03-07T01:00:00Z"}, "enter must be a positive integer"),
        ({"enter": 1}, "entry_date is required"),
        ({"enter": 1, "entry_date": 1772845200}, "entry_date must be an ISO 8601 string"),
        ({"enter": 1, "entry_date": "last night"}, "entry_date is not a valid ISO 8601"),
        ({"enter": 1, "entry_date": "2026-03-07", "quality": 6}, "quality must be a number"),
    ],
    ids=["no-enter", "zero-enter", "no-date", "epoch-date", "bad-date", "quality"],
)
def test_invalid_checkin_is_400(sandbox, body, message):
    [ticket] = issue(sandbox)
    response = checkin(sandbox, ticket["code"], body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert fetch(sandbox, ticket["_id"]) == ticket


def test_checkin_of_an_unknown_code_is_404(sandbox):
    body = {"enter": 1, "entry_date": "2026-03-07T01:00:00Z"}
    assert checkin(sandbox, "NOPE12345", body).status_code == 404


def test_refunds_are_counted_per_ticket_applied_or_refused(sandbox):
    [ticket] = issue(sandbox)
    [other] = issue(sandbox)
    assert sandbox.refund_count(ticket["_id"]) == 0
    refund(sandbox, ticket["_id"], {"amount": 0})
    refund(sandbox, ticket["_id"], {"amount": 0})  # refused: already cancelled, still counted
    refund(sandbox, other["_id"], {"amount": -1})  # a bad body never reaches the ticket
    assert sandbox.refund_count(ticket["_id"]) == 2
    assert sandbox.refund_count(other["_id"]) == 0
    listed = requests.get(f"{sandbox.control_url}/refunds", timeout=5).json()["data"]
    assert listed == {ticket["_id"]: 2}
    sandbox.reset()
    assert sandbox.refund_count(ticket["_id"]) == 0


def test_a_fault_before_commit_leaves_the_refund_uncounted_and_after_commit_applied(sandbox):
    [before] = issue(sandbox)
    [after] = issue(sandbox)
    sandbox.inject("error_before_commit", status=503, match_path="/tickets/refund")
    assert refund(sandbox, before["_id"], {"amount": 0}).status_code == 503
    assert fetch(sandbox, before["_id"])["status"] == "activated"
    assert sandbox.refund_count(before["_id"]) == 0
    sandbox.inject("error_after_commit", status=502, match_path="/tickets/refund")
    assert refund(sandbox, after["_id"], {"amount": 0}).status_code == 502
    assert fetch(sandbox, after["_id"])["status"] == "cancelled"
    assert sandbox.refund_count(after["_id"]) == 1
