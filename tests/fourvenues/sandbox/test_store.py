"""The ticket store: state file round trip, atomic writes, ordering guarantees."""

import json
from datetime import date
from types import SimpleNamespace

import pytest

from tests.fixtures.sandbox import api_get, api_post, comp_body, issue
from tickets.fourvenues.sandbox import StateFileError, build_catalogue
from tickets.fourvenues.sandbox.store import TicketStore
from tickets.fourvenues.sandbox.validation import validate_create

TODAY = date(2026, 3, 5)


def test_state_file_round_trip_across_a_restart(sandbox_factory, tmp_path):
    state = tmp_path / "sandbox-state.json"
    first = sandbox_factory(state_file=state, today=TODAY)
    issued = issue(first, holders=2)
    api_post(first, f"/tickets/refund/{issued[0]['_id']}", {"amount": 0})
    before = first.tickets()
    first.stop()

    second = sandbox_factory(state_file=state, today=TODAY)
    assert second.tickets() == before
    by_code = api_get(second, f"/tickets/by-code/{issued[1]['code']}")
    assert by_code.json()["data"] == before[1]
    event_id = second.catalogue.events[0]["_id"]
    listed = api_get(second, "/tickets/", params={"event_id": event_id}).json()["data"]
    assert [t["_id"] for t in listed] == [t["_id"] for t in before]

    [new] = issue(second)
    assert new["created_at"] > max(t["updated_at"] for t in before)
    assert new["invoice_reference"].endswith("-0000003"), "invoice numbers carry on"


def test_a_restart_on_a_later_day_still_lists_earlier_tickets(sandbox_factory, tmp_path):
    state = tmp_path / "state.json"
    first = sandbox_factory(state_file=state, today=TODAY)
    [ticket] = issue(first)
    first.stop()
    # Nine weeks on, the ticket's night has left the catalogue window.
    later = sandbox_factory(state_file=state, today=date(2026, 5, 7))
    assert later.catalogue.event(ticket["event_id"]) is None
    response = api_get(later, "/tickets/", params={"event_id": ticket["event_id"]})
    assert [t["_id"] for t in response.json()["data"]] == [ticket["_id"]]


def test_state_file_is_written_atomically_and_readable(sandbox_factory, tmp_path):
    state = tmp_path / "nested" / "state.json"
    server = sandbox_factory(state_file=state)
    issue(server, holders=3)
    assert [p.name for p in state.parent.iterdir()] == ["state.json"], "no temp files left"
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert saved["format"] == "fourvenues-sandbox-state"
    assert saved["tickets"] == server.tickets()


def test_reset_empties_the_state_file(sandbox_factory, tmp_path):
    state = tmp_path / "state.json"
    server = sandbox_factory(state_file=state)
    issue(server)
    server.reset()
    assert json.loads(state.read_text(encoding="utf-8"))["tickets"] == []


def test_a_rejected_request_does_not_touch_the_state_file(sandbox_factory, tmp_path):
    state = tmp_path / "state.json"
    server = sandbox_factory(state_file=state)
    issue(server)
    before = state.read_bytes()
    response = api_post(server, "/tickets/", comp_body(server, quantity=5))
    assert response.status_code == 400
    assert state.read_bytes() == before


@pytest.mark.parametrize(
    "content",
    ["", "{not json", '{"format": "something-else", "version": 1, "tickets": []}', "[]"],
    ids=["empty", "malformed", "foreign", "array"],
)
def test_an_unreadable_state_file_refuses_to_start(tmp_path, content):
    state = tmp_path / "state.json"
    state.write_text(content, encoding="utf-8")
    with pytest.raises(StateFileError, match="Cannot load sandbox state"):
        TicketStore(state)


def _order(catalogue, holders=1):
    body = comp_body(SimpleNamespace(catalogue=catalogue), holders=holders)
    return validate_create(body, catalogue=catalogue, allowed_sale_types={"online"})


def test_created_at_keeps_increasing_when_the_clock_steps_back():
    catalogue = build_catalogue(1, TODAY)
    times = iter([1_800_000_000.5, 1_800_000_000.5, 1_700_000_000.0, 1_700_000_000.0])
    store = TicketStore(clock=lambda: next(times))
    store.create(_order(catalogue, holders=2))
    store.create(_order(catalogue, holders=2))
    stamps = [t["created_at"] for t in store.all()]
    assert stamps == [
        "2027-01-15T08:00:00.500Z",
        "2027-01-15T08:00:00.501Z",
        "2027-01-15T08:00:00.502Z",
        "2027-01-15T08:00:00.503Z",
    ]


def test_equal_created_at_from_a_state_file_is_ordered_by_id(tmp_path):
    catalogue = build_catalogue(1, TODAY)
    store = TicketStore()
    store.create(_order(catalogue, holders=2))
    first, second = store.all()
    first["_id"], second["_id"] = "b" * 32, "a" * 32
    second["created_at"] = first["created_at"]
    state = tmp_path / "state.json"
    state.write_text(
        json.dumps(
            {"format": "fourvenues-sandbox-state", "version": 1, "tickets": [first, second]}
        ),
        encoding="utf-8",
    )
    loaded = TicketStore(state)
    event_id = first["event_id"]
    assert [t["_id"] for t in loaded.list_items(event_id)] == ["a" * 32, "b" * 32]


def test_store_returns_copies(sandbox):
    [ticket] = issue(sandbox)
    sandbox.tickets()[0]["name"] = "changed"
    sandbox.tickets()[0]["supplements"].append({})
    assert sandbox.tickets() == [ticket]
