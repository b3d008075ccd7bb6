"""The sandbox's ticket store: thread-safe, in memory, optionally backed by a JSON state file.

Tickets are kept as the full Ticket objects of fourvenues-api.md §3.6 (:mod:`.documents`),
exactly as ``GET /tickets/{id}`` returns them; :func:`.documents.as_list_item` derives the
shorter ``GET /tickets/`` form. ``created_at`` is strictly increasing at millisecond
resolution (each new ticket gets at least the previous ticket's millisecond plus one), so
listing order is creation order and paging by ``start_date`` never meets two tickets with one
timestamp. Tickets loaded from a state file may still tie; listing then breaks the tie by
``_id``.

With a ``state_file`` the store loads it at start (when present) and rewrites it atomically
before each mutation takes effect in memory: a failed write leaves both the file and the store
as they were, so a demo sandbox restarted later keeps exactly the tickets it confirmed.
"""

from __future__ import annotations

import bisect
import copy
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .documents import (
    EPOCH,
    STATUS_ACTIVATED,
    STATUS_CANCELLED,
    as_list_item,
    build_ticket,
    iso_ms,
    manual_ticket,
    money,
    ms_from_iso,
    new_code,
    new_id,
)
from .validation import ApiError, CheckIn, CreateOrder, TicketInput

STATE_FORMAT = "fourvenues-sandbox-state"
STATE_VERSION = 1


class StateFileError(RuntimeError):
    """The state file exists but cannot be read as sandbox state."""


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
        # Refund requests that reached each ticket (applied or refused by its state): how tests
        # prove nothing was withdrawn twice. Kept in memory only, as the request log is.
        self._refunds: dict[str, int] = {}
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

    def refund_count(self, ticket_id: str) -> int:
        """How many refund requests reached the ticket ``ticket_id``: applied, or refused because
        of its state (already cancelled, over the balance). A request refused before it was
        handled (a fault, a 429, a bad body) never reached it and is not counted."""
        with self._changed:
            return self._refunds.get(ticket_id, 0)

    def refund_counts(self) -> dict[str, int]:
        """``refund_count`` of every ticket that was asked for a refund at least once."""
        with self._changed:
            return dict(self._refunds)

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
        low = -((EPOCH - start) // timedelta(milliseconds=1)) if start is not None else None
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
                ticket = build_ticket(
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
        ``total_paid`` (so ``amount: 0`` on a comp voids it, per fourvenues-api.md §3.10).

        A ticket already cancelled is refused with 400 "Ticket is already cancelled" and left
        as it is (the real API's answer is undocumented; refusing is the choice that never
        hides a second withdrawal). Every request that reaches a ticket is counted
        (``refund_count``), applied or refused."""
        with self._changed:
            record = self._by_id.get(ticket_id)
            if record is None:
                raise ApiError(404, f"Ticket {ticket_id!r} not found")
            self._refunds[ticket_id] = self._refunds.get(ticket_id, 0) + 1
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
            self._refunds.clear()
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
        or partial ticket; missing fields get the defaults of
        :func:`.documents.manual_ticket`."""
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


def _ms_floor(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(milliseconds=1)
