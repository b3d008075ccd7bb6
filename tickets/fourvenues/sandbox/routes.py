"""Where the sandbox serves what: the URL prefixes and the table of API endpoints.

Every endpoint the backoffice uses lives under :data:`API_PREFIX` (fourvenues-api.md §5, plus
refund and check-in); :func:`resolve` turns a method and path into the :class:`Route` that
answers it. Key scopes name endpoints the way :attr:`Route.scope` spells them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote

from .validation import ApiError

API_PREFIX = "/integrations"
CONTROL_PREFIX = "/_sandbox"

_PLACEHOLDER_RE = re.compile(r"\{[^}]*\}")


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


class MethodNotAllowed(ApiError):
    """The path names an endpoint, but not for this method; :attr:`allow` lists those that fit."""

    def __init__(self, methods: list[str]) -> None:
        super().__init__(405, f"Method not allowed (allowed: {', '.join(methods)})")
        self.allow = ", ".join(methods)


def resolve(method: str, relative: str) -> tuple[Route, dict[str, str]]:
    """The route for ``method`` on ``relative`` (a path below ``/integrations``) and its path
    parameters; :class:`MethodNotAllowed` or a 404 :class:`.validation.ApiError` otherwise."""
    segments = [unquote(s) for s in relative.strip("/").split("/")]
    candidates = [(r, p) for r in ROUTES if (p := r.match(segments)) is not None]
    for route, params in candidates:
        if route.method == method:
            return route, params
    if candidates:
        raise MethodNotAllowed(sorted({r.method for r, _ in candidates}))
    raise ApiError(404, f"Not found: {API_PREFIX}{relative}")


def scope_key(scope: str) -> str:
    """A scope in comparable form: placeholders and a trailing slash do not matter."""
    method, _, path = scope.strip().partition(" ")
    return f"{method.upper()} {_PLACEHOLDER_RE.sub('{}', path.strip()).rstrip('/')}"


_SCOPE_KEYS = {scope_key(route.scope) for route in ROUTES}


def parse_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The :func:`scope_key` of each scope; ``ValueError`` if one names no endpoint."""
    scopes = list(scopes)
    unknown = [scope for scope in scopes if scope_key(scope) not in _SCOPE_KEYS]
    if unknown:
        raise ValueError(f"unknown endpoint scope(s): {', '.join(unknown)}")
    return frozenset(map(scope_key, scopes))
