"""The sandbox's behaviour, independent of sockets: an :class:`.replies.HttpRequest` in, a
:class:`.replies.Reply` out.

Requests under ``/integrations`` go through authentication, key scopes and the fault plan
(:mod:`.faults`) to the endpoint handlers here, which serve the seeded catalogue
(:mod:`.catalogue`) and the ticket store (:mod:`.store`); requests under ``/_sandbox`` go to the
control API (:mod:`.control`). :class:`.server.SandboxServer` wires the app to an HTTP server.
"""

from __future__ import annotations

import hmac
import json
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.message import Message
from functools import partial
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import documents
from . import faults as fault_kinds
from .catalogue import Catalogue
from .control import ControlApi
from .faults import Fault, FaultPlan
from .replies import (
    HANG,
    RESET,
    HttpRequest,
    Reply,
    error_reply,
    garbled_reply,
    json_reply,
    ok_reply,
)
from .routes import (
    API_PREFIX,
    CONTROL_PREFIX,
    MethodNotAllowed,
    Route,
    parse_scopes,
    resolve,
    scope_key,
)
from .store import TicketStore
from .traffic import Traffic
from .validation import (
    ApiError,
    bad_request,
    parse_date_field,
    parse_instant,
    parse_night,
    parse_paging,
    query_value,
    require_param,
    validate_checkin,
    validate_create,
    validate_refund,
)

_TICKET_HANDLERS = frozenset({"list_tickets", "create_tickets", "get_ticket", "get_ticket_by_code"})
"""The endpoints whose answers carry ticket documents (what the document faults reshape)."""


class SandboxApp:
    """The sandbox's behaviour, independent of sockets: request in, :class:`Reply` out.

    :class:`.server.SandboxServer` wires it to an HTTP server; see there for the options.
    """

    def __init__(
        self,
        *,
        catalogue: Catalogue,
        store: TicketStore,
        faults: FaultPlan,
        api_key: str | None,
        integration_id: str | None,
        secret: str | None,
        allowed_sale_types: Iterable[str],
        strict_quantity: bool,
        strict_rates: bool,
        strict_references: bool,
        scopes: Iterable[str] | None,
    ) -> None:
        self.catalogue = catalogue
        self.store = store
        self.faults = faults
        self.api_key = api_key
        self.integration_id = integration_id
        self.secret = secret
        self.allowed_sale_types = frozenset(allowed_sale_types)
        self.strict_quantity = strict_quantity
        self.strict_rates = strict_rates
        self.strict_references = strict_references
        self.scopes: frozenset[str] | None = None if scopes is None else parse_scopes(scopes)
        self.control = ControlApi(self)
        self.stopping = threading.Event()
        self.root_url = ""
        self._log_lock = threading.Lock()
        self._request_log: list[tuple[str, str]] = []
        self.traffic = Traffic()

    # ----------------------------------------------------------------------- entry point

    def dispatch(self, request: HttpRequest) -> Reply:
        """Answer one request; never raises (an internal error becomes a 500 envelope)."""
        try:
            parts = urlsplit(request.target)
            path = parts.path
            query = parse_qs(parts.query, keep_blank_values=True)
            if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
                return self._api(request, path, query)
            if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
                return self.control.dispatch(request, path[len(CONTROL_PREFIX) :])
            return error_reply(404, f"Not found: {path}")
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return error_reply(500, "Internal sandbox error")

    def pause(self, seconds: float) -> None:
        """Wait ``seconds``, or less if the server is stopping (so a hang never outlives it)."""
        self.stopping.wait(seconds)

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every API request received, in arrival order."""
        with self._log_lock:
            return list(self._request_log)

    def clear_request_log(self) -> None:
        with self._log_lock:
            self._request_log.clear()

    def reset(self) -> None:
        """Forget tickets, faults and the request log."""
        self.store.reset()
        self.faults.clear()
        self.clear_request_log()
        self.traffic.clear()

    # ----------------------------------------------------------------------- API

    def _api(self, request: HttpRequest, path: str, query: dict[str, list[str]]) -> Reply:
        with self._log_lock:
            self._request_log.append((request.method, path))
        credential = self._authenticate(request.headers)
        if credential is not None:
            self.traffic.count(credential)
        if credential is None:
            return error_reply(
                401, "Unauthorized: send a valid X-Api-Key, or integration_id and secret"
            )
        relative = path[len(API_PREFIX) :] or "/"
        try:
            route, params = resolve(request.method, relative)
        except ApiError as exc:
            allow = [("Allow", exc.allow)] if isinstance(exc, MethodNotAllowed) else []
            return error_reply(exc.status, exc.message, allow)
        if self.scopes is not None and scope_key(route.scope) not in self.scopes:
            return error_reply(403, f"Forbidden: this API key does not grant {route.scope}")

        decision = self.faults.decide(
            request.method,
            relative,
            credential=credential,
            is_create=route.creates,
            serves_tickets=route.handler in _TICKET_HANDLERS,
        )
        if decision.throttled is not None:
            return self._throttled(decision.throttled)
        if decision.latency:
            self.pause(decision.latency)
        outcome = decision.outcome
        if outcome is not None and outcome.kind == fault_kinds.ERROR_BEFORE_COMMIT:
            return error_reply(outcome.params["status"], outcome.params["message"])
        if (
            outcome is not None
            and outcome.kind == fault_kinds.SUCCESS_FALSE
            and not outcome.params["commit"]
        ):
            return self._success_false(outcome)

        reply = self._call(route, request, params, query, decision.shape)
        if decision.documents and reply.status == 200:
            reply = self._reshape(reply, decision.documents)
        return reply if outcome is None else self._after_commit(outcome, reply)

    def _reshape(self, reply: Reply, faults: Iterable[Fault]) -> Reply:
        """The answer's ticket documents as the document faults would have them sent."""
        payload = json.loads(reply.body)
        data = payload.get("data")
        tickets = data if isinstance(data, list) else [data]
        for fault in faults:
            if fault.kind == fault_kinds.PROMOTER_OBJECT:
                change = partial(
                    documents.promoter_as_object,
                    id_key=fault.params["id_key"],
                    users=self.catalogue.users,
                )
            else:
                change = partial(documents.without_fields, fields=fault.params["fields"])
            tickets = [change(t) if isinstance(t, dict) else t for t in tickets]
        payload["data"] = tickets if isinstance(data, list) else tickets[0]
        return json_reply(reply.status, payload)

    def _authenticate(self, headers: Message) -> str | None:
        """The credential a request proves (used to key rate-limit buckets), or ``None``."""
        key = headers.get("X-Api-Key")
        if key and self.api_key and _same(key, self.api_key):
            return f"key:{self.api_key}"
        integration_id, secret = headers.get("integration_id"), headers.get("secret")
        if (
            integration_id
            and secret
            and self.integration_id
            and self.secret
            and _same(integration_id, self.integration_id)
            and _same(secret, self.secret)
        ):
            return f"v1:{self.integration_id}"
        return None

    def _call(
        self,
        route: Route,
        request: HttpRequest,
        params: dict[str, str],
        query: dict[str, list[str]],
        shape: str,
    ) -> Reply:
        handler: Callable[[_Call], Reply] = getattr(self, f"_handle_{route.handler}")
        try:
            return handler(_Call(request, query, params, shape))
        except ApiError as exc:
            return error_reply(exc.status, exc.message)

    @staticmethod
    def _throttled(fault: Fault) -> Reply:
        retry_after = fault.params["retry_after"]
        headers = [("Retry-After", str(retry_after))] if retry_after is not None else []
        return error_reply(429, "Too many requests", headers)

    @staticmethod
    def _success_false(fault: Fault) -> Reply:
        message = fault.params["message"]
        return json_reply(200, {"success": False, "error": message, "message": message})

    def _after_commit(self, fault: Fault, reply: Reply) -> Reply:
        if fault.kind == fault_kinds.TIMEOUT_AFTER_COMMIT:
            return Reply(action=HANG, hang_seconds=fault.params["seconds"])
        if fault.kind == fault_kinds.RESET_AFTER_COMMIT:
            return Reply(action=RESET)
        if fault.kind == fault_kinds.ERROR_AFTER_COMMIT:
            return error_reply(fault.params["status"], fault.params["message"])
        if fault.kind == fault_kinds.MALFORMED_JSON:
            return garbled_reply(reply)
        return self._success_false(fault)

    # ----------------------------------------------------------------------- API handlers

    def _handle_list_channels(self, call: _Call) -> Reply:
        return ok_reply(self.catalogue.channels)

    def _handle_list_events(self, call: _Call) -> Reply:
        first = parse_night(query_value(call.query, "start"), "start")
        last = parse_night(query_value(call.query, "end"), "end")
        offset, limit = parse_paging(call.query)
        return ok_reply(self.catalogue.events_between(first, last)[offset : offset + limit])

    def _handle_get_event(self, call: _Call) -> Reply:
        event_id = call.params["eventId"]
        event = self.catalogue.event(event_id)
        if event is None:
            raise ApiError(404, f"Event {event_id!r} not found")
        return ok_reply(event)

    def _handle_list_rates(self, call: _Call) -> Reply:
        event_id = require_param(call.query, "event_id")
        offset, limit = parse_paging(call.query)
        if self.catalogue.event(event_id) is None:
            raise ApiError(404, f"Event {event_id!r} not found")
        return ok_reply(self.catalogue.rates_for(event_id)[offset : offset + limit])

    def _handle_list_users(self, call: _Call) -> Reply:
        offset, limit = parse_paging(call.query)
        return ok_reply(self.catalogue.users[offset : offset + limit])

    def _handle_get_user(self, call: _Call) -> Reply:
        user_id = call.params["userId"]
        user = self.catalogue.user(user_id)
        if user is None:
            raise ApiError(404, f"User {user_id!r} not found")
        return ok_reply(user)

    def _handle_list_tickets(self, call: _Call) -> Reply:
        query = call.query
        event_id = require_param(query, "event_id")
        date_field = parse_date_field(query)
        start = end = None
        if raw := query_value(query, "start_date"):
            start = parse_instant(raw, "start_date")
        if raw := query_value(query, "end_date"):
            end = parse_instant(raw, "end_date", end_of_range=True)
        offset, limit = parse_paging(query)
        # Tickets of an event that has left the catalogue window stay listable.
        if self.catalogue.event(event_id) is None and not self.store.has_event(event_id):
            raise ApiError(404, f"Event {event_id!r} not found")
        return ok_reply(
            self.store.list_items(
                event_id, date_field=date_field, start=start, end=end, offset=offset, limit=limit
            )
        )

    def _handle_get_ticket(self, call: _Call) -> Reply:
        ticket_id = call.params["ticketId"]
        ticket = self.store.get(ticket_id)
        if ticket is None:
            raise ApiError(404, f"Ticket {ticket_id!r} not found")
        return ok_reply(ticket)

    def _handle_get_ticket_by_code(self, call: _Call) -> Reply:
        code = call.params["ticketCode"]
        ticket = self.store.by_code(code)
        if ticket is None:
            raise ApiError(404, f"Ticket with code {code!r} not found")
        return ok_reply(ticket)

    def _handle_create_tickets(self, call: _Call) -> Reply:
        order = validate_create(
            _json_body(call.request),
            catalogue=self.catalogue,
            allowed_sale_types=self.allowed_sale_types,
            strict_quantity=self.strict_quantity,
            strict_rates=self.strict_rates,
            strict_references=self.strict_references,
        )
        tickets = self.store.create(order)
        return ok_reply(tickets if call.shape == fault_kinds.SHAPE_ARRAY else tickets[0])

    def _handle_refund_ticket(self, call: _Call) -> Reply:
        amount = validate_refund(_json_body(call.request))
        self.store.refund(call.params["ticketId"], amount)
        return ok_reply(with_data=False)

    def _handle_check_in_by_code(self, call: _Call) -> Reply:
        check_in = validate_checkin(_json_body(call.request))
        self.store.check_in(check_in, code=call.params["ticketCode"])
        return ok_reply(with_data=False)

    def _handle_check_in_by_id(self, call: _Call) -> Reply:
        check_in = validate_checkin(_json_body(call.request))
        self.store.check_in(check_in, ticket_id=call.params["ticketId"])
        return ok_reply(with_data=False)


@dataclass(frozen=True)
class _Call:
    """Everything an API handler may need about its request."""

    request: HttpRequest
    query: dict[str, list[str]]
    params: dict[str, str]
    shape: str


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _json_body(request: HttpRequest) -> Any:
    content_type = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise bad_request("Content-Type must be application/json")
    if not request.body.strip():
        raise bad_request("Request body is empty; send a JSON object")

    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(request.body.decode("utf-8"), parse_constant=reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise bad_request("Request body is not valid JSON") from None
