"""Lenient readers of the single values Fourvenues sends: dates, amounts, text, numbers, ids.

Parsing is lenient on purpose (fourvenues-api.md §2.3, §4 B): the API mixes date formats and
sends the same field as a string, a number or an object. A value that is missing or malformed
reads as None (or zero / empty) instead of failing the whole page; schemas.py builds its
objects from these readers. `SchemaError` is for the one thing that cannot be read around: an
object that is not an object, or has no `_id`.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

logger = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Epoch values above this are milliseconds: 1e12 s is the year 33658, 1e12 ms is 2001.
EPOCH_MILLISECONDS_THRESHOLD = 1e12
_NUMERIC = re.compile(r"^[+-]?\d+(\.\d+)?$")


class SchemaError(ValueError):
    """A response object lacks what is needed to use it at all (for example its `_id`)."""


# --------------------------------------------------------------------------------------------
# Lenient scalar parsers
# --------------------------------------------------------------------------------------------


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from ISO text, epoch seconds or epoch milliseconds.

    `0`, `""`, `None` and anything unreadable mean "no date". Naive ISO text is taken as UTC,
    which is what the API's examples (`...000Z`) use.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, int | float | Decimal):
        return _from_epoch(value)
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        if _NUMERIC.match(text):
            return _from_epoch(Decimal(text))
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            logger.debug("Unreadable timestamp %r", truncate_repr(value))
            return None
        return _as_utc(parsed)
    return None


def _from_epoch(value: float | Decimal) -> datetime | None:
    if not math.isfinite(value) or value == 0:
        return None
    milliseconds = abs(value) > EPOCH_MILLISECONDS_THRESHOLD
    # Whole numbers go through timedelta arithmetic, which is exact; a float division would
    # let a millisecond value drift by a microsecond.
    whole = value == int(value)
    try:
        if milliseconds:
            delta = timedelta(milliseconds=int(value) if whole else float(value))
        else:
            delta = timedelta(seconds=int(value) if whole else float(value))
        return EPOCH + delta
    except OverflowError:
        return None


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    """A date from `YYYY-MM-DD` (or the date part of an ISO timestamp); None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, datetime):
        return _as_utc(value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if len(text) < 10:
            return None
        try:
            return date.fromisoformat(text[:10])
        except ValueError:
            return None
    return None


def parse_money(value: Any) -> Decimal:
    """An amount in major units as a Decimal with two places.

    Floats go through `str()` so that 13.2 stays 13.20 and never becomes 13.199999…
    Missing values are zero; text that is not a number raises ValueError.
    """
    if type(value) is int:  # the common case, first: a page holds thousands of amounts
        return Decimal(value).quantize(CENT)
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        return Decimal(int(value)).quantize(CENT)
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int | float | str):
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"Not an amount: {truncate_repr(value)}") from None
    else:
        raise ValueError(f"Not an amount: {truncate_repr(value)}")
    if not amount.is_finite():
        raise ValueError(f"Not an amount: {truncate_repr(value)}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def as_list(data: Any) -> list[Any]:
    """`data` as a list: the API returns an object or an array for the same endpoint (§4 A1)."""
    if data is None:
        return []
    if isinstance(data, list):
        return list(data)
    if isinstance(data, Mapping):
        return [data]
    raise SchemaError(f"Expected an object or an array, got {type(data).__name__}")


def truncate_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Field readers (for schemas.py's from_api)
# --------------------------------------------------------------------------------------------


def read_money(value: Any, name: str) -> Decimal:
    try:
        return parse_money(value)
    except ValueError:
        logger.warning("Unreadable amount in field %s; treated as 0", name)
        return ZERO


def read_amount(value: Any, name: str) -> Decimal | None:
    """An amount that may be unknown: None when the field is missing, null, blank or unreadable.

    For what the mirror keeps of a ticket (price, paid, refunded...): Fourvenues' real clients
    have seen tickets without them, and a missing amount read as 0 would pass for a comp."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return parse_money(value)
    except ValueError:
        logger.warning("Unreadable amount in field %s; kept as unknown", name)
        return None


def read_text(value: Any) -> str | None:
    """Optional text: blank and missing both become None (the API uses "" for "none")."""
    if type(value) is str:  # the common case, first: a page holds thousands of strings
        return value.strip() or None
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def read_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return int(value) if math.isfinite(value) and value == int(value) else None
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    return None


def read_int_or(value: Any, default: int) -> int:
    parsed = read_int(value)
    return default if parsed is None else parsed


def read_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def read_strings(value: Any) -> tuple[str, ...]:
    """A tuple of non-blank strings from a string, an array of strings, or an array of objects
    carrying a `name` (artists appear in both shapes)."""
    if value is None:
        return ()
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        return ()
    result: list[str] = []
    for item in items:
        text = read_text(item.get("name")) if isinstance(item, Mapping) else read_text(item)
        if text:
            result.append(text)
    return tuple(result)


def read_id(value: Any) -> str | None:
    """An id given either as a string or as an embedded object: `{"_id": ...}` as documented,
    or `{"id": ...}`, as real clients have seen promoters sent (with their `name` alongside)."""
    if isinstance(value, Mapping):
        return read_text(value.get("_id")) or read_text(value.get("id"))
    return read_text(value)


def require_mapping(raw: Any, kind: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SchemaError(f"Expected a {kind} object, got {type(raw).__name__}")
    return raw


def require_id(raw: Mapping[str, Any], kind: str) -> str:
    identifier = read_text(raw.get("_id"))
    if not identifier:
        raise SchemaError(f"A {kind} in the response has no _id")
    return identifier
