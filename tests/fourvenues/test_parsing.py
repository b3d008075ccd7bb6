"""The lenient readers of single values (parsing.py): timestamps, dates, money, as_list."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tickets.fourvenues import (
    SchemaError,
    as_list,
    parse_date,
    parse_money,
    parse_timestamp,
)

# --------------------------------------------------------------------------------------------
# Timestamps
# --------------------------------------------------------------------------------------------

MOMENT = datetime(2022, 9, 15, 23, 0, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        "2022-09-15T23:00:00.000Z",
        "2022-09-15T23:00:00Z",
        "2022-09-15T23:00:00",
        "2022-09-15 23:00:00",
        "2022-09-16T01:00:00+02:00",
        "2022-09-15T23:00:00.000+00:00",
        " 2022-09-15T23:00:00.000Z ",
        1663282800,
        1663282800.0,
        "1663282800",
        1663282800000,
        "1663282800000",
        Decimal("1663282800"),
        datetime(2022, 9, 16, 1, 0, tzinfo=timezone(timedelta(hours=2))),
    ],
)
def test_parse_timestamp_reads_every_format_the_api_uses(value):
    parsed = parse_timestamp(value)

    assert parsed == MOMENT
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", [None, 0, 0.0, "0", "", "   ", False, "not a date", [], {}])
def test_parse_timestamp_treats_empty_and_garbage_as_none(value):
    assert parse_timestamp(value) is None


def test_parse_timestamp_keeps_milliseconds():
    assert parse_timestamp(1737114362837) == datetime(2025, 1, 17, 11, 46, 2, 837000, tzinfo=UTC)
    assert parse_timestamp("2025-01-17T11:46:02.837Z").microsecond == 837000


def test_parse_timestamp_takes_naive_iso_as_utc():
    assert parse_timestamp("2024-01-01T00:00:00") == datetime(2024, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("value", [10**30, "1" * 40, float("nan"), float("inf")])
def test_parse_timestamp_survives_out_of_range_epochs(value):
    assert parse_timestamp(value) is None


aware_moments = st.datetimes(
    min_value=datetime(2001, 9, 10), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
).map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000))


@given(aware_moments)
def test_parse_timestamp_round_trips_iso_with_z(moment):
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"

    assert parse_timestamp(text) == moment


@given(aware_moments)
def test_parse_timestamp_round_trips_epoch_seconds_and_milliseconds(moment):
    whole = moment.replace(microsecond=0)
    seconds = (whole - EPOCH) // timedelta(seconds=1)
    milliseconds = (moment - EPOCH) // timedelta(milliseconds=1)

    assert parse_timestamp(seconds) == whole
    assert parse_timestamp(str(seconds)) == whole
    assert parse_timestamp(milliseconds) == moment


@given(aware_moments, st.integers(min_value=-12, max_value=14))
def test_parse_timestamp_normalises_any_offset_to_utc(moment, hours):
    local = moment.astimezone(timezone(timedelta(hours=hours)))

    parsed = parse_timestamp(local.isoformat())

    assert parsed == moment
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2022-09-15", date(2022, 9, 15)),
        ("2022-09-15T23:00:00.000Z", date(2022, 9, 15)),
        (date(2022, 9, 15), date(2022, 9, 15)),
        (None, None),
        ("", None),
        (0, None),
        ("15/09/2022", None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


# --------------------------------------------------------------------------------------------
# Money
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (10, "10.00"),
        (1.2, "1.20"),
        (13.2, "13.20"),
        (0.1 + 0.2, "0.30"),
        ("13.2", "13.20"),
        (" 7 ", "7.00"),
        (Decimal("2.005"), "2.01"),
        (None, "0.00"),
        ("", "0.00"),
        (True, "1.00"),
    ],
)
def test_parse_money_gives_two_place_decimals_without_float_artefacts(value, expected):
    amount = parse_money(value)

    assert isinstance(amount, Decimal)
    assert str(amount) == expected


@pytest.mark.parametrize("value", ["ten", "NaN", float("inf"), [1], {"a": 1}])
def test_parse_money_refuses_non_amounts(value):
    with pytest.raises(ValueError, match="Not an amount"):
        parse_money(value)


# --------------------------------------------------------------------------------------------
# as_list
# --------------------------------------------------------------------------------------------


def test_as_list_accepts_object_array_and_none():
    assert as_list({"_id": "a"}) == [{"_id": "a"}]
    assert as_list([{"_id": "a"}, {"_id": "b"}]) == [{"_id": "a"}, {"_id": "b"}]
    assert as_list(None) == []


def test_as_list_refuses_scalars():
    with pytest.raises(SchemaError):
        as_list("t1")
