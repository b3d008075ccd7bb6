"""HTTP client for the Fourvenues Integrations API.

This is the only module in the project that imports `requests`. It knows nothing of Django:
a service elsewhere builds it from a stored credential and settings.

The rules it enforces (design.md, "The one rule that shapes everything"):

* GETs are safe to repeat, so they are retried on connection errors, timeouts, 429 and 5xx,
  with exponential backoff and jitter, honouring `Retry-After`.
* A create (and a refund) is sent exactly once. The retry loop is written out here rather than
  delegated to urllib3's `Retry`, and the transport adapter has every urllib3 retry switched
  off, so nothing below this module can repeat a POST either. A failure is classified by
  whether the request may have reached the server: if it may have, `OutcomeUnknown` is raised
  and the resolver decides; if it provably never left, `Unavailable` is raised and the line
  is safe to send again.
* Success is a 2xx status AND a JSON object body AND `success` not false.
* Every HTTP attempt waits for the per-key rate limiter and is reported to `on_call` as a
  redacted `CallRecord`. Auth headers are never recorded or logged, and the key and secret are
  scrubbed from any text that could reach a message, a record or a log line.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib import metadata
from typing import Any, Literal, NoReturn
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ClosedPoolError, ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from tickets.fourvenues.errors import (
    AuthenticationFailed,
    FourvenuesError,
    InvalidResponse,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Rejected,
    Unavailable,
    truncate,
)
from tickets.fourvenues.schemas import (
    Channel,
    CreateTicketsRequest,
    Event,
    Promoter,
    Rate,
    SchemaError,
    Ticket,
    as_list,
    money_to_json,
    parse_money,
)
from tickets.fourvenues.throttle import RateLimiter, fingerprint, limiter_for
from tickets.redaction import SECRET_MASK, mask_document, redact

logger = logging.getLogger(__name__)

try:
    __version__ = metadata.version("comps-backoffice")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "dev"

USER_AGENT = f"comps-backoffice/{__version__}"
MAX_PAGE_SIZE = 500  # a larger limit is answered with 400 (fourvenues-api.md §2.5)
RECORD_BODY_MAX_CHARS = 20_000
ERROR_TEXT_MAX_CHARS = 300
_DOCUMENT_IN_TEXT = re.compile(r'("personal_document_number"\s*:\s*")([^"]*)(")')
_NO_JSON: Any = object()


# --------------------------------------------------------------------------------------------
# Authentication
# --------------------------------------------------------------------------------------------


def _check_header_value(value: str, name: str) -> None:
    # requests would reject a bad header itself, but its error message quotes the value.
    if not value or not value.strip():
        raise ValueError(f"The {name} is empty")
    if any(char in value for char in "\r\n\x00") or value != value.strip():
        raise ValueError(f"The {name} contains whitespace or control characters")


@dataclass(frozen=True, slots=True, repr=False)
class ApiKeyAuth:
    """Auth v2: the `X-Api-Key` header (the documented scheme)."""

    api_key: str

    def __post_init__(self) -> None:
        _check_header_value(self.api_key, "API key")

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.api_key)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.api_key,)

    def headers(self) -> dict[str, str]:
        return {"X-Api-Key": self.api_key}

    def __repr__(self) -> str:
        return f"ApiKeyAuth(fingerprint={self.fingerprint[:12]!r})"

    __str__ = __repr__


@dataclass(frozen=True, slots=True, repr=False)
class LegacyAuth:
    """Auth v1: the `integration_id` + `secret` header pair."""

    integration_id: str
    secret: str

    def __post_init__(self) -> None:
        _check_header_value(self.integration_id, "integration id")
        _check_header_value(self.secret, "secret")

    @property
    def fingerprint(self) -> str:
        return fingerprint(f"{self.integration_id}\x00{self.secret}")

    @property
    def secrets(self) -> tuple[str, ...]:
        # The integration id is not strictly secret, but it is half of a credential: keep it
        # out of records and messages too.
        return (self.secret, self.integration_id)

    def headers(self) -> dict[str, str]:
        return {"integration_id": self.integration_id, "secret": self.secret}

    def __repr__(self) -> str:
        return f"LegacyAuth(fingerprint={self.fingerprint[:12]!r})"

    __str__ = __repr__


Auth = ApiKeyAuth | LegacyAuth


# --------------------------------------------------------------------------------------------
# Call records
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP attempt, redacted, for the ApiCall table."""

    method: str
    path: str
    query: Mapping[str, Any]
    status: int | None
    duration_ms: float
    request_body: dict[str, Any] | None
    response_body: str | dict[str, Any] | None
    error: str | None
    attempt: int


def _head_for_record(body: Any) -> Any:
    """As much of a long `data` list as a call record can keep, with a wide margin.

    A record keeps the first RECORD_BODY_MAX_CHARS characters; redacting and dumping a whole
    500-ticket page to keep them would cost more than the call itself. A list cut where its
    items already fill twice that dumps to the same first characters, so the record is the same.
    """
    if not (isinstance(body, Mapping) and isinstance(body.get("data"), list)):
        return body
    size = 0
    for index, item in enumerate(body["data"]):
        if size > 2 * RECORD_BODY_MAX_CHARS:
            return {**body, "data": body["data"][:index]}
        size += len(json.dumps(item, ensure_ascii=False, default=str))
    return body


# --------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or _NO_JSON
    text: str = field(repr=False)


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


def _never_sent(exc: requests.RequestException) -> bool:
    """True only when the request provably did not leave this machine.

    Anything else (a reset after connecting, a read timeout, a TLS failure whose timing cannot
    be told apart) counts as "may have been sent".
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.InvalidHeader
        | requests.exceptions.InvalidJSONError
        | requests.exceptions.URLRequired,
    ):
        return True
    if isinstance(exc, requests.exceptions.SSLError | requests.exceptions.ProxyError):
        return False
    if not isinstance(exc, requests.ConnectionError):
        return False
    seen: set[int] = set()
    pending: list[Any] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        # urllib3's NewConnectionError (refused, DNS failure) subclasses ConnectTimeoutError:
        # both are raised while opening the socket, before a byte of the request is written.
        if isinstance(current, ConnectTimeoutError | ConnectionRefusedError | ClosedPoolError):
            return True
        if isinstance(current, MaxRetryError):
            pending.append(current.reason)
        if isinstance(current, BaseException):
            pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
            pending.append(current.__cause__)
            pending.append(current.__context__)
    return False


def _plain_reason(exc: BaseException) -> str:
    """What went wrong, in words fit for staff; the technical detail goes to the call record."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "connecting timed out"
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "no answer arrived in time"
    if isinstance(exc, requests.exceptions.SSLError):
        return "a secure-connection (TLS) error"
    if isinstance(
        exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError
    ):
        return "the answer was cut off"
    if isinstance(exc, requests.ConnectionError):
        if _never_sent(exc):
            return "the connection could not be opened"
        return "the connection was dropped"
    if isinstance(exc, requests.RequestException):
        return "the request could not be sent"
    return f"an unexpected error ({type(exc).__name__})"


def _is_false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _api_text(body: Any) -> str | None:
    """The API's error text: `error` or `message` (clients in the wild read both)."""
    if not isinstance(body, Mapping):
        return None
    for key in ("error", "message"):
        value = body.get(key)
        if value in (None, "", False):
            continue
        if isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False, default=str)
    return None


def _retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    # Only the delta-seconds form is honoured; an HTTP-date falls back to the normal backoff.
    raw = headers.get("Retry-After")
    if raw is None:
        return None
    try:
        seconds = float(raw.strip())
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


class FourvenuesClient:
    def __init__(
        self,
        *,
        base_url: str,
        auth: Auth,
        connect_timeout: float = 3.05,
        read_timeout: float = 20.0,
        get_retries: int = 3,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        max_retry_after_seconds: float = 30.0,
        rate_limit_per_second: float | None = 10.0,
        rate_limiter: RateLimiter | None = None,
        session: requests.Session | None = None,
        on_call: Callable[[CallRecord], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        if get_retries < 0:
            raise ValueError("get_retries cannot be negative")
        self._base_url = base_url.rstrip("/")
        self._auth = auth
        self._timeout = (connect_timeout, read_timeout)
        self._get_retries = get_retries
        self._backoff_seconds = backoff_seconds
        self._max_backoff_seconds = max_backoff_seconds
        self._max_retry_after_seconds = max_retry_after_seconds
        self._on_call = on_call
        self._sleep = sleep
        self._clock = clock
        self._jitter = jitter
        if rate_limiter is not None:
            self._limiter: RateLimiter | None = rate_limiter
        elif rate_limit_per_second is not None:
            self._limiter = limiter_for(
                auth.fingerprint, rate_limit_per_second, clock=clock, sleep=sleep
            )
        else:
            self._limiter = None
        self._owns_session = session is None
        self._session = session or requests.Session()
        # Mounted for this base URL even on a caller's session, so that no adapter configured
        # elsewhere can retry a POST underneath us.
        self._session.mount(
            self._base_url,
            HTTPAdapter(
                max_retries=Retry(
                    total=0,
                    read=False,
                    redirect=False,
                    raise_on_redirect=False,
                    raise_on_status=False,
                )
            ),
        )
        self._secrets = tuple(secret for secret in auth.secrets if len(secret) >= 4)

    def __repr__(self) -> str:
        return f"FourvenuesClient(base_url={self._base_url!r}, auth={self._auth!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> FourvenuesClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------
    # Endpoints
    # ---------------------------------------------------------------------------------------

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
    # Reading
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

    def _get_data(self, path: str, params: Mapping[str, Any]) -> Any:
        envelope = self._get(path, params)
        if "data" not in envelope or envelope["data"] is None:
            raise InvalidResponse(
                f"Fourvenues answered GET {path} without any data.", method="GET", path=path
            )
        return envelope["data"]

    def _get(self, path: str, params: Mapping[str, Any]) -> dict[str, Any]:
        attempt = 0
        while True:
            attempt += 1
            retries_left = attempt <= self._get_retries
            try:
                reply = self._attempt("GET", path, params, None, attempt, ())
            except requests.RequestException as exc:
                transient = isinstance(
                    exc,
                    requests.ConnectionError
                    | requests.Timeout
                    | requests.exceptions.ChunkedEncodingError
                    | requests.exceptions.ContentDecodingError,
                )
                if transient and retries_left:
                    self._back_off(attempt, None)
                    continue
                raise Unavailable(
                    f"Could not reach Fourvenues for GET {path} after {attempt} attempt(s) "
                    f"({_plain_reason(exc)}). Try again in a few minutes.",
                    method="GET",
                    path=path,
                ) from exc

            status = reply.status
            if status == 429 or status >= 500:
                retry_after = _retry_after_seconds(reply.headers)
                if retries_left:
                    self._back_off(attempt, retry_after)
                    continue
                self._raise_gave_up(reply, path, attempt, retry_after)
            if 200 <= status < 300:
                return self._envelope_or_raise(reply, path)
            if 300 <= status < 400:
                raise InvalidResponse(
                    f"Fourvenues redirected GET {path} (HTTP {status}); check the base URL.",
                    status=status,
                    method="GET",
                    path=path,
                )
            self._raise_client_error(reply, "GET", path, action=None)

    def _envelope_or_raise(self, reply: _Reply, path: str) -> dict[str, Any]:
        problem = self._envelope_problem(reply)
        if problem is not None:
            raise InvalidResponse(
                f"Fourvenues answered GET {path} with {problem}.",
                status=reply.status,
                api_message=self._api_message(reply.body, ()),
                method="GET",
                path=path,
            )
        return reply.body

    @staticmethod
    def _envelope_problem(reply: _Reply) -> str | None:
        if reply.body is _NO_JSON:
            return "a body that is not JSON"
        if not isinstance(reply.body, dict):
            return "a body that is not a JSON object"
        if _is_false(reply.body.get("success")):
            return "success: false"
        return None

    def _raise_gave_up(
        self, reply: _Reply, path: str, attempts: int, retry_after: float | None
    ) -> NoReturn:
        api_message = self._api_message(reply.body, ())
        if reply.status == 429:
            raise RateLimited(
                f"Fourvenues is rate-limiting this API key (HTTP 429) and still refused GET "
                f"{path} after {attempts} attempt(s). Try again in a minute.",
                status=429,
                api_message=api_message,
                method="GET",
                path=path,
                retry_after=retry_after,
            )
        raise Unavailable(
            f"Fourvenues failed GET {path} with HTTP {reply.status} after {attempts} "
            "attempt(s). Try again in a few minutes.",
            status=reply.status,
            api_message=api_message,
            method="GET",
            path=path,
            retry_after=retry_after,
        )

    def _back_off(self, attempt: int, retry_after: float | None) -> None:
        if retry_after is not None:
            delay = min(retry_after, self._max_retry_after_seconds)
        else:
            # Exponential (0.5, 1.5, 4.5 s with the defaults) with "equal jitter": at least
            # half the step, so retries from many workers spread out without retrying at once.
            step = min(self._backoff_seconds * 3 ** (attempt - 1), self._max_backoff_seconds)
            delay = step / 2 + step / 2 * min(max(self._jitter(), 0.0), 1.0)
        logger.info("Fourvenues retry %d in %.2f s", attempt, delay)
        self._sleep(delay)

    # ---------------------------------------------------------------------------------------
    # Writing
    # ---------------------------------------------------------------------------------------

    def _send_once(
        self,
        path: str,
        body: dict[str, Any],
        *,
        action: Literal["create", "refund"],
        documents: tuple[str, ...],
    ) -> dict[str, Any]:
        try:
            reply = self._attempt("POST", path, {}, body, 1, documents)
        except requests.RequestException as exc:
            if _never_sent(exc):
                what = "nothing was created" if action == "create" else "nothing was refunded"
                raise Unavailable(
                    f"Could not connect to Fourvenues ({_plain_reason(exc)}). The request was "
                    f"never sent, so {what}; it is safe to try again.",
                    method="POST",
                    path=path,
                ) from exc
            self._raise_unknown(path, _plain_reason(exc), action)
        except Exception as exc:
            # Whatever broke, it broke while the request was in flight: assume it may have
            # been processed rather than risk a duplicate.
            logger.exception("Unexpected failure during a Fourvenues %s", action)
            self._raise_unknown(path, _plain_reason(exc), action)

        status = reply.status
        if 200 <= status < 300:
            problem = self._envelope_problem(reply)
            if problem is not None:
                self._raise_unknown(
                    path,
                    f"Fourvenues answered HTTP {status} with {problem}",
                    action,
                    status=status,
                    api_message=self._api_message(reply.body, documents),
                )
            return reply.body
        if status >= 500 or 300 <= status < 400:
            self._raise_unknown(
                path,
                f"Fourvenues answered HTTP {status}",
                action,
                status=status,
                api_message=self._api_message(reply.body, documents),
            )
        if status == 429:
            # Throttling is applied before the request is processed, so a 429 means the
            # request was refused as a whole: nothing was created and a later retry is safe.
            raise RateLimited(
                f"Fourvenues rate-limited the {action} request (HTTP 429). It was refused "
                "before being processed, so nothing was changed; try again in a minute.",
                status=429,
                api_message=self._api_message(reply.body, documents),
                method="POST",
                path=path,
                retry_after=_retry_after_seconds(reply.headers),
            )
        self._raise_client_error(reply, "POST", path, action=action, documents=documents)

    def _raise_unknown(
        self,
        path: str,
        reason: str,
        action: Literal["create", "refund"],
        *,
        status: int | None = None,
        api_message: str | None = None,
    ) -> NoReturn:
        if action == "create":
            text = (
                f"The tickets may or may not have been created: {reason}. Do not send them "
                "again; they will be checked against Fourvenues and settled."
            )
        else:
            text = (
                f"The refund may or may not have been applied: {reason}. Do not send it again "
                "before checking the ticket on Fourvenues."
            )
        raise OutcomeUnknown(text, status=status, api_message=api_message, method="POST", path=path)

    # ---------------------------------------------------------------------------------------
    # Shared
    # ---------------------------------------------------------------------------------------

    def _raise_client_error(
        self,
        reply: _Reply,
        method: str,
        path: str,
        *,
        action: Literal["create", "refund"] | None,
        documents: tuple[str, ...] = (),
    ) -> NoReturn:
        status = reply.status
        api_message = self._api_message(reply.body, documents)
        context = {"status": status, "api_message": api_message, "method": method, "path": path}
        if status == 401:
            raise AuthenticationFailed(
                "Fourvenues rejected the API credentials (HTTP 401). The key may be wrong, "
                "expired or revoked, or issued for the other environment (alpha vs "
                "production).",
                **context,
            )
        if status == 403:
            raise PermissionDenied(
                f"Fourvenues refused {method} {path} (HTTP 403): this endpoint is not in the "
                "API key's scope. Ask Fourvenues (integrations@fourvenues.com) to add it.",
                **context,
            )
        if status == 404:
            if path == "/channels/":
                text = (
                    "Fourvenues answered 404 for /channels/: the key is probably for the "
                    "other environment (alpha vs production), or /channels/ is not in the "
                    "key's scope."
                )
            else:
                text = f"Fourvenues found nothing at {method} {path} (HTTP 404)."
            raise NotFound(text, **context)
        detail = f": {api_message}" if api_message else ""
        if action == "create":
            outcome = " Nothing was created."
        elif action == "refund":
            outcome = " Nothing was refunded."
        else:
            outcome = ""
        raise Rejected(
            f"Fourvenues refused {method} {path} (HTTP {status}){detail}.{outcome}", **context
        )

    def _attempt(
        self,
        method: Literal["GET", "POST"],
        path: str,
        params: Mapping[str, Any],
        body: dict[str, Any] | None,
        attempt: int,
        documents: tuple[str, ...],
    ) -> _Reply:
        """One HTTP exchange: throttle, send, read, record. Raises requests' exceptions."""
        if self._limiter is not None:
            self._limiter.acquire()
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self._auth.headers()}
        started = self._clock()
        reply: _Reply | None = None
        error: str | None = None
        try:
            response = self._session.request(
                method,
                self._base_url + path,
                params=dict(params) or None,
                json=body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,
            )
            try:
                parsed: Any = response.json()
            except ValueError:
                parsed = _NO_JSON
            reply = _Reply(response.status_code, response.headers, parsed, response.text)
            return reply
        except requests.RequestException as exc:
            error = self._describe(exc)
            raise
        finally:
            duration_ms = (self._clock() - started) * 1000
            self._report(method, path, params, body, reply, error, attempt, duration_ms, documents)

    def _report(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        body: dict[str, Any] | None,
        reply: _Reply | None,
        error: str | None,
        attempt: int,
        duration_ms: float,
        documents: tuple[str, ...],
    ) -> None:
        status = reply.status if reply is not None else None
        if error is None and reply is None:
            error = "interrupted"
        log = logger.warning if status is None or status >= 400 else logger.info
        log(
            "Fourvenues %s %s -> %s in %.0f ms (attempt %d)%s",
            method,
            path,
            status if status is not None else "no response",
            duration_ms,
            attempt,
            f": {error}" if error else "",
        )
        if self._on_call is None:
            return
        try:
            record = CallRecord(
                method=method,
                path=path,
                query=dict(params),
                status=status,
                duration_ms=duration_ms,
                request_body=redact(body) if body is not None else None,
                response_body=self._record_body(reply, documents),
                error=error,
                attempt=attempt,
            )
            self._on_call(record)
        except Exception:
            # A failing recorder must never turn a created ticket into an error: the outcome
            # of the call matters more than its log entry.
            logger.exception("Recording a Fourvenues call failed")

    def _record_body(self, reply: _Reply | None, documents: tuple[str, ...]) -> Any:
        if reply is None:
            return None
        if reply.body is _NO_JSON:
            text = _DOCUMENT_IN_TEXT.sub(
                lambda match: match.group(1) + mask_document(match.group(2)) + match.group(3),
                reply.text,
            )
            return truncate(self._scrub(text, documents), RECORD_BODY_MAX_CHARS)
        redacted = redact(_head_for_record(reply.body))
        dumped = self._scrub(json.dumps(redacted, ensure_ascii=False, default=str), documents)
        if isinstance(redacted, dict) and len(dumped) <= RECORD_BODY_MAX_CHARS:
            scrubbed = json.loads(dumped)
            return scrubbed if isinstance(scrubbed, dict) else dumped
        return truncate(dumped, RECORD_BODY_MAX_CHARS)

    def _api_message(self, body: Any, documents: tuple[str, ...]) -> str | None:
        text = _api_text(body) if body is not _NO_JSON else None
        if text is None:
            return None
        return truncate(self._scrub(text, documents), ERROR_TEXT_MAX_CHARS)

    def _describe(self, exc: BaseException) -> str:
        return truncate(self._scrub(f"{type(exc).__name__}: {exc}", ()), ERROR_TEXT_MAX_CHARS)

    def _scrub(self, text: str, documents: tuple[str, ...]) -> str:
        for secret in self._secrets:
            text = text.replace(secret, SECRET_MASK)
        for document in documents:
            if len(document) > 3:
                text = text.replace(document, mask_document(document))
        return text


__all__ = [
    "ApiKeyAuth",
    "Auth",
    "CallRecord",
    "FourvenuesClient",
    "FourvenuesError",
    "LegacyAuth",
]
