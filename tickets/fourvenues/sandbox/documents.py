"""The Ticket documents the sandbox serves, as plain JSON-like dicts (fourvenues-api.md §3.6).

How a ticket looks: the full form ``GET /tickets/{id}`` returns, built from a create request
(:func:`build_ticket`) or from a few fields as if issued by hand (:func:`manual_ticket`), and the
shorter ``GET /tickets/`` form (:func:`as_list_item`); plus the ids, codes, amounts and
timestamps in them. Keeping and changing tickets is :mod:`.store`'s business.
"""

from __future__ import annotations

import secrets
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from .catalogue import night_of, slugify
from .validation import CreateOrder, SupplementInput, TicketInput

LIST_OMITTED_FIELDS = (
    "date",
    "surcharge_total",
    "surcharge",
    "supplements_service_charge_total",
    "total_warranty",
)
"""Ticket fields that only the by-id, by-code and POST responses carry (fourvenues-api.md §3.5)."""

LIST_OMITTED_SUPPLEMENT_FIELDS = (
    "normalized_label",
    "service_charge_amount",
    "service_charge_type",
)
"""Supplement fields likewise missing from the ``GET /tickets/`` example."""

STATUS_ACTIVATED = "activated"
STATUS_CANCELLED = "cancelled"

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CODE_ALPHABET = string.ascii_uppercase + string.digits
_ID_ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits


def new_id(length: int = 32) -> str:
    """A fresh opaque alphanumeric id, like the API's ``_id`` values."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def new_code() -> str:
    """A fresh 9-character uppercase alphanumeric ticket code (e.g. ``P6J21FF2S``)."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(9))


def money(value: float) -> int | float:
    """Round to cents; integral amounts become ints so ``10`` stays ``10`` as in the docs."""
    rounded = round(value + 0.0, 2)
    return int(rounded) if rounded.is_integer() else rounded


def iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC with milliseconds and ``Z``."""
    moment = EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms_from_iso(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 instant (offset-less means UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)


def _json_copy(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars): several times faster than
    ``copy.deepcopy``, which a 500-ticket page would otherwise spend most of its time in."""
    if isinstance(value, dict):
        return {k: _json_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_copy(v) for v in value]
    return value


def as_list_item(ticket: dict[str, Any]) -> dict[str, Any]:
    """The ``GET /tickets/`` form of a full ticket: a copy without the detail-only fields."""
    item = {k: _json_copy(v) for k, v in ticket.items() if k not in LIST_OMITTED_FIELDS}
    item["supplements"] = [
        {k: v for k, v in supplement.items() if k not in LIST_OMITTED_SUPPLEMENT_FIELDS}
        for supplement in item["supplements"]
    ]
    return item


def build_ticket(
    order: CreateOrder,
    item: TicketInput,
    *,
    code: str,
    payment_id: str,
    created_ms: int,
    invoice_seq: int,
) -> dict[str, Any]:
    """A full Ticket object (fourvenues-api.md §3.6) for one element of a create request.

    Request fields are renamed as the real API does (``full_name`` → ``name``, ``country_code``
    → ``country``, ``ticket_rate_id`` → ``rate_id``); ``birthday``, ``personal_document_*`` and
    ``qr_code`` are echoed back as extra fields (§4 A13).
    """
    created_at = iso_ms(created_ms)
    event_id = order.event["_id"] if order.event else ""
    option = order.option or {"_id": order.price_id, "price": 0}
    supplements = [_supplement(s) for s in item.supplements]
    total_extras = sum(s.price for s in item.supplements)
    year = (EPOCH + timedelta(milliseconds=created_ms)).year % 100
    series = (event_id[:4] or "SBX0").upper()
    # Only what a create sets; the rest of the document is as `manual_ticket` defaults it.
    return manual_ticket(
        code=code,
        activation_date=created_at,
        event_id=event_id,
        rate_id=order.ticket_rate_id,
        rate_name=order.rate["name"] if order.rate else "",
        rate_slug=order.rate["slug"] if order.rate else "",
        price_info={
            "_id": option["_id"],
            "price": option["price"],
            "age": option.get("age", 0),
            "content": option.get("content", ""),
            "additional_info": option.get("additional_info", ""),
        },
        price=option["price"],
        channel_id=order.channel_id,
        referral_id=order.referral_id,
        payment_id=payment_id,
        sale_type=order.sale_type,
        name=item.full_name,
        email=item.email,
        phone=item.phone,
        gender=item.gender,
        address=item.address,
        postal_code=item.postal_code,
        country=item.country_code,
        supplements=supplements,
        total_extras=money(total_extras),
        total_fees=money(item.fee),
        total_paid=money(item.total_price + item.fee + total_extras),
        invoice_reference=f"EV{year:02d}T-{series}-{invoice_seq:07d}",
        date=night_of(order.event["date"]).isoformat() if order.event else "",
        surcharge={
            "amount": 0,
            "payment_method": "",
            "payment_id": "",
            "state": "",
            "created_at": created_at,
            "user_id": "",
        },
        created_at=created_at,
        updated_at=created_at,
        birthday=item.birthday,
        personal_document_type=item.personal_document_type,
        personal_document_number=item.personal_document_number,
        qr_code=item.qr_code,
    )


def manual_ticket(**fields: Any) -> dict[str, Any]:
    """A full ticket from ``fields``, the rest defaulted as a zero-price box-office ticket: what
    someone issuing by hand in the Fourvenues dashboard produces. ``code``, ``created_at`` and
    ``activation_date`` left empty are filled in by :meth:`.store.TicketStore.load`."""
    ticket: dict[str, Any] = {
        "_id": new_id(),
        "code": "",
        "status": STATUS_ACTIVATED,
        "activation_date": "",
        "event_id": "",
        "rate_id": "",
        "rate_name": "",
        "rate_slug": "",
        "price_info": {"_id": "", "price": 0, "age": 0, "content": "", "additional_info": ""},
        "price": 0,
        "channel_id": None,
        "referral_id": None,
        "payment_id": None,
        "sale_type": "box_office",
        "name": "",
        "email": "",
        "phone": "",
        "gender": "",
        "address": "",
        "postal_code": "",
        "country": "",
        "language": "es",
        "for": 1,
        "enter": 0,
        "entry_date": 0,
        "discount_quantity_subtract": 0,
        "raised": 0,
        "refunded": 0,
        "supplements": [],
        "total_extras": 0,
        "total_fees": 0,
        "total_paid": 0,
        "invoice_reference": "",
        "corrective_invoice_references": [],
        "date": "",
        "surcharge_total": 0,
        "surcharge": {},
        "supplements_service_charge_total": 0,
        "total_warranty": 0,
        "remarketing": False,
        "created_at": "",
        "updated_at": "",
        "qr_code": None,
    }
    ticket.update(fields)
    return ticket


def _supplement(supplement: SupplementInput) -> dict[str, Any]:
    label = supplement.label or f"Supplement {supplement.supplement_id}"
    return {
        "_id": supplement.supplement_id,
        "price": money(supplement.price),
        "label": label,
        "normalized_label": slugify(label),
        "description": supplement.description,
        "has_fake_price": False,
        "fake_price": 0,
        "product_quantity": 1,
        "product_quantity_used": 0,
        "service_charge_amount": 0,
        "service_charge_type": "fixed",
    }


# --------------------------------------------------------------------------- as some accounts send


def promoter_as_object(
    ticket: dict[str, Any], *, id_key: str, users: list[dict[str, Any]]
) -> dict[str, Any]:
    """``ticket`` with its ``referral_id`` as the promoter object some real accounts send
    (``{"_id" or "id": ..., "name": ..., "email": ...}``); a ticket without one is unchanged."""
    referral = ticket.get("referral_id")
    if not isinstance(referral, str) or not referral:
        return ticket
    user = next((u for u in users if u.get("_id") == referral), {})
    profile = user.get("profile") or {}
    name = " ".join(part for part in (profile.get("name"), profile.get("last_name")) if part)
    promoter = {id_key: referral, "name": name, "email": user.get("email", "")}
    return {**ticket, "referral_id": promoter}


def without_fields(ticket: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """``ticket`` without ``fields``, as the tickets of some real accounts come."""
    return {key: value for key, value in ticket.items() if key not in fields}
