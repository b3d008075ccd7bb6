"""The seeded catalogue: deterministic, shaped like the real API, ids opaque."""

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tickets.fourvenues.sandbox import build_catalogue
from tickets.fourvenues.sandbox.catalogue import WEEKS_AHEAD

MADRID = ZoneInfo("Europe/Madrid")
ANCHOR = date(2026, 3, 5)  # a Thursday; the window spans the March DST change
ALNUM_32 = re.compile(r"^[A-Za-z0-9]{32}$")

EVENT_FIELDS = {
    "_id",
    "name",
    "slug",
    "date",
    "start",
    "end",
    "url",
    "flyer",
    "description",
    "age",
    "music_genres",
    "outfit",
    "location_town",
    "artists",
    "active",
    "visible",
}
OPTION_FIELDS = {"_id", "price", "max_quantity", "age", "content", "additional_info", "until"}


def test_same_seed_and_anchor_give_byte_identical_catalogues():
    assert build_catalogue(7, ANCHOR).to_json() == build_catalogue(7, ANCHOR).to_json()


def test_another_seed_gives_another_catalogue():
    first, second = build_catalogue(1, ANCHOR), build_catalogue(2, ANCHOR)
    assert first.to_json() != second.to_json()
    assert {e["_id"] for e in first.events}.isdisjoint(e["_id"] for e in second.events)


def test_event_ids_survive_a_later_anchor_for_the_nights_both_cover():
    # A demo sandbox restarted next week must still know the events its stored tickets use.
    earlier = build_catalogue(1, ANCHOR)
    later = build_catalogue(1, ANCHOR + timedelta(days=7))
    shared = {e["date"] for e in earlier.events} & {e["date"] for e in later.events}
    assert len(shared) == 3 * (WEEKS_AHEAD - 1)
    for night in shared:
        old = next(e for e in earlier.events if e["date"] == night)
        new = next(e for e in later.events if e["date"] == night)
        publication = {"active", "visible"}
        assert {k: v for k, v in old.items() if k not in publication} == {
            k: v for k, v in new.items() if k not in publication
        }
        assert earlier.rates_for(old["_id"]) == later.rates_for(new["_id"])


def test_events_are_thursday_friday_and_saturday_nights_for_eight_weeks():
    catalogue = build_catalogue(1, ANCHOR)
    nights = [datetime.fromtimestamp(e["date"], MADRID).date() for e in catalogue.events]
    assert len(nights) == 3 * WEEKS_AHEAD
    assert {n.weekday() for n in nights} == {3, 4, 5}
    assert nights == sorted(nights)
    assert nights[0] == ANCHOR
    assert nights[-1] < ANCHOR + timedelta(weeks=WEEKS_AHEAD)


@pytest.mark.parametrize("anchor", [ANCHOR, date(2026, 10, 1)], ids=["march-dst", "october-dst"])
def test_event_times_are_epoch_seconds_in_venue_local_time(anchor):
    for event in build_catalogue(1, anchor).events:
        night = datetime.fromtimestamp(event["date"], MADRID)
        start = datetime.fromtimestamp(event["start"], MADRID)
        end = datetime.fromtimestamp(event["end"], MADRID)
        assert night.time() == time(0, 0), "date is the local midnight of the night"
        assert start.time() in {time(23, 0), time(23, 30), time(0, 0)}
        assert start.date() in {night.date(), night.date() + timedelta(days=1)}
        assert end.date() == night.date() + timedelta(days=1)
        assert time(5, 30) <= end.time() <= time(7, 0)
        assert end > start


def test_event_field_set_and_types():
    catalogue = build_catalogue(1, ANCHOR)
    for event in catalogue.events:
        assert set(event) == EVENT_FIELDS
        assert ALNUM_32.match(event["_id"])
        assert all(isinstance(event[k], int) for k in ("date", "start", "end", "age"))
        assert isinstance(event["music_genres"], str)
        assert isinstance(event["artists"], list)
        assert event["artists"]
        assert event["location_town"] == "Madrid"
        assert event["slug"].endswith(
            datetime.fromtimestamp(event["date"], MADRID).strftime("%d-%m-%Y")
        )


def test_far_nights_are_unpublished_and_near_ones_live():
    catalogue = build_catalogue(1, ANCHOR)
    flags = [(e["active"], e["visible"]) for e in catalogue.events]
    weeks = len(flags) // 3
    assert flags[: 3 * (weeks - 2)] == [(True, True)] * 3 * (weeks - 2)
    assert flags[-6:-3] == [(True, False)] * 3, "the next-to-last week is hidden"
    assert flags[-3:] == [(False, False)] * 3, "the last week is drafts"


def test_each_event_has_two_to_five_rates_with_one_to_three_options():
    catalogue = build_catalogue(1, ANCHOR)
    for event in catalogue.events:
        rates = catalogue.rates_for(event["_id"])
        assert 2 <= len(rates) <= 5
        for rate in rates:
            assert set(rate) == {"_id", "name", "slug", "options"}
            assert ALNUM_32.match(rate["_id"])
            assert 1 <= len(rate["options"]) <= 3
            for option in rate["options"]:
                assert set(option) == OPTION_FIELDS
                assert option["price"] >= 0


def test_every_event_has_a_free_guest_list_rate():
    catalogue = build_catalogue(1, ANCHOR)
    for event in catalogue.events:
        free = catalogue.free_rate(event["_id"])
        assert free["name"] in {"Invitación", "Guest list"}
        assert all(option["price"] == 0 for option in free["options"])


def test_option_ids_mix_thirteen_digit_numbers_and_32_char_strings():
    catalogue = build_catalogue(1, ANCHOR)
    ids = [o["_id"] for rates in catalogue.rates.values() for r in rates for o in r["options"]]
    assert any(re.fullmatch(r"\d{13}", i) for i in ids)
    assert any(ALNUM_32.match(i) and not i.isdigit() for i in ids)
    assert all(re.fullmatch(r"\d{13}", i) or ALNUM_32.match(i) for i in ids)


def test_channels_and_promoter_users():
    catalogue = build_catalogue(1, ANCHOR)
    assert len(catalogue.channels) == 3
    for channel in catalogue.channels:
        assert set(channel) == {"_id", "name", "slug"}
    assert len(catalogue.users) == 6
    for user in catalogue.users:
        assert set(user) == {"_id", "email", "profile"}
        assert set(user["profile"]) == {"name", "last_name"}
        assert "@" in user["email"]
    odd = [u["_id"] for u in catalogue.users if u["_id"].startswith("ñ")]
    assert len(odd) == 1
    assert len(odd[0]) == 32


def test_lookups():
    catalogue = build_catalogue(1, ANCHOR)
    event = catalogue.events[4]
    rate = catalogue.rates_for(event["_id"])[1]
    assert catalogue.event(event["_id"]) is event
    assert catalogue.find_rate(rate["_id"]) == (event, rate)
    assert catalogue.option(rate, rate["options"][0]["_id"]) is rate["options"][0]
    assert catalogue.find_rate("nope") is None
    assert catalogue.event("nope") is None
    assert catalogue.user(catalogue.users[1]["_id"]) is catalogue.users[1]
    assert catalogue.channel(catalogue.channels[2]["_id"]) is catalogue.channels[2]
