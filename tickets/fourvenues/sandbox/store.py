"""The sandbox's ticket store: thread-safe, in memory, optionally backed by a JSON state file.

Tickets are kept as the full Ticket objects of fourvenues-api.md §3.6, exactly as
``GET /tickets/{id}`` returns them; :func:`as_list_item` derives the shorter ``GET /tickets/``
form. ``created_at`` is strictly increasing at millisecond resolution (each new ticket gets at
least the previous ticket's millisecond plus one), so listing order is creation order and paging
by ``start_date`` never meets two tickets with one timestamp. Tickets loaded from a state file
may still tie; listing then breaks the tie by ``_id``.

With a ``state_file`` the store loads it at start (when present) and rewrites it atomically
before each mutation takes effect in memory: a failed write leaves both the file and the store
as they were, so a demo sandbox restarted later keeps exactly the tickets it confirmed.
"""

from __future__ import annotations

import bisect
import copy
import json
import os
import secrets
import string
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .catalogue import night_of, slugify
from .validation import ApiError, CheckIn, CreateOrder, SupplementInput, TicketInput

STATE_FORMAT = "fourvenues-sandbox-state"
STATE_VERSION = 1

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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CODE_ALPHABET = string.ascii_uppercase + string.digits
_ID_ALPHABET = string.ascii_lowercase + string.ascii_uppercase + string.digits


class StateFileError(RuntimeError):
    """The state file exists but cannot be read as sandbox state."""


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
    moment = _EPOCH + timedelta(milliseconds=ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def ms_from_iso(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 instant (offset-less means UTC)."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)


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


@dataclass(eq=False)  # records are compared by identity: removing one must not compare tickets
class _Record:
    ticket: dict[str, Any]
    created_ms: int
    updated_ms: int

    @property
    def sort_key(self) -> tuple[int, str]:
        return self.created_ms, self.ticket["_id"]

    @classmethod
    def of(cls, ticket: dict[str, Any]) -> _Record:
        return cls(ticket, ms_from_iso(ticket["created_at"]), ms_from_iso(ticket["updated_at"]))


class TicketStore:
    """Every ticket the sandbox has issued; all methods are safe to call from any thread.

    Methods return deep copies, so callers can never change stored state by accident.
    """

    def __init__(
        self,
        state_file: str | os.PathLike[str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state_file = Path(state_file) if state_file is not None else None
        self._clock = clock
        self._changed = threading.Condition(threading.RLock())
        self._records: list[_Record] = []
        # Each event's records in listing order: a page is a slice, not a scan of every ticket.
        self._by_event: dict[str, list[_Record]] = {}
        self._by_id: dict[str, _Record] = {}
        self._by_code: dict[str, _Record] = {}
        self._last_ms = 0
        self._invoice_seq = 0
        if self.state_file is not None and self.state_file.exists():
            self._load(self.state_file)

    # ----------------------------------------------------------------------- reads

    def all(self) -> list[dict[str, Any]]:
        """Every ticket, full form, ordered by ``created_at`` then ``_id``."""
        with self._changed:
            return [copy.deepcopy(r.ticket) for r in self._records]

    def count(self) -> int:
        """How many tickets are stored."""
        with self._changed:
            return len(self._records)

    def get(self, ticket_id: str) -> dict[str, Any] | None:
        """The full ticket with this ``_id``, or ``None``."""
        with self._changed:
            record = self._by_id.get(ticket_id)
            return copy.deepcopy(record.ticket) if record else None

    def by_code(self, code: str) -> dict[str, Any] | None:
        """The full ticket with this ``code``, or ``None``."""
        with self._changed:
            record = self._by_code.get(code)
            return copy.deepcopy(record.ticket) if record else None

    def has_event(self, event_id: str) -> bool:
        """Whether any stored ticket belongs to ``event_id``."""
        with self._changed:
            return bool(self._by_event.get(event_id))

    def list_items(
        self,
        event_id: str,
        *,
        date_field: str = "created_at",
        start: datetime | None = None,
        end: datetime | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """One page of an event's tickets in the ``GET /tickets/`` form (:func:`as_list_item`),
        ``start``/``end`` both inclusive."""
        with self._changed:
            page = self._page(event_id, date_field, start, end, offset, limit)
            return [as_list_item(r.ticket) for r in page]

    def _page(
        self,
        event_id: str,
        date_field: str,
        start: datetime | None,
        end: datetime | None,
        offset: int,
        limit: int,
    ) -> list[_Record]:
        records = self._by_event.get(event_id, [])
        if start is None and end is None:
            return records[offset : offset + limit]
        # Inclusive bounds at millisecond resolution: round the start up, the end down.
        low = -((_EPOCH - start) // timedelta(milliseconds=1)) if start is not None else None
        high = _ms_floor(end) if end is not None else None
        selected = []
        for record in records:
            ms = record.created_ms if date_field == "created_at" else record.updated_ms
            if (low is None or ms >= low) and (high is None or ms <= high):
                selected.append(record)
        return selected[offset : offset + limit]

    def wait_for(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` tickets are stored; ``False`` if ``timeout`` passes.

        For tests of requests whose client gives up before the server commits (a timeout):
        they wait for the commit instead of sleeping.
        """
        with self._changed:
            return self._changed.wait_for(lambda: len(self._records) >= count, timeout)

    # ----------------------------------------------------------------------- writes

    def create(self, order: CreateOrder) -> list[dict[str, Any]]:
        """Store the tickets of a validated create request; return them (full form).

        A ``qr_code`` already in use, or repeated within the request, is rejected with 400
        before anything is stored: codes are what the by-code endpoints look up.
        """
        with self._changed:
            self._check_codes(order.tickets)
            payment_id = new_id()
            records = []
            taken = set(self._by_code)
            invoice_seq = self._invoice_seq
            for item in order.tickets:
                code = item.qr_code or self._fresh_code(taken)
                taken.add(code)
                created_ms = self._next_ms()
                invoice_seq += 1
                ticket = _build_ticket(
                    order,
                    item,
                    code=code,
                    payment_id=payment_id,
                    created_ms=created_ms,
                    invoice_seq=invoice_seq,
                )
                records.append(_Record(ticket, created_ms, created_ms))
            self._save((r.ticket for r in (*self._records, *records)), invoice_seq=invoice_seq)
            self._invoice_seq = invoice_seq
            for record in records:
                self._index(record)
            self._changed.notify_all()
            return [copy.deepcopy(r.ticket) for r in records]

    def refund(self, ticket_id: str, amount: float) -> dict[str, Any]:
        """Add ``amount`` to ``refunded``; cancel the ticket once the refunds cover
        ``total_paid`` (so ``amount: 0`` on a comp voids it, per fourvenues-api.md §3.10)."""
        with self._changed:
            record = self._by_id.get(ticket_id)
            if record is None:
                raise ApiError(404, f"Ticket {ticket_id!r} not found")
            ticket = copy.deepcopy(record.ticket)
            if ticket["status"] == STATUS_CANCELLED:
                raise ApiError(400, "Ticket is already cancelled")
            refundable = money(ticket["total_paid"] - ticket["refunded"])
            if money(amount) > refundable:
                raise ApiError(400, f"amount exceeds the refundable balance ({refundable})")
            ticket["refunded"] = money(ticket["refunded"] + amount)
            if ticket["refunded"] >= ticket["total_paid"]:
                ticket["status"] = STATUS_CANCELLED
            return self._replace(record, ticket)

    def check_in(
        self, check_in: CheckIn, *, code: str | None = None, ticket_id: str | None = None
    ) -> dict[str, Any]:
        """Record ``enter`` people entering on the ticket found by ``code`` or ``ticket_id``."""
        with self._changed:
            record = (
                self._by_code.get(code) if code is not None else self._by_id.get(ticket_id or "")
            )
            if record is None:
                raise ApiError(404, "Ticket not found")
            ticket = copy.deepcopy(record.ticket)
            if ticket["status"] != STATUS_ACTIVATED:
                raise ApiError(400, f"Ticket is {ticket['status']}; it cannot enter")
            if ticket["enter"] + check_in.enter > ticket["for"]:
                raise ApiError(
                    400, f"Ticket already used: {ticket['enter']} of {ticket['for']} entered"
                )
            ticket["enter"] += check_in.enter
            ticket["entry_date"] = int(check_in.entry_date.timestamp())
            return self._replace(record, ticket)

    def reset(self) -> None:
        """Forget every ticket (and rewrite the state file empty)."""
        with self._changed:
            self._save([], invoice_seq=self._invoice_seq)
            self._records.clear()
            self._by_event.clear()
            self._by_id.clear()
            self._by_code.clear()
            self._changed.notify_all()

    # ------------------------------------------------- planting changes "made on Fourvenues"
    # Fourvenues changes tickets behind Comps' back (the dashboard, the door, box office sales):
    # these let tests, benchmarks and trainers reproduce that.

    def load(self, tickets: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add tickets as if issued outside the API (by hand, at the box office): each is a full
        or partial ticket; missing fields get the defaults of :func:`manual_ticket`."""
        with self._changed:
            records = []
            taken = set(self._by_code)
            ids = set(self._by_id)
            for partial in tickets:
                ticket = manual_ticket(**partial)
                if not isinstance(ticket["event_id"], str) or not ticket["event_id"]:
                    raise ApiError(400, "event_id is required")
                if not isinstance(ticket["_id"], str) or ticket["_id"] in ids:
                    raise ApiError(400, f"Ticket {ticket['_id']!r} already exists")
                ids.add(ticket["_id"])
                if not partial.get("code"):
                    ticket["code"] = self._fresh_code(taken)
                if ticket["code"] in taken:
                    raise ApiError(400, f"code {ticket['code']!r} is already in use")
                taken.add(ticket["code"])
                if not partial.get("created_at"):
                    ticket["created_at"] = iso_ms(self._next_ms())
                if not partial.get("updated_at"):
                    ticket["updated_at"] = ticket["created_at"]
                ticket["activation_date"] = ticket["activation_date"] or ticket["created_at"]
                try:
                    record = _Record.of(ticket)
                except (TypeError, ValueError):
                    raise ApiError(400, "created_at and updated_at must be ISO 8601") from None
                self._last_ms = max(self._last_ms, record.created_ms, record.updated_ms)
                records.append(record)
            self._save(
                (r.ticket for r in (*self._records, *records)), invoice_seq=self._invoice_seq
            )
            if len(records) > 1000:  # one sort, not a thousand insertions
                self._records.extend(records)
                self._records.sort(key=lambda r: r.sort_key)
                for record in records:
                    self._by_event.setdefault(record.ticket["event_id"], []).append(record)
                    self._by_id[record.ticket["_id"]] = record
                    self._by_code[record.ticket["code"]] = record
                for listed in self._by_event.values():
                    listed.sort(key=lambda r: r.sort_key)
            else:
                for record in records:
                    self._index(record)
            self._changed.notify_all()
            return [copy.deepcopy(r.ticket) for r in records]

    def update(self, ticket_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Change fields of a ticket (holder details, ``status``...), as the dashboard would;
        ``updated_at`` moves on. Its identity (``_id``, ``code``, ``event_id``) and timestamps
        cannot be set."""
        fixed = {"_id", "code", "event_id", "created_at", "updated_at"} & set(changes)
        if fixed:
            raise ApiError(400, f"{', '.join(sorted(fixed))} cannot be changed")
        with self._changed:
            record = self._by_id.get(ticket_id)
            if record is None:
                raise ApiError(404, f"Ticket {ticket_id!r} not found")
            return self._replace(record, {**copy.deepcopy(record.ticket), **changes})

    def delete(self, ticket_id: str) -> None:
        """Remove a ticket entirely, as if it had never existed on Fourvenues."""
        with self._changed:
            record = self._by_id.get(ticket_id)
            if record is None:
                raise ApiError(404, f"Ticket {ticket_id!r} not found")
            self._save(
                (r.ticket for r in self._records if r is not record),
                invoice_seq=self._invoice_seq,
            )
            self._records.remove(record)
            self._by_event[record.ticket["event_id"]].remove(record)
            del self._by_id[ticket_id]
            self._by_code.pop(record.ticket["code"], None)
            self._changed.notify_all()

    # ----------------------------------------------------------------------- internals

    def _check_codes(self, tickets: Iterable[TicketInput]) -> None:
        seen: set[str] = set()
        for index, item in enumerate(tickets):
            if not item.qr_code:
                continue
            if item.qr_code in self._by_code or item.qr_code in seen:
                raise ApiError(400, f"tickets[{index}].qr_code {item.qr_code!r} is already in use")
            seen.add(item.qr_code)

    @staticmethod
    def _fresh_code(taken: set[str]) -> str:
        while (code := new_code()) in taken:
            pass
        return code

    def _next_ms(self) -> int:
        # Strictly increasing even if the wall clock steps back or two tickets share a moment.
        self._last_ms = max(int(self._clock() * 1000), self._last_ms + 1)
        return self._last_ms

    def _index(self, record: _Record) -> None:
        bisect.insort(self._records, record, key=lambda r: r.sort_key)
        bisect.insort(
            self._by_event.setdefault(record.ticket["event_id"], []),
            record,
            key=lambda r: r.sort_key,
        )
        self._by_id[record.ticket["_id"]] = record
        self._by_code[record.ticket["code"]] = record

    def _replace(self, record: _Record, ticket: dict[str, Any]) -> dict[str, Any]:
        updated_ms = self._next_ms()
        ticket["updated_at"] = iso_ms(updated_ms)
        self._save(
            (r.ticket if r is not record else ticket for r in self._records),
            invoice_seq=self._invoice_seq,
        )
        record.ticket = ticket
        record.updated_ms = updated_ms
        return copy.deepcopy(ticket)

    def _save(self, tickets: Iterable[dict[str, Any]], *, invoice_seq: int) -> None:
        """Write the state the store is about to have; called before memory changes. Callers
        pass a generator, so without a state file nothing walks every ticket."""
        if self.state_file is None:
            return
        state = {
            "format": STATE_FORMAT,
            "version": STATE_VERSION,
            "invoice_seq": invoice_seq,
            "tickets": list(tickets),
        }
        directory = self.state_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{self.state_file.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle, ensure_ascii=False, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp_name, self.state_file)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise

    def _load(self, path: Path) -> None:
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
                raise ValueError(f"not a {STATE_FORMAT} file")
            if state.get("version") != STATE_VERSION:
                raise ValueError(f"unsupported version {state.get('version')!r}")
            records = [_Record.of(ticket) for ticket in state["tickets"]]
            invoice_seq = int(state.get("invoice_seq", len(records)))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise StateFileError(f"Cannot load sandbox state from {path}: {exc}") from exc
        for record in records:
            self._index(record)
        self._invoice_seq = invoice_seq
        self._last_ms = max((max(r.created_ms, r.updated_ms) for r in records), default=0)


def _build_ticket(
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
    year = (_EPOCH + timedelta(milliseconds=created_ms)).year % 100
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
    ``activation_date`` left empty are filled in by :meth:`TicketStore.load`."""
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


def _ms_floor(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


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
