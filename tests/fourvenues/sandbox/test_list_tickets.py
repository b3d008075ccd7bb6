"""GET /tickets/: event filter, ordering, paging rules (§2.5) and date filters (§3.5)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.fixtures.sandbox import api_get, api_post, comp_body, issue


def list_tickets(server, **params):
    params.setdefault("event_id", server.catalogue.events[0]["_id"])
    return api_get(server, "/tickets/", params=params)


def ids(response):
    return [t["_id"] for t in response.json()["data"]]


def test_only_the_events_tickets_in_creation_order(sandbox):
    other_event = sandbox.catalogue.events[1]
    other_rate = sandbox.catalogue.free_rate(other_event["_id"])
    first = issue(sandbox, holders=2)
    body = comp_body(sandbox, ticket_rate_id=other_rate["_id"])
    body["tickets"][0]["price_id"] = other_rate["options"][0]["_id"]
    assert api_post(sandbox, "/tickets/", body).status_code == 200
    second = issue(sandbox)

    response = list_tickets(sandbox)
    assert response.status_code == 200
    assert ids(response) == [t["_id"] for t in first + second]
    other = list_tickets(sandbox, event_id=other_event["_id"]).json()["data"]
    assert [t["event_id"] for t in other] == [other_event["_id"]]


def test_created_at_is_strictly_increasing_so_order_is_unambiguous(sandbox):
    issue(sandbox, holders=5)
    issue(sandbox, holders=5)
    listed = list_tickets(sandbox).json()["data"]
    stamps = [t["created_at"] for t in listed]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)


def test_an_event_without_tickets_lists_empty(sandbox):
    assert list_tickets(sandbox).json() == {"success": True, "data": []}


def test_event_id_is_required(sandbox):
    response = api_get(sandbox, "/tickets/")
    assert response.status_code == 400
    assert "event_id" in response.json()["error"]


def test_unknown_event_is_404(sandbox):
    assert list_tickets(sandbox, event_id="no-such-event").status_code == 404


def test_limit_and_offset_page_through(sandbox):
    created = [t["_id"] for t in issue(sandbox, holders=7)]
    pages = [ids(list_tickets(sandbox, limit=3, offset=offset)) for offset in (0, 3, 6)]
    assert pages == [created[0:3], created[3:6], created[6:7]]


def test_offset_past_the_end_is_an_empty_page(sandbox):
    issue(sandbox, holders=2)
    response = list_tickets(sandbox, offset=2)
    assert response.status_code == 200
    assert response.json()["data"] == []
    assert ids(list_tickets(sandbox, offset=1000)) == []


def test_default_page_is_500(sandbox):
    issue(sandbox, holders=501)
    assert len(ids(list_tickets(sandbox))) == 500
    assert len(ids(list_tickets(sandbox, offset=500))) == 1
    assert len(ids(list_tickets(sandbox, limit=500))) == 500


@pytest.mark.parametrize(
    "params",
    [
        {"limit": 501},
        {"limit": 1000},
        {"limit": -1},
        {"limit": 0},
        {"limit": "ten"},
        {"limit": "1.5"},
        {"limit": ""},
        {"offset": -1},
        {"offset": "x"},
    ],
    ids=lambda p: "-".join(f"{k}={v}" for k, v in p.items()),
)
def test_bad_paging_is_400(sandbox, params):
    response = list_tickets(sandbox, **params)
    assert response.status_code == 400
    assert response.json()["success"] is False
    assert next(iter(params)) in response.json()["error"]


def test_start_and_end_dates_are_inclusive(sandbox):
    first, second, third = issue(sandbox, holders=3)
    response = list_tickets(sandbox, start_date=second["created_at"], end_date=second["created_at"])
    assert ids(response) == [second["_id"]]
    assert ids(list_tickets(sandbox, start_date=second["created_at"])) == [
        second["_id"],
        third["_id"],
    ]
    assert ids(list_tickets(sandbox, end_date=second["created_at"])) == [
        first["_id"],
        second["_id"],
    ]


def test_date_filters_accept_other_iso_forms(sandbox):
    [ticket] = issue(sandbox)
    created = datetime.fromisoformat(ticket["created_at"])
    day = created.date().isoformat()
    assert ids(list_tickets(sandbox, start_date=day, end_date=day)) == [ticket["_id"]]
    with_offset = (created - timedelta(seconds=1)).astimezone(ZoneInfo("Europe/Madrid"))
    assert "+0" in with_offset.isoformat()
    assert ids(list_tickets(sandbox, start_date=with_offset.isoformat())) == [ticket["_id"]]
    later = (created + timedelta(seconds=1)).isoformat()
    assert ids(list_tickets(sandbox, start_date=later)) == []


def test_date_field_updated_at_filters_on_the_last_change(sandbox):
    first, second = issue(sandbox, holders=2)
    refund = api_post(sandbox, f"/tickets/refund/{first['_id']}", {"amount": 0})
    assert refund.status_code == 200
    changed = api_get(sandbox, f"/tickets/{first['_id']}").json()["data"]["updated_at"]
    assert changed > second["created_at"]
    response = list_tickets(sandbox, date_field="updated_at", start_date=changed)
    assert ids(response) == [first["_id"]]
    response = list_tickets(sandbox, date_field="created_at", start_date=changed)
    assert ids(response) == []


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "yesterday"},
        {"end_date": "2024-02-30T00:00:00Z"},
        {"start_date": "2024-01-01T25:00:00Z"},
        {"date_field": "entry_date"},
    ],
    ids=["start-word", "end-impossible-day", "start-bad-hour", "date-field"],
)
def test_malformed_filters_are_400(sandbox, params):
    response = list_tickets(sandbox, **params)
    assert response.status_code == 400
    assert next(iter(params)) in response.json()["error"]
