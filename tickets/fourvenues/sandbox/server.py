"""The Fourvenues sandbox HTTP server: a stand-in for the Integrations API.

It serves the endpoints the backoffice uses under ``/integrations`` (fourvenues-api.md §5, plus
refund and check-in) with the documented envelope, authentication and field sets, over a seeded
catalogue (:mod:`.catalogue`) and an in-memory ticket store (:mod:`.store`), and it can inject
faults on demand (:mod:`.faults`). A small control API under ``/_sandbox`` (no authentication;
the server binds to 127.0.0.1 by default) manages faults and shows the stored tickets, for
tests and for staff training.

Typical use::

    server = SandboxServer(seed=1).start()
    requests.get(f"{server.base_url}/channels/", headers=server.api_headers())
    server.inject("error_after_commit", match_method="POST", match_path="/tickets")
    ...
    server.stop()

Built on the standard library only (``http.server``), so it runs wherever the project does.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import socket
import struct
import sys
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socketserver import TCPServer
from typing import Any, Self
from urllib.parse import parse_qs, unquote, urlsplit

from . import faults as fault_kinds
from .catalogue import Catalogue, build_catalogue
from .faults import (
    FAULT_DESCRIPTIONS,
    FAULT_PARAM_DEFAULTS,
    Fault,
    FaultError,
    FaultPlan,
    FaultSpec,
)
from .store import TicketStore
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

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
DEFAULT_SEED = 1
DEFAULT_API_KEY = "ik_test_sandbox_key"
DEFAULT_INTEGRATION_ID = "sandbox-integration"
DEFAULT_SECRET = "sandbox-secret"  # noqa: S105 -- a published sandbox credential, not a secret
DEFAULT_SALE_TYPES = ("online",)

API_PREFIX = "/integrations"
CONTROL_PREFIX = "/_sandbox"
MAX_BODY_BYTES = 2 * 1024 * 1024

_JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_PLACEHOLDER_RE = re.compile(r"\{[^}]*\}")


# --------------------------------------------------------------------------- routes


@dataclass(frozen=True)
class Route:
    """One API endpoint: method, documented path template and handler name."""

    method: str
    template: str
    handler: str
    creates: bool = False

    @property
    def scope(self) -> str:
        """The endpoint's name in key scopes, e.g. ``"GET /tickets/{ticketId}"``."""
        return f"{self.method} {self.template}"

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """Path parameters if the (decoded) segments fit the template, else ``None``."""
        parts = self.template.strip("/").split("/")
        if len(parts) != len(segments):
            return None
        params = {}
        for part, segment in zip(parts, segments, strict=True):
            if part.startswith("{"):
                if not segment:
                    return None
                params[part[1:-1]] = segment
            elif part != segment:
                return None
        return params


ROUTES = (
    Route("GET", "/channels/", "list_channels"),
    Route("GET", "/events/", "list_events"),
    Route("GET", "/events/{eventId}", "get_event"),
    Route("GET", "/tickets-rates/", "list_rates"),
    Route("GET", "/users/", "list_users"),
    Route("GET", "/users/{userId}", "get_user"),
    Route("GET", "/tickets/", "list_tickets"),
    Route("POST", "/tickets/", "create_tickets", creates=True),
    Route("GET", "/tickets/by-code/{ticketCode}", "get_ticket_by_code"),
    # The use-case page's spelling of the same lookup (fourvenues-api.md §3.8).
    Route("GET", "/tickets/code/{ticketCode}", "get_ticket_by_code"),
    Route("POST", "/tickets/refund/{ticketId}", "refund_ticket"),
    Route("PUT", "/tickets/by-code/{ticketCode}/checkin", "check_in_by_code"),
    Route("PUT", "/tickets/{ticketId}/checkin", "check_in_by_id"),
    Route("GET", "/tickets/{ticketId}", "get_ticket"),
)
"""Every API endpoint the sandbox serves, relative to ``/integrations``."""


def _scope_key(scope: str) -> str:
    method, _, path = scope.strip().partition(" ")
    return f"{method.upper()} {_PLACEHOLDER_RE.sub('{}', path.strip()).rstrip('/')}"


_SCOPE_KEYS = {_scope_key(route.scope) for route in ROUTES}


# --------------------------------------------------------------------------- request / reply


@dataclass(frozen=True)
class HttpRequest:
    """What the HTTP layer hands to :meth:`SandboxApp.dispatch`."""

    method: str
    target: str
    headers: Message  # case-insensitive lookups, as HTTP header names require
    body: bytes = b""


SEND = "send"
HANG = "hang"
RESET = "reset"


@dataclass
class Reply:
    """What to do with the connection: send a response, hang then close, or reset it."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str = SEND
    hang_seconds: float = 0.0
    close: bool = False


def json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A JSON response (UTF-8, non-ASCII kept as is, like the real API)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, body, [("Content-Type", _JSON_CONTENT_TYPE), *headers])


def error_reply(status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """The sandbox's error envelope: ``error`` and ``message`` both carry the text (§2.7)."""
    return json_reply(status, {"success": False, "error": message, "message": message}, headers)


def _garble(body: bytes) -> bytes:
    # A strict prefix of a JSON object never parses; cutting on a character boundary keeps
    # the failure a JSON error rather than a UTF-8 one.
    text = body.decode()
    return text[: max(1, len(text) // 2)].encode()


# --------------------------------------------------------------------------- the application


class SandboxApp:
    """The sandbox's behaviour, independent of sockets: request in, :class:`Reply` out.

    :class:`SandboxServer` wires it to an HTTP server; see there for the options.
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
        self.scopes: frozenset[str] | None = None
        if scopes is not None:
            scopes = list(scopes)
            unknown = [scope for scope in scopes if _scope_key(scope) not in _SCOPE_KEYS]
            if unknown:
                raise ValueError(f"unknown endpoint scope(s): {', '.join(unknown)}")
            self.scopes = frozenset(map(_scope_key, scopes))
        self.stopping = threading.Event()
        self.root_url = ""
        self._log_lock = threading.Lock()
        self._request_log: list[tuple[str, str]] = []

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
                return self._control(request, path[len(CONTROL_PREFIX) :])
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

    # ----------------------------------------------------------------------- API

    def _api(self, request: HttpRequest, path: str, query: dict[str, list[str]]) -> Reply:
        with self._log_lock:
            self._request_log.append((request.method, path))
        credential = self._authenticate(request.headers)
        if credential is None:
            return error_reply(
                401, "Unauthorized: send a valid X-Api-Key, or integration_id and secret"
            )
        relative = path[len(API_PREFIX) :] or "/"
        try:
            route, params = self._route(request.method, relative)
        except ApiError as exc:
            allow = [("Allow", exc.allow)] if isinstance(exc, _MethodNotAllowed) else []
            return error_reply(exc.status, exc.message, allow)
        if self.scopes is not None and _scope_key(route.scope) not in self.scopes:
            return error_reply(403, f"Forbidden: this API key does not grant {route.scope}")

        decision = self.faults.decide(
            request.method, relative, credential=credential, is_create=route.creates
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
        return reply if outcome is None else self._after_commit(outcome, reply)

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

    @staticmethod
    def _route(method: str, relative: str) -> tuple[Route, dict[str, str]]:
        segments = [unquote(s) for s in relative.strip("/").split("/")]
        candidates = [(r, p) for r in ROUTES if (p := r.match(segments)) is not None]
        for route, params in candidates:
            if route.method == method:
                return route, params
        if candidates:
            raise _MethodNotAllowed(sorted({r.method for r, _ in candidates}))
        raise ApiError(404, f"Not found: {API_PREFIX}{relative}")

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
            return Reply(200, _garble(reply.body), [("Content-Type", _JSON_CONTENT_TYPE)])
        return self._success_false(fault)

    # ----------------------------------------------------------------------- API handlers

    @staticmethod
    def _ok(data: Any = None, *, with_data: bool = True) -> Reply:
        return json_reply(200, {"success": True, "data": data} if with_data else {"success": True})

    def _handle_list_channels(self, call: _Call) -> Reply:
        return self._ok(self.catalogue.channels)

    def _handle_list_events(self, call: _Call) -> Reply:
        first = parse_night(query_value(call.query, "start"), "start")
        last = parse_night(query_value(call.query, "end"), "end")
        offset, limit = parse_paging(call.query)
        return self._ok(self.catalogue.events_between(first, last)[offset : offset + limit])

    def _handle_get_event(self, call: _Call) -> Reply:
        event_id = call.params["eventId"]
        event = self.catalogue.event(event_id)
        if event is None:
            raise ApiError(404, f"Event {event_id!r} not found")
        return self._ok(event)

    def _handle_list_rates(self, call: _Call) -> Reply:
        event_id = require_param(call.query, "event_id")
        offset, limit = parse_paging(call.query)
        if self.catalogue.event(event_id) is None:
            raise ApiError(404, f"Event {event_id!r} not found")
        return self._ok(self.catalogue.rates_for(event_id)[offset : offset + limit])

    def _handle_list_users(self, call: _Call) -> Reply:
        offset, limit = parse_paging(call.query)
        return self._ok(self.catalogue.users[offset : offset + limit])

    def _handle_get_user(self, call: _Call) -> Reply:
        user_id = call.params["userId"]
        user = self.catalogue.user(user_id)
        if user is None:
            raise ApiError(404, f"User {user_id!r} not found")
        return self._ok(user)

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
        return self._ok(
            self.store.list_items(
                event_id, date_field=date_field, start=start, end=end, offset=offset, limit=limit
            )
        )

    def _handle_get_ticket(self, call: _Call) -> Reply:
        ticket_id = call.params["ticketId"]
        ticket = self.store.get(ticket_id)
        if ticket is None:
            raise ApiError(404, f"Ticket {ticket_id!r} not found")
        return self._ok(ticket)

    def _handle_get_ticket_by_code(self, call: _Call) -> Reply:
        code = call.params["ticketCode"]
        ticket = self.store.by_code(code)
        if ticket is None:
            raise ApiError(404, f"Ticket with code {code!r} not found")
        return self._ok(ticket)

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
        return self._ok(tickets if call.shape == fault_kinds.SHAPE_ARRAY else tickets[0])

    def _handle_refund_ticket(self, call: _Call) -> Reply:
        amount = validate_refund(_json_body(call.request))
        self.store.refund(call.params["ticketId"], amount)
        return self._ok(with_data=False)

    def _handle_check_in_by_code(self, call: _Call) -> Reply:
        check_in = validate_checkin(_json_body(call.request))
        self.store.check_in(check_in, code=call.params["ticketCode"])
        return self._ok(with_data=False)

    def _handle_check_in_by_id(self, call: _Call) -> Reply:
        check_in = validate_checkin(_json_body(call.request))
        self.store.check_in(check_in, ticket_id=call.params["ticketId"])
        return self._ok(with_data=False)

    # ----------------------------------------------------------------------- control API

    def _control(self, request: HttpRequest, relative: str) -> Reply:
        path = "/" + relative.strip("/")
        method = request.method
        routes: dict[str, dict[str, Callable[[], Reply]]] = {
            "/": {"GET": self.index_reply},
            "/health": {"GET": self._control_health},
            "/catalogue": {"GET": lambda: self._ok(self.catalogue.as_dict())},
            "/tickets": {
                "GET": lambda: self._ok(self.store.all()),
                "POST": lambda: self._control_load_tickets(request),
            },
            "/reset": {"POST": self._control_reset},
            "/faults": {
                "GET": lambda: self._ok(self.faults.active()),
                "POST": lambda: self._control_add_fault(request),
                "DELETE": lambda: self._ok({"cleared": self.faults.clear()}),
            },
        }
        if match := re.fullmatch(r"/tickets/([^/]+)", path):
            ticket_id = match.group(1)
            routes[path] = {
                "PATCH": lambda: self._control_update_ticket(request, ticket_id),
                "DELETE": lambda: self._control_delete_ticket(ticket_id),
            }
        if match := re.fullmatch(r"/faults/(\d+)", path):
            fault_id = int(match.group(1))
            routes[path] = {"DELETE": lambda: self._control_remove_fault(fault_id)}
        methods = routes.get(path)
        if methods is None:
            return error_reply(404, f"Not found: {CONTROL_PREFIX}{relative}")
        if method not in methods:
            allow = ", ".join(sorted(methods))
            return error_reply(405, f"Method {method} not allowed", [("Allow", allow)])
        return methods[method]()

    def _control_health(self) -> Reply:
        return self._ok(
            {
                "status": "ok",
                "seed": self.catalogue.seed,
                "today": self.catalogue.today.isoformat(),
                "tickets": self.store.count(),
                "faults": len(self.faults.active()),
            }
        )

    def _control_reset(self) -> Reply:
        self.reset()
        return self._ok({"tickets": 0, "faults": 0})

    def _control_add_fault(self, request: HttpRequest) -> Reply:
        try:
            payload = json.loads(request.body or b"null")
            fault = self.faults.add(FaultSpec.from_dict(payload))
        except ValueError as exc:  # FaultError, and JSONDecodeError for a bad body
            message = str(exc) if isinstance(exc, FaultError) else "Body must be a JSON object"
            return error_reply(400, message)
        return json_reply(201, {"success": True, "data": fault})

    def _control_load_tickets(self, request: HttpRequest) -> Reply:
        payload = _control_json(request)
        tickets = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(ticket, dict) for ticket in tickets):
            return error_reply(400, "Body must be a ticket object or a list of them")
        try:
            return json_reply(201, {"success": True, "data": self.store.load(tickets)})
        except ApiError as exc:
            return error_reply(exc.status, exc.message)

    def _control_update_ticket(self, request: HttpRequest, ticket_id: str) -> Reply:
        changes = _control_json(request)
        if not isinstance(changes, dict):
            return error_reply(400, "Body must be a JSON object of the fields to change")
        try:
            return self._ok(self.store.update(ticket_id, changes))
        except ApiError as exc:
            return error_reply(exc.status, exc.message)

    def _control_delete_ticket(self, ticket_id: str) -> Reply:
        try:
            self.store.delete(ticket_id)
        except ApiError as exc:
            return error_reply(exc.status, exc.message)
        return self._ok({"deleted": ticket_id})

    def _control_remove_fault(self, fault_id: int) -> Reply:
        if not self.faults.remove(fault_id):
            return error_reply(404, f"No active fault {fault_id}")
        return self._ok({"removed": fault_id})

    def index(self) -> dict[str, Any]:
        """A description of the sandbox for people: URLs, credentials, endpoints, faults."""
        base_url = f"{self.root_url}{API_PREFIX}"
        control = f"{self.root_url}{CONTROL_PREFIX}"
        return {
            "name": "Fourvenues Integrations API sandbox",
            "about": (
                "A stand-in for https://api.fourvenues.com/integrations with seeded test data. "
                "Nothing here reaches Fourvenues; tickets live in this process"
                + (" and its state file." if self.store.state_file else ".")
            ),
            "base_url": base_url,
            "control_url": control,
            "credentials": {
                "X-Api-Key": self.api_key,
                "integration_id": self.integration_id,
                "secret": self.secret,
                "note": "Send X-Api-Key, or both integration_id and secret, on every API call.",
            },
            "catalogue": {
                "seed": self.catalogue.seed,
                "today": self.catalogue.today.isoformat(),
                "channels": len(self.catalogue.channels),
                "users": len(self.catalogue.users),
                "events": len(self.catalogue.events),
            },
            "options": {
                "allowed_sale_types": sorted(self.allowed_sale_types),
                "strict_quantity": self.strict_quantity,
                "strict_rates": self.strict_rates,
                "strict_references": self.strict_references,
                "scopes": None if self.scopes is None else sorted(self.scopes),
                "state_file": str(self.store.state_file) if self.store.state_file else None,
            },
            "api_endpoints": [f"{r.method} {base_url}{r.template}" for r in ROUTES],
            "control_endpoints": {
                f"GET {control}/": "this description",
                f"GET {control}/health": "liveness, ticket and fault counts",
                f"GET {control}/catalogue": "the whole seeded catalogue",
                f"GET {control}/tickets": "every stored ticket (full form)",
                f"POST {control}/tickets": (
                    "add tickets as if issued by hand in the dashboard: one ticket object or a "
                    'list, e.g. {"event_id": ..., "rate_id": ..., "name": ..., "email": ...}; '
                    "missing fields default to a zero-price box-office ticket"
                ),
                f"PATCH {control}/tickets/<id>": (
                    'change fields as the dashboard would, e.g. {"name": ...} or '
                    '{"status": "cancelled"}; updated_at moves on'
                ),
                f"DELETE {control}/tickets/<id>": "remove a ticket from Fourvenues entirely",
                f"POST {control}/reset": "forget tickets, faults and the request log",
                f"GET {control}/faults": "active faults",
                f"POST {control}/faults": (
                    'add one: {"kind": ..., "params": {...}, "match_method": "POST", '
                    '"match_path": "/tickets", "times": 1, "after": 0}  (times 0 = until '
                    "cleared; after N = let N matching requests through first)"
                ),
                f"DELETE {control}/faults": "clear every fault",
                f"DELETE {control}/faults/<id>": "clear one fault",
            },
            "fault_kinds": {
                kind: {"description": FAULT_DESCRIPTIONS[kind], "params": params}
                for kind, params in FAULT_PARAM_DEFAULTS.items()
            },
        }

    def index_reply(self) -> Reply:
        return json_reply(200, self.index())


@dataclass(frozen=True)
class _Call:
    """Everything an API handler may need about its request."""

    request: HttpRequest
    query: dict[str, list[str]]
    params: dict[str, str]
    shape: str


class _MethodNotAllowed(ApiError):
    def __init__(self, methods: list[str]) -> None:
        super().__init__(405, f"Method not allowed (allowed: {', '.join(methods)})")
        self.allow = ", ".join(methods)


def _control_json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None


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


# --------------------------------------------------------------------------- HTTP plumbing


class _HTTPServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its open connections, so stopping never waits on an
    idle keep-alive client or a hanging fault."""

    daemon_threads = True
    # stop() releases and joins handler threads itself, with a bound.
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.app = app
        self.log: Callable[[str], None] | None = None
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, which can stall without DNS.
        TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections[request] = threading.current_thread()
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(request, None)

    def release_connections(self) -> list[threading.Thread]:
        """Shut every open connection down; returns the threads serving them."""
        with self._connections_lock:
            connections = list(self._connections.items())
        for sock, _ in connections:
            with contextlib.suppress(OSError):  # already closed by its handler
                sock.shutdown(socket.SHUT_RDWR)
        return [thread for _, thread in connections]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, reset) is expected in fault tests, not an error.
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "FourvenuesSandbox/1.0"
    sys_version = ""
    timeout = 60  # an idle keep-alive connection is dropped after this many seconds
    # Headers and body go out in separate writes; with Nagle on, a keep-alive client waits for
    # a delayed ACK (~40 ms) on every second request, which would swamp latency measurements.
    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except ApiError as exc:
            reply = error_reply(exc.status, exc.message)
            reply.close = True  # the unread body would poison the next request
        else:
            reply = self.server.app.dispatch(
                HttpRequest(self.command, self.path, self.headers, body)
            )
        self._deliver(reply)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        raw_length = self.headers.get("Content-Length")
        if raw_length is None:
            return b""
        if not raw_length.strip().isdigit():
            raise bad_request("Invalid Content-Length")
        length = int(raw_length)
        if length > MAX_BODY_BYTES:
            raise ApiError(413, f"Request body larger than {MAX_BODY_BYTES} bytes")
        return self.rfile.read(length)

    def _read_chunked(self) -> bytes:
        chunks = []
        total = 0
        while True:
            size_line = self.rfile.readline(1024).split(b";")[0].strip()
            try:
                size = int(size_line, 16)
            except ValueError:
                raise bad_request("Invalid chunked body") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                raise ApiError(413, f"Request body larger than {MAX_BODY_BYTES} bytes")
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def _deliver(self, reply: Reply) -> None:
        if reply.action == HANG:
            self.log_message(
                '"%s" hung %.3fs, closing without a response', self.requestline, reply.hang_seconds
            )
            self.server.app.pause(reply.hang_seconds)
            self.close_connection = True
            return
        if reply.action == RESET:
            self.log_message('"%s" connection reset without a response', self.requestline)
            self.close_connection = True
            # SO_LINGER 0 makes close() send RST; rfile holds a reference that would
            # otherwise keep the socket open until the handler finishes.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()
            return
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")


# --------------------------------------------------------------------------- the server


class SandboxServer:
    """A running Fourvenues sandbox on ``host:port`` (port 0 picks a free one).

    The socket is bound on construction, so :attr:`base_url` is known at once; call
    :meth:`start` to serve from a daemon thread (tests) or :meth:`serve_forever` to serve from the
    calling thread (the management command), and :meth:`stop` when done. Also a context manager.

    Options:

    - ``seed``, ``today``: the catalogue (:func:`.catalogue.build_catalogue`); ``today`` defaults
      to the current date in Europe/Madrid.
    - ``api_key``; ``integration_id`` + ``secret``: the accepted credentials (``None`` turns a
      scheme off). ``scopes``: if given, the endpoints the credentials may use, named like
      ``"POST /tickets/"`` or ``"GET /tickets/{ticketId}"``; other endpoints answer 403.
    - ``allowed_sale_types``: accepted ``sale_type`` values on create.
    - ``strict_quantity``: ``quantity`` must equal ``len(tickets)`` (else it is ignored).
    - ``strict_rates``: an unknown ``ticket_rate_id`` answers 404 (else the ticket is created
      with empty rate and event fields, as the real API, which checks nothing, might).
    - ``strict_references``: an unknown ``channel_id`` or ``referral_id`` answers 400 (else it
      is stored as given, as the real API documents).
    - ``state_file``: JSON file the tickets survive restarts in.
    - ``faults``: faults active from the start (:class:`.faults.FaultSpec` or dicts).
    - ``log``: called with one line per request (the management command prints them).
    """

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = 0,
        *,
        seed: int = DEFAULT_SEED,
        api_key: str | None = DEFAULT_API_KEY,
        integration_id: str | None = DEFAULT_INTEGRATION_ID,
        secret: str | None = DEFAULT_SECRET,
        allowed_sale_types: Iterable[str] = DEFAULT_SALE_TYPES,
        strict_quantity: bool = True,
        strict_rates: bool = True,
        strict_references: bool = True,
        state_file: str | Path | None = None,
        today: date | None = None,
        faults: Iterable[FaultSpec | Mapping[str, Any]] = (),
        scopes: Iterable[str] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.app = SandboxApp(
            catalogue=build_catalogue(seed, today),
            store=TicketStore(state_file),
            faults=FaultPlan(faults),
            api_key=api_key,
            integration_id=integration_id,
            secret=secret,
            allowed_sale_types=allowed_sale_types,
            strict_quantity=strict_quantity,
            strict_rates=strict_rates,
            strict_references=strict_references,
            scopes=scopes,
        )
        self._httpd = _HTTPServer((host, port), self.app)
        self._httpd.log = log
        self.app.root_url = self.url
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()
        self._loop_running = False
        self._stopped = False

    # ----------------------------------------------------------------------- addresses

    @property
    def host(self) -> str:
        return str(self._httpd.server_address[0])

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """``http://host:port`` (no path)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL, ``http://host:port/integrations``, for the client's settings."""
        return f"{self.url}{API_PREFIX}"

    @property
    def control_url(self) -> str:
        """The control API, ``http://host:port/_sandbox``."""
        return f"{self.url}{CONTROL_PREFIX}"

    def api_headers(self, scheme: str = "key") -> dict[str, str]:
        """Valid auth headers: ``"key"`` (``X-Api-Key``) or ``"v1"`` (``integration_id`` +
        ``secret``)."""
        if scheme == "key":
            return {"X-Api-Key": self.app.api_key or ""}
        if scheme == "v1":
            return {
                "integration_id": self.app.integration_id or "",
                "secret": self.app.secret or "",
            }
        raise ValueError(f"unknown auth scheme {scheme!r}")

    # ----------------------------------------------------------------------- state

    @property
    def catalogue(self) -> Catalogue:
        """The seeded catalogue being served."""
        return self.app.catalogue

    @property
    def store(self) -> TicketStore:
        return self.app.store

    @property
    def request_log(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every ``/integrations`` request received (path without query),
        e.g. ``("POST", "/integrations/tickets/")``, including rejected ones."""
        return self.app.request_log

    def tickets(self) -> list[dict[str, Any]]:
        """Copies of every stored ticket (full form), in creation order."""
        return self.app.store.all()

    def wait_for_tickets(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` tickets are stored and return them; ``TimeoutError`` otherwise."""
        if not self.app.store.wait_for(count, timeout):
            raise TimeoutError(f"fewer than {count} tickets stored after {timeout}s")
        return self.tickets()

    def reset(self) -> None:
        """Forget every ticket, fault and logged request (as ``POST /_sandbox/reset``)."""
        self.app.reset()

    # ----------------------------------------------------------------------- faults

    def inject(
        self,
        kind: str,
        *,
        times: int | None = 1,
        match_method: str | None = None,
        match_path: str | None = None,
        after: int = 0,
        **params: Any,
    ) -> dict[str, Any]:
        """Activate a fault (see :mod:`.faults`); returns it as the control endpoint shows it."""
        spec = FaultSpec(
            kind=kind,
            params=params,
            match_method=match_method,
            match_path=match_path,
            times=0 if times is None else times,
            after=after,
        )
        return self.app.faults.add(spec)

    def active_faults(self) -> list[dict[str, Any]]:
        return self.app.faults.active()

    def clear_faults(self) -> None:
        self.app.faults.clear()

    # ----------------------------------------------------------------------- lifecycle

    def start(self) -> Self:
        """Serve from a daemon thread; returns ``self``."""
        with self._lifecycle:
            if self._stopped:
                raise RuntimeError("a stopped sandbox cannot be restarted; create a new one")
            if self._thread is None:
                self._loop_running = True
                # A short poll keeps stop() fast: tests start and stop a server each.
                self._thread = threading.Thread(
                    target=self._serve,
                    args=(0.01,),
                    name=f"fourvenues-sandbox:{self.port}",
                    daemon=True,
                )
                self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve from the calling thread until :meth:`stop` (from another thread) or Ctrl-C."""
        with self._lifecycle:
            if self._stopped or self._thread is not None:
                raise RuntimeError("the sandbox is already serving or stopped")
            self._loop_running = True
        self._serve(0.2)

    def _serve(self, poll_interval: float) -> None:
        try:
            self._httpd.serve_forever(poll_interval=poll_interval)
        finally:
            self._loop_running = False

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, release hanging and idle connections, close the socket. Idempotent."""
        with self._lifecycle:
            if self._stopped:
                return
            self._stopped = True
        self.app.stopping.set()
        if self._loop_running:
            self._httpd.shutdown()
        handlers = self._httpd.release_connections()
        self._httpd.server_close()
        for thread in handlers:
            if thread is not threading.current_thread():
                thread.join(timeout)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SandboxServer {self.base_url} seed={self.catalogue.seed}>"
