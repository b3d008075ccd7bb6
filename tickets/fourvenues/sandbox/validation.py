"""Request validation for the sandbox: the ``POST /tickets/`` body, refund and check-in bodies,
and query parameters (paging, dates).

The real endpoint validates almost nothing (fourvenues-api.md §3.9); the sandbox is deliberately
*stricter*, so a client that passes against it sends only well-formed requests. Every rejection
is an :class:`ApiError` whose message names the field and, for ticket elements, the index
(``tickets[2].email is not a valid email address``). Validation never touches the store, so a
rejected request stores nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from .catalogue import VENUE_TZ, Catalogue

MAX_LIMIT = 500
"""Largest page ``limit`` the API accepts; also the default page size (fourvenues-api.md §2.5)."""

DATE_FIELDS = ("created_at", "updated_at")

_NIGHT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The address rule the real API applies, as far as it has been seen refusing (see
# `is_valid_email`). tickets/forms/holders.py applies the same rule to holders before the
# review; tests/forms/test_email_rule_agreement.py checks that the two agree.
_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL_RE = re.compile(rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*")
_DOMAIN_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL_RE = re.compile(r"[A-Za-z]{2,63}")
_COUNTRY_RE = re.compile(r"^[A-Za-z]{2}$")

# Optional free-text fields of a ticket element, passed through to the ticket as given.
_OPTIONAL_TEXT_FIELDS = (
    "phone",
    "gender",
    "address",
    "postal_code",
    "personal_document_type",
    "personal_document_number",
)


class ApiError(Exception):
    """A request the sandbox answers with an error envelope and ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ApiError:
    """A 400 :class:`ApiError`."""
    return ApiError(400, message)


# --------------------------------------------------------------------------- query parameters


def query_value(query: Mapping[str, list[str]], name: str) -> str | None:
    """The first value of a query parameter, or ``None`` when absent."""
    values = query.get(name)
    return values[0] if values else None


def _non_negative_int(raw: str, name: str) -> int:
    if not re.fullmatch(r"\d+", raw.strip()):
        raise bad_request(f"{name} must be a non-negative integer")
    return int(raw)


def parse_paging(query: Mapping[str, list[str]]) -> tuple[int, int]:
    """``(offset, limit)`` from the query: limit defaults to 500 and must be 1..500."""
    raw_limit = query_value(query, "limit")
    raw_offset = query_value(query, "offset")
    limit = MAX_LIMIT if raw_limit is None else _non_negative_int(raw_limit, "limit")
    if not 1 <= limit <= MAX_LIMIT:
        raise bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    offset = 0 if raw_offset is None else _non_negative_int(raw_offset, "offset")
    return offset, limit


def parse_instant(raw: str, name: str, *, end_of_range: bool = False) -> datetime:
    """An ISO 8601 instant (``2021-09-01T00:00:00.000Z``) as an aware UTC datetime.

    A bare date means midnight UTC, or the last microsecond of that day when it closes a range,
    so an inclusive ``end_date=2021-09-01`` covers the whole day. Offset-less times are UTC.
    """
    text = raw.strip()
    try:
        if _NIGHT_RE.match(text):
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
            if end_of_range:
                moment += timedelta(days=1, microseconds=-1)
            return moment
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} is not a valid ISO 8601 date: {raw!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_night(raw: str | None, name: str) -> date:
    """A ``GET /events/`` bound: ``YYYY-MM-DD`` (or a full ISO instant, read as a venue date)."""
    if raw is None or not raw.strip():
        # The real API's wording for a missing date (fourvenues-api.md §2.7).
        raise bad_request("Date is empty")
    text = raw.strip()
    try:
        if _NIGHT_RE.match(text):
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"{name} is not a valid date (YYYY-MM-DD): {raw!r}") from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(VENUE_TZ)
    return moment.date()


def parse_date_field(query: Mapping[str, list[str]]) -> str:
    """``date_field``: ``created_at`` (default) or ``updated_at``."""
    value = query_value(query, "date_field") or "created_at"
    if value not in DATE_FIELDS:
        raise bad_request("date_field must be created_at or updated_at")
    return value


def require_param(query: Mapping[str, list[str]], name: str) -> str:
    """A required, non-empty query parameter."""
    value = query_value(query, name)
    if value is None or not value.strip():
        raise bad_request(f"{name} is required")
    return value


# --------------------------------------------------------------------------- value checks


def is_valid_email(value: str) -> bool:
    """The address check of ``POST /tickets/``: what Fourvenues refuses, the sandbox refuses.

    Fourvenues has refused ``ana@localhost`` and an internationalised domain, so: plain ASCII
    only (no IDN domain, no accented local part), a dot-atom local part of up to 64 characters
    (no quotes, spaces or brackets), a domain of at least two labels (no bare host, no IP
    literal) whose last is 2+ letters, and 254 characters in all.
    """
    if len(value) > 254 or value.count("@") != 1 or not value.isascii():
        return False
    local, domain = value.split("@")
    if len(local) > 64 or not _EMAIL_LOCAL_RE.fullmatch(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 or not all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels):
        return False
    return bool(_TOP_LEVEL_RE.fullmatch(labels[-1]))


def is_number(value: Any) -> bool:
    """A JSON number: int or finite float, never a bool (``True`` is an int in Python)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _amount(value: Any, name: str) -> float:
    if not is_number(value) or value < 0:
        raise bad_request(f"{name} must be a number >= 0")
    return float(value)


def _text(mapping: Mapping[str, Any], key: str, prefix: str) -> str:
    """An optional string field: absent or null reads as empty."""
    value = mapping.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise bad_request(f"{prefix}{key} must be a string")
    return value


def _required_text(mapping: Mapping[str, Any], key: str, where: str) -> str:
    value = mapping.get(key)
    if value is None:
        raise bad_request(f"{where}{key} is required")
    if not isinstance(value, str) or not value.strip():
        raise bad_request(f"{where}{key} must be a non-empty string")
    return value


# --------------------------------------------------------------------------- POST /tickets/


@dataclass(frozen=True)
class SupplementInput:
    """One ``tickets[].supplements[]`` entry as sent."""

    supplement_id: str
    price: float
    label: str = ""
    description: str = ""


@dataclass(frozen=True)
class TicketInput:
    """One validated ``tickets[]`` element, with the request's field names."""

    full_name: str
    email: str
    price_id: str
    total_price: float = 0.0
    fee: float = 0.0
    qr_code: str = ""
    phone: str = ""
    gender: str = ""
    birthday: str = ""
    address: str = ""
    country_code: str = ""
    postal_code: str = ""
    personal_document_type: str = ""
    personal_document_number: str = ""
    supplements: tuple[SupplementInput, ...] = ()


@dataclass(frozen=True)
class CreateOrder:
    """A validated ``POST /tickets/`` request, with its catalogue references resolved.

    ``event``, ``rate`` and ``option`` are ``None`` only when rate checking is off
    (``strict_rates=False``) and the rate is unknown.
    """

    ticket_rate_id: str
    price_id: str
    sale_type: str
    channel_id: str
    referral_id: str
    tickets: tuple[TicketInput, ...]
    event: dict[str, Any] | None = None
    rate: dict[str, Any] | None = None
    option: dict[str, Any] | None = None


def validate_create(
    body: Any,
    *,
    catalogue: Catalogue,
    allowed_sale_types: Collection[str],
    strict_quantity: bool = True,
    strict_rates: bool = True,
    strict_references: bool = True,
) -> CreateOrder:
    """Validate a ``POST /tickets/`` body; raise :class:`ApiError` on the first problem.

    Local checks run first (shape of the body, then each ticket in order), then references
    against the catalogue (rate, price option, channel, promoter), so the message always names
    the earliest problem a reader of the request would spot.

    ``strict_rates`` (unknown rate: 404) and ``strict_references`` (unknown channel or promoter:
    400) go beyond the real endpoint, which checks neither (fourvenues-api.md §3.9 rule 5);
    turning them off gives the documented, trusting behaviour.
    """
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")

    raw_tickets = body.get("tickets")
    if raw_tickets is None:
        raise bad_request("tickets is required")
    if not isinstance(raw_tickets, list) or not raw_tickets:
        raise bad_request("tickets must be a non-empty array")

    quantity = body.get("quantity")
    if quantity is None:
        raise bad_request("quantity is required")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise bad_request("quantity must be a positive integer")
    if strict_quantity and quantity != len(raw_tickets):
        raise bad_request(
            f"quantity ({quantity}) does not match the number of tickets ({len(raw_tickets)})"
        )

    ticket_rate_id = _required_text(body, "ticket_rate_id", "")
    sale_type = _required_text(body, "sale_type", "")
    if sale_type not in allowed_sale_types:
        allowed = ", ".join(sorted(allowed_sale_types))
        raise bad_request(f"sale_type {sale_type!r} is not allowed (allowed: {allowed})")

    channel_id = _text(body, "channel_id", "").strip()
    referral_id = _text(body, "referral_id", "").strip()
    if channel_id and referral_id:
        raise bad_request("channel_id and referral_id cannot both be set; send one of them")

    tickets = tuple(_validate_ticket(element, index) for index, element in enumerate(raw_tickets))
    price_id = tickets[0].price_id
    for index, ticket in enumerate(tickets[1:], start=1):
        if ticket.price_id != price_id:
            raise bad_request(
                f"tickets[{index}].price_id differs from tickets[0].price_id: "
                "all tickets of one request must share the same price option"
            )

    event = rate = option = None
    found = catalogue.find_rate(ticket_rate_id)
    if found is None and strict_rates:
        raise ApiError(404, f"Ticket rate {ticket_rate_id!r} not found")
    if found is not None:
        event, rate = found
        option = catalogue.option(rate, price_id)
        if option is None:
            raise bad_request(
                f"tickets[0].price_id {price_id!r} is not a price option of rate {ticket_rate_id!r}"
            )
    if strict_references and channel_id and catalogue.channel(channel_id) is None:
        raise bad_request(f"channel_id {channel_id!r} is not a channel of this organization")
    if strict_references and referral_id and catalogue.user(referral_id) is None:
        raise bad_request(f"referral_id {referral_id!r} is not a user of this organization")

    return CreateOrder(
        ticket_rate_id=ticket_rate_id,
        price_id=price_id,
        sale_type=sale_type,
        channel_id=channel_id,
        referral_id=referral_id,
        tickets=tickets,
        event=event,
        rate=rate,
        option=option,
    )


def _validate_ticket(element: Any, index: int) -> TicketInput:
    where = f"tickets[{index}]"
    if not isinstance(element, dict):
        raise bad_request(f"{where} must be an object")
    full_name = _required_text(element, "full_name", f"{where}.").strip()
    email = _required_text(element, "email", f"{where}.").strip()
    if not is_valid_email(email):
        raise bad_request(f"{where}.email is not a valid email address")
    price_id = _required_text(element, "price_id", f"{where}.")

    amounts = {
        key: _amount(element[key], f"{where}.{key}") if element.get(key) is not None else 0.0
        for key in ("total_price", "fee")
    }

    birthday = _text(element, "birthday", f"{where}.")
    if birthday and not _is_real_date(birthday):
        raise bad_request(f"{where}.birthday must be a real date in YYYY-MM-DD format")

    country_code = _text(element, "country_code", f"{where}.")
    if country_code and not _COUNTRY_RE.match(country_code):
        raise bad_request(f"{where}.country_code must be a two-letter ISO 3166 code")

    qr_code = _text(element, "qr_code", f"{where}.")
    if "qr_code" in element and element["qr_code"] is not None and not qr_code.strip():
        raise bad_request(f"{where}.qr_code must be a non-empty string when given")

    texts = {key: _text(element, key, f"{where}.") for key in _OPTIONAL_TEXT_FIELDS}
    return TicketInput(
        full_name=full_name,
        email=email,
        price_id=price_id,
        total_price=amounts["total_price"],
        fee=amounts["fee"],
        qr_code=qr_code.strip(),
        birthday=birthday,
        country_code=country_code.upper(),
        supplements=_validate_supplements(element.get("supplements"), where),
        **texts,
    )


def _validate_supplements(raw: Any, where: str) -> tuple[SupplementInput, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise bad_request(f"{where}.supplements must be an array")
    supplements = []
    for index, item in enumerate(raw):
        item_where = f"{where}.supplements[{index}]"
        if not isinstance(item, dict):
            raise bad_request(f"{item_where} must be an object")
        supplement_id = _required_text(item, "supplement_id", f"{item_where}.")
        if "price" not in item:
            raise bad_request(f"{item_where}.price is required")
        price = _amount(item["price"], f"{item_where}.price")
        supplements.append(
            SupplementInput(
                supplement_id=supplement_id,
                price=price,
                label=_text(item, "label", f"{item_where}."),
                description=_text(item, "description", f"{item_where}."),
            )
        )
    return tuple(supplements)


def _is_real_date(text: str) -> bool:
    if not _NIGHT_RE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- refund, check-in


def validate_refund(body: Any) -> float:
    """``POST /tickets/refund/{id}`` body ``{"amount": number >= 0}``; returns the amount."""
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    if "amount" not in body:
        raise bad_request("amount is required")
    return _amount(body["amount"], "amount")


@dataclass(frozen=True)
class CheckIn:
    """A validated check-in body."""

    enter: int
    entry_date: datetime
    quality: float | None


def validate_checkin(body: Any) -> CheckIn:
    """``PUT .../checkin`` body: ``enter`` (people, >= 1), ``entry_date`` (ISO), ``quality``
    (optional, 0..5)."""
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    enter = body.get("enter")
    if enter is None:
        raise bad_request("enter is required")
    if isinstance(enter, bool) or not isinstance(enter, int) or enter < 1:
        raise bad_request("enter must be a positive integer")
    raw_entry = body.get("entry_date")
    if raw_entry is None:
        raise bad_request("entry_date is required")
    if not isinstance(raw_entry, str):
        raise bad_request("entry_date must be an ISO 8601 string")
    entry_date = parse_instant(raw_entry, "entry_date")
    quality = body.get("quality")
    if quality is not None and (not is_number(quality) or not 0 <= quality <= 5):
        raise bad_request("quality must be a number between 0 and 5")
    return CheckIn(enter=enter, entry_date=entry_date, quality=quality)
