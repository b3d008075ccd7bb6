"""Typed views of Fourvenues responses, and the create-tickets request.

Parsing is lenient on purpose (fourvenues-api.md §2.3, §4 B): the API mixes date formats,
sends `status` as a string or an array, `referral_id` as a string or an object (`_id` or `id`),
and box-office tickets lack the buyer's fields (§7). A field that is missing or malformed becomes
None (or zero / empty) instead of failing the whole page; a ticket's status and the amounts the
mirror keeps stay None (unknown) when missing, never "activated" or 0. The only hard requirement
is an `_id`, without which an object cannot be mirrored or looked up again. The original dict is
always kept in `raw`, so nothing the API sent is lost. The readers of single values are
parsing.py's.

Serialisation of the request is strict: invariants the docs state (one price option per call,
never both `channel_id` and `referral_id`) are checked when the request is built, before
anything can be sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tickets.fourvenues.parsing import (
    CENT,
    ZERO,
    parse_date,
    parse_money,
    parse_timestamp,
    read_amount,
    read_bool,
    read_id,
    read_int,
    read_int_or,
    read_money,
    read_strings,
    read_text,
    require_id,
    require_mapping,
)

INVALID_STATUSES = frozenset({"cancelled", "filling_client"})


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
        data = require_mapping(raw, "channel")
        return cls(
            id=require_id(data, "channel"),
            name=read_text(data.get("name")),
            slug=read_text(data.get("slug")),
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
        data = require_mapping(raw, "event")
        return cls(
            id=require_id(data, "event"),
            name=read_text(data.get("name")),
            slug=read_text(data.get("slug")),
            date=parse_timestamp(data.get("date")),
            start=parse_timestamp(data.get("start")),
            end=parse_timestamp(data.get("end")),
            url=read_text(data.get("url")),
            flyer=read_text(data.get("flyer")),
            description=read_text(data.get("description")),
            age=read_int(data.get("age")),
            music_genres=read_strings(data.get("music_genres")),
            outfit=read_text(data.get("outfit")),
            location_town=read_text(data.get("location_town")),
            artists=read_strings(data.get("artists")),
            active=read_bool(data.get("active")),
            visible=read_bool(data.get("visible")),
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
        data = require_mapping(raw, "price option")
        return cls(
            id=require_id(data, "price option"),
            price=read_money(data.get("price"), "price"),
            max_quantity=read_int(data.get("max_quantity")),
            age=read_int(data.get("age")),
            content=read_text(data.get("content")),
            additional_info=read_text(data.get("additional_info")),
            until_seconds=read_int(data.get("until")),
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
        data = require_mapping(raw, "rate")
        options = data.get("options")
        return cls(
            id=require_id(data, "rate"),
            name=read_text(data.get("name")),
            slug=read_text(data.get("slug")),
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
        data = require_mapping(raw, "user")
        profile = data.get("profile")
        profile = profile if isinstance(profile, Mapping) else {}
        return cls(
            id=require_id(data, "user"),
            email=read_text(data.get("email")),
            first_name=read_text(profile.get("name")) or read_text(data.get("name")),
            last_name=read_text(profile.get("last_name")) or read_text(data.get("last_name")),
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
            id=read_text(raw.get("_id")) or read_text(raw.get("supplement_id")),
            label=read_text(raw.get("label")),
            price=read_money(raw.get("price"), "supplements.price"),
            normalized_label=read_text(raw.get("normalized_label")),
            description=read_text(raw.get("description")),
            has_fake_price=read_bool(raw.get("has_fake_price")),
            fake_price=read_money(raw.get("fake_price"), "supplements.fake_price"),
            product_quantity=read_int(raw.get("product_quantity")),
            product_quantity_used=read_int(raw.get("product_quantity_used")),
            service_charge_amount=read_money(
                raw.get("service_charge_amount"), "supplements.service_charge_amount"
            ),
            service_charge_type=read_text(raw.get("service_charge_type")),
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
    # The amounts the mirror keeps are None when Fourvenues left them out: unknown, never 0.
    price: Decimal | None
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
    refunded: Decimal | None  # a 0/1 flag on some tickets and an amount on others (§4 B16)
    supplements: tuple[TicketSupplement, ...]
    total_extras: Decimal | None
    total_fees: Decimal | None
    total_paid: Decimal | None
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
    def is_valid(self) -> bool | None:
        """None when Fourvenues sent no status: unknown, which is neither valid nor not."""
        statuses = set(self.statuses)
        if not statuses:
            return None
        return "activated" in statuses and not (statuses & INVALID_STATUSES)

    @property
    def is_refunded(self) -> bool:
        return self.refunded is not None and self.refunded > 0

    @classmethod
    def from_api(cls, raw: Any) -> Ticket:
        data = require_mapping(raw, "ticket")
        price_info = data.get("price_info")
        price_info = price_info if isinstance(price_info, Mapping) else {}
        supplements = data.get("supplements")
        referral = data.get("referral_id")
        if referral is None:
            referral = data.get("referral")
        return cls(
            id=require_id(data, "ticket"),
            code=read_text(data.get("code")),
            statuses=_statuses(data.get("status")),
            activation_date=parse_timestamp(data.get("activation_date")),
            event_id=read_text(data.get("event_id")),
            event_date=parse_date(data.get("date")),
            rate_id=read_text(data.get("rate_id")),
            rate_name=read_text(data.get("rate_name")),
            rate_slug=read_text(data.get("rate_slug")),
            price_id=read_id(price_info) or read_text(data.get("price_id")),
            price=read_amount(data.get("price"), "price"),
            channel_id=read_id(data.get("channel_id")),
            referral_id=read_id(referral),
            payment_id=read_text(data.get("payment_id")),
            sale_type=read_text(data.get("sale_type")),
            name=read_text(data.get("name")),
            email=read_text(data.get("email")),
            phone=read_text(data.get("phone")),
            gender=read_text(data.get("gender")),
            address=read_text(data.get("address")),
            postal_code=read_text(data.get("postal_code")),
            country=read_text(data.get("country")),
            language=read_text(data.get("language")),
            admits=read_int_or(data.get("for"), 1),
            entered=read_int_or(data.get("enter"), 0),
            entry_date=parse_timestamp(data.get("entry_date")),
            refunded=read_amount(data.get("refunded"), "refunded"),
            supplements=tuple(
                TicketSupplement.from_api(item)
                for item in (supplements if isinstance(supplements, list) else [])
                if isinstance(item, Mapping)
            ),
            total_extras=read_amount(data.get("total_extras"), "total_extras"),
            total_fees=read_amount(data.get("total_fees"), "total_fees"),
            total_paid=read_amount(data.get("total_paid"), "total_paid"),
            total_warranty=read_money(data.get("total_warranty"), "total_warranty"),
            surcharge_total=read_money(data.get("surcharge_total"), "surcharge_total"),
            supplements_service_charge_total=read_money(
                data.get("supplements_service_charge_total"), "supplements_service_charge_total"
            ),
            discount_quantity_subtract=read_int(data.get("discount_quantity_subtract")),
            raised=read_money(data.get("raised"), "raised"),
            invoice_reference=read_text(data.get("invoice_reference")),
            corrective_invoice_references=read_strings(data.get("corrective_invoice_references")),
            remarketing=read_bool(data.get("remarketing")),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
            qr_code=read_text(data.get("qr_code")),
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
        object.__setattr__(self, "channel_id", read_text(self.channel_id))
        object.__setattr__(self, "referral_id", read_text(self.referral_id))
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
