"""Typed failures of the Fourvenues client.

Every exception carries a staff-facing `message`: plain language, safe to show in the backoffice
and to store in the audit log. It never contains the API key or secret, a full personal document
number, or a raw response body (which may hold holders' personal data). The API's own error text,
when there is one, is kept separately in `api_message`, truncated.

`may_have_been_created` is the one attribute the issuing flow must look at: when it is True the
request may have reached Fourvenues and taken effect, so the line must go to the resolver and
must never be sent again blindly (design.md, "The one rule that shapes everything").
"""

from __future__ import annotations

from typing import Any, ClassVar

API_MESSAGE_MAX_CHARS = 300


def truncate(text: str, limit: int = API_MESSAGE_MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


class FourvenuesError(Exception):
    """Base class: anything that went wrong talking to Fourvenues."""

    may_have_been_created: ClassVar[bool] = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        api_message: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.api_message = truncate(api_message) if api_message else None
        self.method = method
        self.path = path
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only attributes would be lost by Exception's default pickling (task results,
        # multiprocessing); rebuild them explicitly.
        return (
            _rebuild,
            (
                type(self),
                self.message,
                {
                    "status": self.status,
                    "api_message": self.api_message,
                    "method": self.method,
                    "path": self.path,
                    "retry_after": self.retry_after,
                },
            ),
        )


def _rebuild(cls: type[FourvenuesError], message: str, kwargs: dict[str, Any]) -> FourvenuesError:
    return cls(message, **kwargs)


class AuthenticationFailed(FourvenuesError):
    """401: the key is wrong, expired, revoked or belongs to the other environment."""


class PermissionDenied(FourvenuesError):
    """403: the key is valid but the endpoint is not in its scope."""


class NotFound(FourvenuesError):
    """404: unknown resource, or (on /channels/) a key for the other environment."""


class Rejected(FourvenuesError):
    """400, 422 or another 4xx: Fourvenues refused the request; nothing was created."""


class Refused(Rejected):
    """A create answered 2xx with `success: false`: Fourvenues says no, in a 200 (issue 13 §4.6).

    Its text is in `api_message`. Taken at its word (the line fails, `FailureCause.REFUSED`,
    retryable); should Fourvenues have created the ticket all the same, the line's QR code finds
    it: a retry is refused as "already in use" and the line is looked up (resolver.py).
    A refund answered so is refused the same way (nothing was refunded).
    """


class RateLimited(FourvenuesError):
    """429: throttled.

    For a GET this is raised only after the retries are used up. For a create it is raised at
    once and means "refused, not created": throttling is done in front of the request handler,
    before the request is processed, so a 429 can be sent again later without risk of a
    duplicate.
    """


class Unavailable(FourvenuesError):
    """Fourvenues could not be reached.

    For a GET: connection errors, timeouts or 5xx after the retries are used up. For a create:
    only failures where the request provably never left this machine (connection refused,
    connect timeout, DNS failure), so nothing can have been created.
    """


class CredentialUnusable(Unavailable):
    """The stored credential cannot be put in a request (a line break or a typographic dash in
    the key, say): raised before anything is sent, so nothing can have been created.

    Unlike the rest of `Unavailable`, waiting does not help: sending stops and fails its lines
    as for a refused key (`FailureCause.CREDENTIAL`), to be retried once an admin fixes it.
    """


class InvalidResponse(FourvenuesError):
    """A GET answered 2xx with a body that is not a usable success envelope."""


class OutcomeUnknown(FourvenuesError):
    """A create (or refund) that may have reached Fourvenues and may have taken effect.

    Raised on a read timeout after sending, a connection reset after connecting, any 5xx, or a
    2xx whose body cannot be read. The caller must not send it again; the resolver looks the
    tickets up remotely and settles them.
    """

    may_have_been_created: ClassVar[bool] = True
