"""The two ways a credential signs a Fourvenues request, as the headers that carry it.

An auth object only validates its values and produces headers; the client (client.py) adds
them to each request, so nothing here needs `requests`. Neither form ever shows its secret:
`repr()` and `str()` give a short fingerprint, and `secrets` tells the client what to scrub
from anything it writes down.
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

from tickets.fourvenues.errors import CredentialUnusable


def fingerprint(secret: str) -> str:
    """A stable, non-reversible identifier for a credential, safe to log and to key on."""
    # surrogatepass: a stored value that is not valid Unicode still gets a fingerprint (and the
    # same one as before for every value that is).
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# The characters that slip into a key copied from a document, a chat or a spreadsheet, named so
# the admin knows what to retype. Anything else outside plain ASCII is named by its code point.
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d"
_QUOTES = "\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u2032\u2033\u00b4"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"


def header_value_problem(value: str) -> str:
    """What keeps `value` from travelling as an HTTP header value, in words for staff ("" when
    nothing does). The message never quotes the value, only names the offending character.

    http.client refuses CR and LF and anything latin-1 cannot encode, and requests refuses
    leading whitespace; both quote the whole value in their error. This asks for more: visible
    ASCII (inner spaces allowed). Fourvenues' keys are ASCII, header bytes beyond ASCII are read
    differently by different servers (RFC 9110 §5.5), and the latin-1 characters that do get
    through (a no-break space, a soft hyphen) are pasting accidents that would only earn a 401.
    """
    if not value or not value.strip():
        return "is empty"
    if value != value.strip():
        return "starts or ends with a space or a line break"
    for char in value:
        code = ord(char)
        if 0x20 <= code < 0x7F:
            continue
        if char in "\r\n\u2028\u2029\x85":
            return "contains a line break"
        if char == "\t":
            return "contains a tab"
        if code < 0x20 or code == 0x7F or 0x80 <= code < 0xA0:
            return "contains an invisible control character"
        if char in _DASHES:
            return f"contains a typographic dash ({char}) where a plain hyphen (-) belongs"
        if char in _QUOTES:
            return f"contains a typographic quote or accent ({char}) where a plain one belongs"
        if char in _INVISIBLE:
            return "contains an invisible character (pasted along with it, usually)"
        if unicodedata.category(char) == "Zs":
            return "contains a special space (such as a no-break space) where a plain one belongs"
        # One character of a value that is wrong anyway: enough to find it, nothing to reuse.
        shown = f"{char} " if char.isprintable() and not 0xD800 <= code <= 0xDFFF else ""
        name = unicodedata.name(char, "")
        described = f"{shown}U+{code:04X} {name}".strip()
        return f"contains a character outside plain ASCII ({described})"
    return ""


def _check_header_value(value: str, name: str) -> None:
    # requests would reject a bad header itself, but its error message quotes the value.
    problem = header_value_problem(value)
    if problem:
        raise ValueError(f"The {name} {problem}")


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


def credential_unusable_message(problem: str) -> str:
    """What staff read when a stored credential cannot go in a request (`problem`: "The API key
    contains a line break"), wherever it was about to be used."""
    what = problem[:1].lower() + problem[1:]
    return (
        f"The credential cannot be used, so nothing was sent to Fourvenues: {what}. An admin "
        "must type it again on the credentials page; then try again."
    )


@dataclass(frozen=True, slots=True, repr=False)
class UnusableAuth:
    """Stands in for a stored credential whose values cannot go in a request (stored before
    they were checked, or broken since): every call raises `CredentialUnusable` before a byte is
    sent, so the caller fails what it was doing with a clear message instead of crashing.

    `problem` is the auth object's own ValueError ("The API key contains a line break"); it
    never quotes a secret. `secrets` are the stored values, kept only so the client scrubs them.
    """

    problem: str
    secrets: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        return fingerprint("\x00".join(self.secrets))

    @property
    def message(self) -> str:
        return credential_unusable_message(self.problem)

    def headers(self) -> dict[str, str]:
        raise CredentialUnusable(self.message)

    def __repr__(self) -> str:
        return f"UnusableAuth(fingerprint={self.fingerprint[:12]!r})"

    __str__ = __repr__


Auth = ApiKeyAuth | LegacyAuth | UnusableAuth
