"""The sandbox's control API under ``/_sandbox``: faults, stored tickets, reset, a description.

For tests and for staff training. It needs no authentication (the server binds to 127.0.0.1 by
default). Tickets planted here stand for changes made on Fourvenues itself, behind Comps' back
(:meth:`.store.TicketStore.load`, ``update``, ``delete``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .faults import FAULT_DESCRIPTIONS, FAULT_PARAM_DEFAULTS, FaultError, FaultSpec
from .replies import HttpRequest, Reply, error_reply, json_reply, ok_reply
from .routes import API_PREFIX, CONTROL_PREFIX, ROUTES
from .validation import ApiError

if TYPE_CHECKING:
    from .app import SandboxApp


class ControlApi:
    """The ``/_sandbox`` endpoints of one :class:`.app.SandboxApp`.

    It reads the app's catalogue, store and faults at each request rather than keeping them:
    tests swap ``app.catalogue`` for an edited one.
    """

    def __init__(self, app: SandboxApp) -> None:
        self.app = app

    def dispatch(self, request: HttpRequest, relative: str) -> Reply:
        """Answer a request for ``relative``, the path below ``/_sandbox``."""
        app = self.app
        path = "/" + relative.strip("/")
        method = request.method
        routes: dict[str, dict[str, Callable[[], Reply]]] = {
            "/": {"GET": self.index_reply},
            "/health": {"GET": self._health},
            "/catalogue": {"GET": lambda: ok_reply(app.catalogue.as_dict())},
            "/tickets": {
                "GET": lambda: ok_reply(app.store.all()),
                "POST": lambda: self._load_tickets(request),
            },
            "/refunds": {"GET": lambda: ok_reply(app.store.refund_counts())},
            "/reset": {"POST": self._reset},
            "/traffic": {
                "GET": lambda: ok_reply(app.traffic.summary()),
                "DELETE": lambda: self._clear_traffic(),
            },
            "/faults": {
                "GET": lambda: ok_reply(app.faults.active()),
                "POST": lambda: self._add_fault(request),
                "DELETE": lambda: ok_reply({"cleared": app.faults.clear()}),
            },
        }
        if match := re.fullmatch(r"/tickets/([^/]+)", path):
            ticket_id = match.group(1)
            routes[path] = {
                "PATCH": lambda: self._update_ticket(request, ticket_id),
                "DELETE": lambda: self._delete_ticket(ticket_id),
            }
        if match := re.fullmatch(r"/events/([^/]+)", path):
            event_id = match.group(1)
            routes[path] = {"PATCH": lambda: self._publish_event(request, event_id)}
        if match := re.fullmatch(r"/faults/(\d+)", path):
            fault_id = int(match.group(1))
            routes[path] = {"DELETE": lambda: self._remove_fault(fault_id)}
        methods = routes.get(path)
        if methods is None:
            return error_reply(404, f"Not found: {CONTROL_PREFIX}{relative}")
        if method not in methods:
            allow = ", ".join(sorted(methods))
            return error_reply(405, f"Method {method} not allowed", [("Allow", allow)])
        return methods[method]()

    # ----------------------------------------------------------------------- endpoints

    def _health(self) -> Reply:
        app = self.app
        return ok_reply(
            {
                "status": "ok",
                "seed": app.catalogue.seed,
                "today": app.catalogue.today.isoformat(),
                "tickets": app.store.count(),
                "faults": len(app.faults.active()),
            }
        )

    def _clear_traffic(self) -> Reply:
        self.app.traffic.clear()
        return ok_reply({"cleared": True})

    def _reset(self) -> Reply:
        self.app.reset()
        return ok_reply({"tickets": 0, "faults": 0})

    def _add_fault(self, request: HttpRequest) -> Reply:
        try:
            payload = json.loads(request.body or b"null")
            fault = self.app.faults.add(FaultSpec.from_dict(payload))
        except ValueError as exc:  # FaultError, and JSONDecodeError for a bad body
            message = str(exc) if isinstance(exc, FaultError) else "Body must be a JSON object"
            return error_reply(400, message)
        return json_reply(201, {"success": True, "data": fault})

    def _load_tickets(self, request: HttpRequest) -> Reply:
        payload = _control_json(request)
        tickets = payload if isinstance(payload, list) else [payload]
        if not all(isinstance(ticket, dict) for ticket in tickets):
            return error_reply(400, "Body must be a ticket object or a list of them")
        try:
            return json_reply(201, {"success": True, "data": self.app.store.load(tickets)})
        except ApiError as exc:
            return error_reply(exc.status, exc.message)

    def _update_ticket(self, request: HttpRequest, ticket_id: str) -> Reply:
        changes = _control_json(request)
        if not isinstance(changes, dict):
            return error_reply(400, "Body must be a JSON object of the fields to change")
        try:
            return ok_reply(self.app.store.update(ticket_id, changes))
        except ApiError as exc:
            return error_reply(exc.status, exc.message)

    def _delete_ticket(self, ticket_id: str) -> Reply:
        try:
            self.app.store.delete(ticket_id)
        except ApiError as exc:
            return error_reply(exc.status, exc.message)
        return ok_reply({"deleted": ticket_id})

    def _publish_event(self, request: HttpRequest, event_id: str) -> Reply:
        changes = _control_json(request)
        flags = ("active", "visible")
        if (
            not isinstance(changes, dict)
            or not changes
            or set(changes) - set(flags)
            or not all(isinstance(value, bool) for value in changes.values())
        ):
            return error_reply(
                400, 'Body must be a JSON object such as {"active": false} or {"visible": false}'
            )
        try:
            self.app.catalogue = self.app.catalogue.with_publication(event_id, **changes)
        except KeyError:
            return error_reply(404, f"Event {event_id!r} not found")
        return ok_reply(self.app.catalogue.event(event_id))

    def _remove_fault(self, fault_id: int) -> Reply:
        if not self.app.faults.remove(fault_id):
            return error_reply(404, f"No active fault {fault_id}")
        return ok_reply({"removed": fault_id})

    # ----------------------------------------------------------------------- the description

    def index(self) -> dict[str, Any]:
        """A description of the sandbox for people: URLs, credentials, endpoints, faults."""
        app = self.app
        base_url = f"{app.root_url}{API_PREFIX}"
        control = f"{app.root_url}{CONTROL_PREFIX}"
        return {
            "name": "Fourvenues Integrations API sandbox",
            "about": (
                "A stand-in for https://api.fourvenues.com/integrations with seeded test data. "
                "Nothing here reaches Fourvenues; tickets live in this process"
                + (" and its state file." if app.store.state_file else ".")
            ),
            "base_url": base_url,
            "control_url": control,
            "credentials": {
                "X-Api-Key": app.api_key,
                "integration_id": app.integration_id,
                "secret": app.secret,
                "note": "Send X-Api-Key, or both integration_id and secret, on every API call.",
            },
            "catalogue": {
                "seed": app.catalogue.seed,
                "today": app.catalogue.today.isoformat(),
                "channels": len(app.catalogue.channels),
                "users": len(app.catalogue.users),
                "events": len(app.catalogue.events),
            },
            "options": {
                "allowed_sale_types": sorted(app.allowed_sale_types),
                "strict_quantity": app.strict_quantity,
                "strict_rates": app.strict_rates,
                "strict_references": app.strict_references,
                "scopes": None if app.scopes is None else sorted(app.scopes),
                "state_file": str(app.store.state_file) if app.store.state_file else None,
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
                f"GET {control}/refunds": (
                    "per ticket id: how many refund requests reached it (applied, or refused "
                    "because it was already cancelled); a refund of 0 cancels a comp, and a "
                    "cancelled ticket refuses any further refund with 400"
                ),
                f"PATCH {control}/events/<id>": (
                    'make an event a draft, {"active": false}, or hide it, {"visible": false}, '
                    "as the dashboard would (true publishes it again; a reset keeps it)"
                ),
                f"POST {control}/reset": "forget tickets, faults and the request log",
                f"GET {control}/traffic": (
                    "per API key (by fingerprint): requests received and the most held by any "
                    "one-second window"
                ),
                f"DELETE {control}/traffic": "start counting again",
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


def _control_json(request: HttpRequest) -> Any:
    try:
        return json.loads(request.body or b"null")
    except ValueError:
        return None
