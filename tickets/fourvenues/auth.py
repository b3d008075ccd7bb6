"""The two ways a credential signs a Fourvenues request, as the headers that carry it.

An auth object only validates its values and produces headers; the client (client.py) adds
them to each request, so nothing here needs `requests`. Neither form ever shows its secret:
`repr()` and `str()` give a short fingerprint, and `secrets` tells the client what to scrub
from anything it writes down.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def fingerprint(secret: str) -> str:
    """A stable, non-reversible identifier for a credential, safe to log and to key on."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


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
