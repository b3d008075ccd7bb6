"""HTTP for the Fourvenues Integrations API: session, auth, timeouts, retries, typed errors.

This is the only module in the project that imports `requests`. It knows nothing of Django:
a service elsewhere builds the client from a stored credential and settings. `HttpClient` here
speaks HTTP; `FourvenuesClient` (endpoints.py) builds on it with one typed method per endpoint.

The rules it enforces (design.md, "The one rule that shapes everything"):

* GETs are safe to repeat, so they are retried on connection errors, timeouts, 429 and 5xx,
  with exponential backoff and jitter, honouring `Retry-After`.
* A create (and a refund) is sent exactly once. The retry loop is written out here rather than
  delegated to urllib3's `Retry`, and the transport adapter has every urllib3 retry switched
  off, so nothing below this module can repeat a POST either. A failure is classified by
  whether the request may have reached the server: if it may have, `OutcomeUnknown` is raised
  and the resolver decides; if it provably never left, `Unavailable` is raised and the line
  is safe to send again.
* Success is a 2xx status AND a JSON object body AND `success` not false. A create (or a
  refund) answered 2xx with a JSON object saying `success: false` is a refusal (`Refused`), as
  Fourvenues' real clients have seen; any other unreadable 2xx leaves its outcome unknown.
* Every HTTP attempt waits for the per-key rate limiter and is reported to `on_call` as a
  redacted `CallRecord` (calls.py). Auth headers are never recorded or logged, and the key and
  secret are scrubbed from any text that could reach a message, a record or a log line.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Literal, NoReturn, Self

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ClosedPoolError, ConnectTimeoutError, MaxRetryError
from urllib3.util.retry import Retry

from tickets.fourvenues.auth import Auth, credential_unusable_message, header_value_problem
from tickets.fourvenues.calls import NO_JSON, CallRecord, Scrubber
from tickets.fourvenues.errors import (
    AuthenticationFailed,
    CredentialUnusable,
    InvalidResponse,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Refused,
    Rejected,
    Unavailable,
)
from tickets.fourvenues.throttle import Limiter, limiter_for

logger = logging.getLogger(__name__)

try:
    __version__ = metadata.version("comps-backoffice")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "dev"

USER_AGENT = f"comps-backoffice/{__version__}"


@dataclass(slots=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: Any  # parsed JSON, or NO_JSON
    text: str = field(repr=False)


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


_LISTINGS = {
    "/channels/": "",
    "/events/": "",
    "/users/": "",
    "/tickets-rates/": ", or the event is not on this account",
    "/tickets/": ", or the event is not on this account",
}
"""The listings (GET), each with what else a 404 on it may mean."""


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


class HttpClient:
    """The HTTP half of the Fourvenues client; `FourvenuesClient` adds the endpoints."""

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
        rate_limiter: Limiter | None = None,
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
            self._limiter: Limiter | None = rate_limiter
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
        self._scrubber = Scrubber(auth.secrets)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, auth={self._auth!r})"

    def close(self) -> None:
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------
    # Reading
    # ---------------------------------------------------------------------------------------

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
        if reply.body is NO_JSON:
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
        except CredentialUnusable:
            raise  # raised before anything was sent: nothing can have been created
        except Exception as exc:
            # Whatever broke, it broke while the request was in flight: assume it may have
            # been processed rather than risk a duplicate.
            logger.exception("Unexpected failure during a Fourvenues %s", action)
            self._raise_unknown(path, _plain_reason(exc), action)

        status = reply.status
        if 200 <= status < 300:
            problem = self._envelope_problem(reply)
            if isinstance(reply.body, dict) and problem == "success: false":
                self._raise_refused(reply, path, documents, action)
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

    def _raise_refused(
        self,
        reply: _Reply,
        path: str,
        documents: tuple[str, ...],
        action: Literal["create", "refund"],
    ) -> NoReturn:
        # A readable answer saying no is a refusal, as real clients see Fourvenues send them
        # (issue 13 §4.6), not an unknown outcome: the issuer reads why, and may send again.
        # A refund answered so is taken at its word too; the withdrawal looks the ticket up
        # before saying it failed (services.withdrawals).
        api_message = self._api_message(reply.body, documents)
        why = f": {api_message}" if api_message else ", without saying why"
        what = "these tickets" if action == "create" else "the refund"
        outcome = "" if action == "create" else " Nothing was refunded."
        raise Refused(
            f"Fourvenues refused {what}{why}.{outcome}",
            status=reply.status,
            api_message=api_message,
            method="POST",
            path=path,
        )

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
            if method == "GET" and path in _LISTINGS:
                # A listing always exists: a 404 on one says the key is not what it seems
                # (real clients have seen it on every listing, not only /channels/).
                text = (
                    f"Fourvenues answered 404 for {path}: the key is probably for the other "
                    f"environment (alpha vs production), or {path} is not in the key's scope"
                    f"{_LISTINGS[path]}."
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
        """One HTTP exchange: throttle, send, read, record. Raises requests' exceptions, and
        `CredentialUnusable` before throttling or sending anything."""
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **self._auth_headers()}
        if self._limiter is not None:
            self._limiter.acquire()
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
                parsed = NO_JSON
            reply = _Reply(response.status_code, response.headers, parsed, response.text)
            if reply.status == 429 and self._limiter is not None:
                # Fourvenues says the key's budget is spent: slow every user of the key down.
                self._limiter.penalise()
            return reply
        except requests.RequestException as exc:
            error = self._describe(exc)
            raise
        finally:
            duration_ms = (self._clock() - started) * 1000
            self._report(method, path, params, body, reply, error, attempt, duration_ms, documents)

    def _auth_headers(self) -> dict[str, str]:
        """The credential's headers, checked before anything leaves this machine.

        Anything that keeps them from being sent becomes `CredentialUnusable` (never the
        exception itself: http.client's and requests' messages quote the header's value, and a
        POST failing that way would otherwise be taken as "may have been created").
        """
        try:
            headers = self._auth.headers()
        except CredentialUnusable:
            raise
        except Exception:
            logger.warning("The credential's headers could not be built (%r)", self._auth)
            problem = "Its values could not be put in a request"
        else:
            problems = [header_value_problem(value) for value in headers.values()]
            problem = next((f"One of its values {p}" for p in problems if p), "")
            if not problem:
                return headers
        raise CredentialUnusable(credential_unusable_message(problem))

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
                request_body=self._scrubber.request_body(body),
                response_body=(
                    self._scrubber.response_body(reply.body, reply.text, documents)
                    if reply is not None
                    else None
                ),
                error=error,
                attempt=attempt,
            )
            self._on_call(record)
        except Exception:
            # A failing recorder must never turn a created ticket into an error: the outcome
            # of the call matters more than its log entry.
            logger.exception("Recording a Fourvenues call failed")

    def _api_message(self, body: Any, documents: tuple[str, ...]) -> str | None:
        text = _api_text(body) if body is not NO_JSON else None
        if text is None:
            return None
        return self._scrubber.error_text(text, documents)

    def _describe(self, exc: BaseException) -> str:
        return self._scrubber.error_text(f"{type(exc).__name__}: {exc}")
