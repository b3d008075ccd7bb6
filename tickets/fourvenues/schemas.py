"""Typed views of Fourvenues responses, and the create-tickets request.

Parsing is lenient on purpose (fourvenues-api.md §2.3, §4 B): the API mixes date formats,
sends `status` as a string or an array, `referral_id` as a string or an object, and box-office
tickets lack the buyer's fields (§7). A field that is missing or malformed becomes None (or
zero / empty) instead of failing the whole page; the only hard requirement is an `_id`, without
which an object cannot be mirrored or looked up again. The original dict is always kept in
`raw`, so nothing the API sent is lost.

Serialisation of the request is strict: invariants the docs state (one price option per call,
never both `channel_id` and `referral_id`) are checked when the request is built, before
anything can be sent.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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

INVALID_STATUSES = frozenset({"cancelled", "filling_client"})


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


def _money(value: Any, name: str) -> Decimal:
    try:
        return parse_money(value)
    except ValueError:
        logger.warning("Unreadable amount in field %s; treated as 0", name)
        return ZERO


def _text(value: Any) -> str | None:
    """Optional text: blank and missing both become None (the API uses "" for "none")."""
    if type(value) is str:  # the common case, first: a page holds thousands of strings
        return value.strip() or None
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return int(value) if math.isfinite(value) and value == int(value) else None
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value.strip())
    return None


def _int_or(value: Any, default: int) -> int:
    parsed = _int(value)
    return default if parsed is None else parsed


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "1", "0"):
        return value.strip().lower() in ("true", "1")
    return None


def _strings(value: Any) -> tuple[str, ...]:
    """A tuple of non-blank strings from a string, an array of strings, or an array of objects
    carrying a `name` (artists appear in both shapes)."""
    if value is None:
        return ()
    items: Iterable[Any] = [value] if isinstance(value, str) else value
    if not isinstance(items, Iterable) or isinstance(items, Mapping):
        return ()
    result: list[str] = []
    for item in items:
        text = _text(item.get("name")) if isinstance(item, Mapping) else _text(item)
        if text:
            result.append(text)
    return tuple(result)


def _id_of(value: Any) -> str | None:
    """An id given either as a string or as an embedded object with `_id`."""
    if isinstance(value, Mapping):
        return _text(value.get("_id"))
    return _text(value)


def _require_mapping(raw: Any, kind: str) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise SchemaError(f"Expected a {kind} object, got {type(raw).__name__}")
    return raw


def _require_id(raw: Mapping[str, Any], kind: str) -> str:
    identifier = _text(raw.get("_id"))
    if not identifier:
        raise SchemaError(f"A {kind} in the response has no _id")
    return identifier


# --------------------------------------------------------------------------------------------
# Response objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    name: str | None
    slug: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Any) -> Channel:
        data = _require_mapping(raw, "channel")
        return cls(
            id=_require_id(data, "channel"),
            name=_text(data.get("name")),
            slug=_text(data.get("slug")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Event:
    id: str
    name: str | None
    slug: str | None
    date: datetime | None  # start of the event's night, per the docs
    start: datetime | None
    end: datetime | None
    url: str | None
    flyer: str | None
    description: str | None
    age: int | None
    music_genres: tuple[str, ...]
    outfit: str | None
    location_town: str | None
    artists: tuple[str, ...]
    active: bool | None
    visible: bool | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Any) -> Event:
        data = _require_mapping(raw, "event")
        return cls(
            id=_require_id(data, "event"),
            name=_text(data.get("name")),
            slug=_text(data.get("slug")),
            date=parse_timestamp(data.get("date")),
            start=parse_timestamp(data.get("start")),
            end=parse_timestamp(data.get("end")),
            url=_text(data.get("url")),
            flyer=_text(data.get("flyer")),
            description=_text(data.get("description")),
            age=_int(data.get("age")),
            music_genres=_strings(data.get("music_genres")),
            outfit=_text(data.get("outfit")),
            location_town=_text(data.get("location_town")),
            artists=_strings(data.get("artists")),
            active=_bool(data.get("active")),
            visible=_bool(data.get("visible")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class PriceOption:
    id: str
    price: Decimal
    max_quantity: int | None  # per client, not remaining stock
    age: int | None
    content: str | None
    additional_info: str | None
    until_seconds: int | None  # relative to the event start; the meaning of 0 is unknown
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Any) -> PriceOption:
        data = _require_mapping(raw, "price option")
        return cls(
            id=_require_id(data, "price option"),
            price=_money(data.get("price"), "price"),
            max_quantity=_int(data.get("max_quantity")),
            age=_int(data.get("age")),
            content=_text(data.get("content")),
            additional_info=_text(data.get("additional_info")),
            until_seconds=_int(data.get("until")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Rate:
    id: str
    name: str | None
    slug: str | None
    options: tuple[PriceOption, ...]
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Any) -> Rate:
        data = _require_mapping(raw, "rate")
        options = data.get("options")
        return cls(
            id=_require_id(data, "rate"),
            name=_text(data.get("name")),
            slug=_text(data.get("slug")),
            options=tuple(
                PriceOption.from_api(option)
                for option in (options if isinstance(options, list) else [])
            ),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class Promoter:
    """A Fourvenues user acting as promoter (RRPP); its id is a ticket's `referral_id`."""

    id: str
    email: str | None
    first_name: str | None
    last_name: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @classmethod
    def from_api(cls, raw: Any) -> Promoter:
        data = _require_mapping(raw, "user")
        profile = data.get("profile")
        profile = profile if isinstance(profile, Mapping) else {}
        return cls(
            id=_require_id(data, "user"),
            email=_text(data.get("email")),
            first_name=_text(profile.get("name")) or _text(data.get("name")),
            last_name=_text(profile.get("last_name")) or _text(data.get("last_name")),
            raw=dict(data),
        )


@dataclass(frozen=True, slots=True)
class TicketSupplement:
    id: str | None
    label: str | None
    price: Decimal
    normalized_label: str | None
    description: str | None
    has_fake_price: bool | None
    fake_price: Decimal
    product_quantity: int | None
    product_quantity_used: int | None
    service_charge_amount: Decimal
    service_charge_type: str | None
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> TicketSupplement:
        return cls(
            id=_text(raw.get("_id")) or _text(raw.get("supplement_id")),
            label=_text(raw.get("label")),
            price=_money(raw.get("price"), "supplements.price"),
            normalized_label=_text(raw.get("normalized_label")),
            description=_text(raw.get("description")),
            has_fake_price=_bool(raw.get("has_fake_price")),
            fake_price=_money(raw.get("fake_price"), "supplements.fake_price"),
            product_quantity=_int(raw.get("product_quantity")),
            product_quantity_used=_int(raw.get("product_quantity_used")),
            service_charge_amount=_money(
                raw.get("service_charge_amount"), "supplements.service_charge_amount"
            ),
            service_charge_type=_text(raw.get("service_charge_type")),
            raw=dict(raw),
        )


def _statuses(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value.strip(),) if value.strip() else ()
    if isinstance(value, list | tuple):
        return tuple(item.strip() for item in value if isinstance(item, str) and item.strip())
    return ()


@dataclass(frozen=True, slots=True)
class Ticket:
    id: str
    code: str | None
    statuses: tuple[str, ...]
    activation_date: datetime | None
    event_id: str | None
    event_date: date | None  # the ticket's `date`; only on by-id, by-code and create responses
    rate_id: str | None
    rate_name: str | None
    rate_slug: str | None
    price_id: str | None  # price_info._id: the rate option the ticket was issued on
    price: Decimal
    channel_id: str | None
    referral_id: str | None
    payment_id: str | None  # absent on box-office tickets (§7)
    sale_type: str | None
    name: str | None
    email: str | None
    phone: str | None
    gender: str | None
    address: str | None
    postal_code: str | None
    country: str | None
    language: str | None
    admits: int  # the API's `for`
    entered: int  # the API's `enter`
    entry_date: datetime | None
    refunded: Decimal  # a 0/1 flag on some tickets and an amount on others (§4 B16)
    supplements: tuple[TicketSupplement, ...]
    total_extras: Decimal
    total_fees: Decimal
    total_paid: Decimal
    total_warranty: Decimal
    surcharge_total: Decimal
    supplements_service_charge_total: Decimal
    discount_quantity_subtract: int | None
    raised: Decimal
    invoice_reference: str | None
    corrective_invoice_references: tuple[str, ...]
    remarketing: bool | None
    created_at: datetime | None
    updated_at: datetime | None
    qr_code: str | None  # only when the API echoes the value we sent
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def is_valid(self) -> bool:
        statuses = set(self.statuses)
        return "activated" in statuses and not (statuses & INVALID_STATUSES)

    @property
    def is_refunded(self) -> bool:
        return self.refunded > 0

    @classmethod
    def from_api(cls, raw: Any) -> Ticket:
        data = _require_mapping(raw, "ticket")
        price_info = data.get("price_info")
        price_info = price_info if isinstance(price_info, Mapping) else {}
        supplements = data.get("supplements")
        referral = data.get("referral_id")
        if referral is None:
            referral = data.get("referral")
        return cls(
            id=_require_id(data, "ticket"),
            code=_text(data.get("code")),
            statuses=_statuses(data.get("status")),
            activation_date=parse_timestamp(data.get("activation_date")),
            event_id=_text(data.get("event_id")),
            event_date=parse_date(data.get("date")),
            rate_id=_text(data.get("rate_id")),
            rate_name=_text(data.get("rate_name")),
            rate_slug=_text(data.get("rate_slug")),
            price_id=_id_of(price_info) or _text(data.get("price_id")),
            price=_money(data.get("price"), "price"),
            channel_id=_id_of(data.get("channel_id")),
            referral_id=_id_of(referral),
            payment_id=_text(data.get("payment_id")),
            sale_type=_text(data.get("sale_type")),
            name=_text(data.get("name")),
            email=_text(data.get("email")),
            phone=_text(data.get("phone")),
            gender=_text(data.get("gender")),
            address=_text(data.get("address")),
            postal_code=_text(data.get("postal_code")),
            country=_text(data.get("country")),
            language=_text(data.get("language")),
            admits=_int_or(data.get("for"), 1),
            entered=_int_or(data.get("enter"), 0),
            entry_date=parse_timestamp(data.get("entry_date")),
            refunded=_money(data.get("refunded"), "refunded"),
            supplements=tuple(
                TicketSupplement.from_api(item)
                for item in (supplements if isinstance(supplements, list) else [])
                if isinstance(item, Mapping)
            ),
            total_extras=_money(data.get("total_extras"), "total_extras"),
            total_fees=_money(data.get("total_fees"), "total_fees"),
            total_paid=_money(data.get("total_paid"), "total_paid"),
            total_warranty=_money(data.get("total_warranty"), "total_warranty"),
            surcharge_total=_money(data.get("surcharge_total"), "surcharge_total"),
            supplements_service_charge_total=_money(
                data.get("supplements_service_charge_total"), "supplements_service_charge_total"
            ),
            discount_quantity_subtract=_int(data.get("discount_quantity_subtract")),
            raised=_money(data.get("raised"), "raised"),
            invoice_reference=_text(data.get("invoice_reference")),
            corrective_invoice_references=_strings(data.get("corrective_invoice_references")),
            remarketing=_bool(data.get("remarketing")),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
            qr_code=_text(data.get("qr_code")),
            raw=dict(data),
        )


# --------------------------------------------------------------------------------------------
# Request: POST /tickets/
# --------------------------------------------------------------------------------------------


def _to_decimal(value: Decimal | int | str, name: str) -> Decimal:
    if isinstance(value, float):
        # Floats would smuggle binary artefacts into amounts; callers must say what they mean.
        raise TypeError(f"{name} must be a Decimal, int or str, not float")
    amount = parse_money(value)
    if amount < 0:
        raise ValueError(f"{name} cannot be negative")
    return amount


def money_to_json(amount: Decimal) -> int | float:
    """A JSON number for an amount: an int when whole, else a float with two decimals.

    A two-place Decimal converted with float() prints back as the same digits (Python's repr is
    the shortest round-tripping form), so `Decimal("13.20")` is sent as `13.2`, never
    `13.199999999999999`.
    """
    quantized = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    if quantized == quantized.to_integral_value():
        return int(quantized)
    return float(quantized)


@dataclass(frozen=True, slots=True)
class SupplementChoice:
    supplement_id: str
    price: Decimal = ZERO

    def __post_init__(self) -> None:
        if not (self.supplement_id or "").strip():
            raise ValueError("A supplement needs its supplement_id")
        object.__setattr__(self, "price", _to_decimal(self.price, "supplement price"))

    def to_payload(self) -> dict[str, Any]:
        return {"supplement_id": self.supplement_id, "price": money_to_json(self.price)}


@dataclass(frozen=True, slots=True)
class NewTicket:
    full_name: str
    email: str
    price_id: str
    total_price: Decimal = ZERO
    fee: Decimal = ZERO
    qr_code: str | None = None
    phone: str | None = None
    gender: str | None = None
    birthday: date | None = None
    address: str | None = None
    country_code: str | None = None
    postal_code: str | None = None
    personal_document_type: str | None = None
    # Kept out of repr so that a logged or printed request never shows the full number.
    personal_document_number: str | None = field(default=None, repr=False)
    supplements: tuple[SupplementChoice, ...] = ()

    def __post_init__(self) -> None:
        for name in ("full_name", "email", "price_id"):
            if not (getattr(self, name) or "").strip():
                raise ValueError(f"Every ticket needs a {name}")
        if isinstance(self.birthday, datetime):
            raise TypeError("birthday must be a date, not a datetime")
        object.__setattr__(self, "total_price", _to_decimal(self.total_price, "total_price"))
        object.__setattr__(self, "fee", _to_decimal(self.fee, "fee"))
        object.__setattr__(self, "supplements", tuple(self.supplements))

    def to_payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "full_name": self.full_name.strip(),
            "email": self.email.strip(),
            "price_id": self.price_id,
            "total_price": money_to_json(self.total_price),
            "fee": money_to_json(self.fee),
        }
        optional: dict[str, Any] = {
            "qr_code": self.qr_code,
            "phone": self.phone,
            "gender": self.gender,
            "birthday": self.birthday.isoformat() if self.birthday else None,
            "address": self.address,
            "country_code": self.country_code,
            "postal_code": self.postal_code,
            "personal_document_type": self.personal_document_type,
            "personal_document_number": self.personal_document_number,
        }
        payload.update({key: value for key, value in optional.items() if value is not None})
        if self.supplements:
            payload["supplements"] = [choice.to_payload() for choice in self.supplements]
        return payload


@dataclass(frozen=True, slots=True)
class CreateTicketsRequest:
    ticket_rate_id: str
    sale_type: str
    tickets: tuple[NewTicket, ...]
    channel_id: str | None = None
    referral_id: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "tickets", tuple(self.tickets))
        # The API uses "" for "none"; normalising here makes the exclusivity check meaningful.
        object.__setattr__(self, "channel_id", _text(self.channel_id))
        object.__setattr__(self, "referral_id", _text(self.referral_id))
        if not (self.ticket_rate_id or "").strip():
            raise ValueError("A create request needs a ticket_rate_id")
        if not (self.sale_type or "").strip():
            raise ValueError("A create request needs a sale_type")
        if not self.tickets:
            raise ValueError("A create request needs at least one ticket")
        if len({ticket.price_id for ticket in self.tickets}) != 1:
            raise ValueError("All tickets in one create request must share the same price_id")
        if self.channel_id and self.referral_id:
            raise ValueError("Send channel_id or referral_id, never both")

    @property
    def price_id(self) -> str:
        return self.tickets[0].price_id

    @property
    def quantity(self) -> int:
        return len(self.tickets)

    def to_payload(self) -> dict[str, Any]:
        # quantity always equals len(tickets): its other meanings are undocumented (§4 A2).
        payload: dict[str, Any] = {
            "quantity": self.quantity,
            "ticket_rate_id": self.ticket_rate_id,
            "sale_type": self.sale_type,
            "tickets": [ticket.to_payload() for ticket in self.tickets],
        }
        if self.channel_id:
            payload["channel_id"] = self.channel_id
        if self.referral_id:
            payload["referral_id"] = self.referral_id
        return payload
