"""The Fourvenues endpoints the backoffice uses, as typed methods of `FourvenuesClient`.

Each method checks its arguments, turns them into a path and a query (ids URL-quoted, dates in
the formats the API reads), pages collections, and parses what comes back into schemas.py's
objects; data that cannot be read becomes `InvalidResponse` (or, after a create,
`OutcomeUnknown`). Everything about HTTP itself (retries, sending a create exactly once,
statuses, call records) is `HttpClient`'s, in client.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from tickets.fourvenues.client import HttpClient
from tickets.fourvenues.errors import InvalidResponse
from tickets.fourvenues.parsing import SchemaError, as_list, parse_money
from tickets.fourvenues.schemas import (
    Channel,
    CreateTicketsRequest,
    Event,
    Promoter,
    Rate,
    Ticket,
    money_to_json,
)

MAX_PAGE_SIZE = 500  # a larger limit is answered with 400 (fourvenues-api.md §2.5)


def _quote(value: str, what: str) -> str:
    # Ids are opaque Unicode (one documented id starts with "ñ"); quoting everything keeps a
    # "/" or "?" inside an id from changing the path, and an empty id from hitting a collection.
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string")
    return quote(value, safe="")


def _iso_z(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("Ticket date filters must be timezone-aware datetimes")
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


class FourvenuesClient(HttpClient):
    """A Fourvenues API client for one credential and environment.

    Built with `HttpClient`'s keyword arguments (base URL, auth, timeouts, retries, rate limit,
    `on_call`); use it as a context manager, or `close()` it, to release its session.
    """

    def check_connection(self) -> list[Channel]:
        """The documented key check: GET /channels/ against the configured environment."""
        return self.list_channels()

    def list_channels(self) -> list[Channel]:
        return self._parse_items(self._get_data("/channels/", {}), Channel.from_api, "/channels/")

    def list_events(self, *, start: date, end: date) -> list[Event]:
        if end < start:
            raise ValueError("end must not be before start")
        params = {"start": f"{start:%Y-%m-%d}", "end": f"{end:%Y-%m-%d}"}
        return [Event.from_api(item) for item in self._paged("/events/", params, MAX_PAGE_SIZE)]

    def get_event(self, event_id: str) -> Event:
        path = f"/events/{_quote(event_id, 'event_id')}"
        return self._parse_one(self._get_data(path, {}), Event.from_api, path)

    def list_ticket_rates(self, *, event_id: str) -> list[Rate]:
        # Not paged: events have a handful of rates (≤15 seen), far below one page.
        if not event_id or not event_id.strip():
            raise ValueError("event_id must be a non-empty string")
        path = "/tickets-rates/"
        return self._parse_items(self._get_data(path, {"event_id": event_id}), Rate.from_api, path)

    def list_promoters(self) -> list[Promoter]:
        return [Promoter.from_api(item) for item in self._paged("/users/", {}, MAX_PAGE_SIZE)]

    def iter_tickets(
        self,
        *,
        event_id: str,
        start_date: datetime | None = None,
        end_date: datetime | None = None,
        date_field: Literal["created_at", "updated_at"] = "created_at",
        page_size: int = MAX_PAGE_SIZE,
    ) -> Iterator[Ticket]:
        """The event's tickets, fetched lazily one page at a time."""
        if not event_id or not event_id.strip():
            raise ValueError("event_id must be a non-empty string")
        if date_field not in ("created_at", "updated_at"):
            raise ValueError("date_field must be created_at or updated_at")
        params: dict[str, Any] = {"event_id": event_id}
        if start_date is not None or end_date is not None:
            params["date_field"] = date_field
        if start_date is not None:
            params["start_date"] = _iso_z(start_date)
        if end_date is not None:
            params["end_date"] = _iso_z(end_date)
        # Validated before the generator starts so a bad argument fails at the call site.
        self._check_page_size(page_size)
        return self._iter_tickets(params, page_size)

    def _iter_tickets(self, params: dict[str, Any], page_size: int) -> Iterator[Ticket]:
        for item in self._paged("/tickets/", params, page_size):
            yield self._parse_one(item, Ticket.from_api, "/tickets/")

    def get_ticket(self, ticket_id: str) -> Ticket:
        path = f"/tickets/{_quote(ticket_id, 'ticket_id')}"
        return self._parse_one(self._get_data(path, {}), Ticket.from_api, path)

    def get_ticket_by_code(self, code: str) -> Ticket:
        path = f"/tickets/by-code/{_quote(code, 'code')}"
        return self._parse_one(self._get_data(path, {}), Ticket.from_api, path)

    def create_tickets(self, request: CreateTicketsRequest) -> list[Ticket]:
        """POST /tickets/, sent exactly once.

        Returns the tickets the API echoed back, which may be fewer than were sent (the docs
        show a single object even for several tickets); the caller fetches the rest by
        `payment_id`.
        """
        path = "/tickets/"
        body = request.to_payload()
        documents = tuple(
            ticket.personal_document_number
            for ticket in request.tickets
            if ticket.personal_document_number
        )
        envelope = self._send_once(path, body, action="create", documents=documents)
        if "data" not in envelope or envelope["data"] is None:
            self._raise_unknown(path, "the reply said success but carried no ticket data", "create")
        try:
            tickets = [Ticket.from_api(item) for item in as_list(envelope["data"])]
        except SchemaError as exc:
            self._raise_unknown(path, f"the ticket data could not be read ({exc})", "create")
        if not tickets:
            self._raise_unknown(path, "the reply said success but listed no tickets", "create")
        return tickets

    def refund_ticket(self, ticket_id: str, *, amount: Decimal) -> None:
        """POST /tickets/refund/{id}, sent exactly once."""
        if isinstance(amount, float):
            raise TypeError("amount must be a Decimal, not a float")
        value = parse_money(amount)
        if value < 0:
            raise ValueError("amount cannot be negative")
        path = f"/tickets/refund/{_quote(ticket_id, 'ticket_id')}"
        self._send_once(path, {"amount": money_to_json(value)}, action="refund", documents=())

    # ---------------------------------------------------------------------------------------
    # Paging and parsing
    # ---------------------------------------------------------------------------------------

    @staticmethod
    def _check_page_size(page_size: int) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")

    def _paged(self, path: str, params: Mapping[str, Any], page_size: int) -> Iterator[Any]:
        """Items of a collection, page by page, until a short or empty page.

        There is no total or next link in the API; a short page is the only end marker.
        """
        self._check_page_size(page_size)
        offset = 0
        previous_first: Any = None
        while True:
            data = self._get_data(path, {**params, "limit": page_size, "offset": offset})
            items = self._as_items(data, path)
            first = items[0].get("_id") if items and isinstance(items[0], Mapping) else None
            if offset and first is not None and first == previous_first:
                # A server that ignored `offset` would otherwise be paged forever.
                raise InvalidResponse(
                    f"Fourvenues returned the same page twice for GET {path}; paging stopped.",
                    method="GET",
                    path=path,
                )
            yield from items
            if len(items) < page_size:
                return
            previous_first = first
            offset += len(items)

    def _as_items(self, data: Any, path: str) -> list[Any]:
        try:
            return as_list(data)
        except SchemaError as exc:
            raise InvalidResponse(
                f"Fourvenues answered GET {path} with data the backoffice cannot read ({exc}).",
                method="GET",
                path=path,
            ) from None

    def _parse_items(self, data: Any, parse: Callable[[Any], Any], path: str) -> list[Any]:
        return [self._parse_one(item, parse, path) for item in self._as_items(data, path)]

    def _parse_one(self, data: Any, parse: Callable[[Any], Any], path: str) -> Any:
        if isinstance(data, list) and len(data) == 1:
            data = data[0]
        try:
            return parse(data)
        except SchemaError as exc:
            raise InvalidResponse(
                f"Fourvenues answered GET {path} with data the backoffice cannot read ({exc}).",
                method="GET",
                path=path,
            ) from None
