"""Catalogue endpoints over real HTTP: channels, events, rates, users; envelope and routing."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_get

MADRID = ZoneInfo("Europe/Madrid")
THURSDAY = date(2026, 3, 5)


@pytest.fixture
def fixed(sandbox_factory):
    """A sandbox anchored on a known Thursday, so date ranges are predictable."""
    return sandbox_factory(today=THURSDAY)


def night(event):
    return datetime.fromtimestamp(event["date"], MADRID).date()


def test_channels_list_in_envelope(sandbox):
    response = api_get(sandbox, "/channels/")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"success": True, "data": sandbox.catalogue.channels}


@pytest.mark.parametrize("path", ["/channels", "/channels/"])
def test_collection_paths_work_with_and_without_trailing_slash(sandbox, path):
    assert api_get(sandbox, path).status_code == 200


def test_events_in_an_inclusive_local_date_range(fixed):
    friday, saturday = THURSDAY + timedelta(days=1), THURSDAY + timedelta(days=2)
    response = api_get(fixed, "/events/", params={"start": str(friday), "end": str(saturday)})
    assert response.status_code == 200
    events = response.json()["data"]
    assert [night(e) for e in events] == [friday, saturday]
    assert events == [fixed.catalogue.events[1], fixed.catalogue.events[2]]


def test_events_of_a_single_night(fixed):
    response = api_get(fixed, "/events/", params={"start": str(THURSDAY), "end": str(THURSDAY)})
    assert response.json()["data"] == [fixed.catalogue.events[0]]


def test_events_accept_full_iso_bounds(fixed):
    params = {"start": "2026-03-06T00:00:00.000Z", "end": "2026-03-06T12:00:00+01:00"}
    events = api_get(fixed, "/events/", params=params).json()["data"]
    assert [night(e) for e in events] == [date(2026, 3, 6)]


def test_events_range_past_the_catalogue_is_empty(fixed):
    params = {"start": "2030-01-01", "end": "2030-12-31"}
    assert api_get(fixed, "/events/", params=params).json() == {"success": True, "data": []}


def test_events_inverted_range_is_empty(fixed):
    params = {"start": "2026-03-07", "end": "2026-03-05"}
    assert api_get(fixed, "/events/", params=params).json()["data"] == []


def test_events_page_with_offset_and_limit(fixed):
    params = {"start": "2026-01-01", "end": "2027-01-01", "limit": 2, "offset": 3}
    events = api_get(fixed, "/events/", params=params).json()["data"]
    assert events == fixed.catalogue.events[3:5]


@pytest.mark.parametrize(
    "params",
    [{}, {"start": "2026-03-05"}, {"end": "2026-03-05"}, {"start": "", "end": "2026-03-05"}],
    ids=["none", "no-end", "no-start", "empty-start"],
)
def test_events_without_both_dates_is_400_date_is_empty(fixed, params):
    response = api_get(fixed, "/events/", params=params)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Date is empty",
        "message": "Date is empty",
    }


@pytest.mark.parametrize("bad", ["2026-13-01", "05/03/2026", "tomorrow"])
def test_events_with_a_malformed_date_is_400(fixed, bad):
    response = api_get(fixed, "/events/", params={"start": bad, "end": "2026-03-31"})
    assert response.status_code == 400
    assert "start" in response.json()["error"]


def test_event_by_id(fixed):
    event = fixed.catalogue.events[5]
    response = api_get(fixed, f"/events/{event['_id']}")
    assert response.json() == {"success": True, "data": event}


def test_unknown_event_is_404(fixed):
    response = api_get(fixed, "/events/does-not-exist")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_rates_of_an_event(sandbox):
    event = sandbox.catalogue.events[0]
    response = api_get(sandbox, "/tickets-rates/", params={"event_id": event["_id"]})
    assert response.status_code == 200
    assert response.json()["data"] == sandbox.catalogue.rates_for(event["_id"])


def test_rates_without_event_id_is_400(sandbox):
    response = api_get(sandbox, "/tickets-rates/")
    assert response.status_code == 400
    assert "event_id" in response.json()["error"]


def test_rates_of_an_unknown_event_is_404(sandbox):
    assert api_get(sandbox, "/tickets-rates/", params={"event_id": "nope"}).status_code == 404


def test_users_list_and_paging(sandbox):
    users = sandbox.catalogue.users
    assert api_get(sandbox, "/users/").json()["data"] == users
    page = api_get(sandbox, "/users/", params={"offset": 2, "limit": 3}).json()["data"]
    assert page == users[2:5]
    assert api_get(sandbox, "/users/", params={"offset": 99}).json()["data"] == []


def test_user_by_id_including_the_non_ascii_id(sandbox):
    odd = next(u for u in sandbox.catalogue.users if u["_id"].startswith("ñ"))
    response = api_get(sandbox, f"/users/{odd['_id']}")  # requests percent-encodes the ñ
    assert response.status_code == 200
    assert response.json()["data"] == odd
    assert api_get(sandbox, "/users/unknown").status_code == 404


def test_non_ascii_is_sent_as_utf8_not_escaped(sandbox):
    raw = api_get(sandbox, "/users/").content
    assert "ñ".encode() in raw


def test_unknown_api_path_is_404_json(sandbox):
    response = api_get(sandbox, "/no-such-thing/")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_path_outside_the_api_is_404_json(sandbox):
    response = requests.get(f"{sandbox.url}/elsewhere", timeout=HTTP_TIMEOUT)
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_wrong_method_is_405_with_allow(sandbox):
    response = requests.delete(
        f"{sandbox.base_url}/channels/", headers=sandbox.api_headers(), timeout=HTTP_TIMEOUT
    )
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET"
    assert response.json()["success"] is False
