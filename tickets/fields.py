"""An encrypted text field for secrets at rest (Fourvenues API keys and secrets).

Why not a third-party package: the field must fail loudly when no configured key can decrypt a
value (a misconfigured deployment must never hand ciphertext to the API as if it were the key),
and it must support rotation. MultiFernet gives both in a few lines.
"""

from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models.expressions import Expression


class DecryptionError(ImproperlyConfigured):
    """A stored secret cannot be decrypted with any key in FIELD_ENCRYPTION_KEYS."""


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS holds a value that is not a Fernet key "
            "(32 url-safe base64-encoded bytes)."
        ) from exc


def fernet() -> MultiFernet:
    keys = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty.")
    return _fernet_for(keys)


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "A stored secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS. "
            "Was a key removed before every secret was rotated onto the new one?"
        ) from exc


class EncryptedTextField(models.TextField):
    """Stores a Fernet token; Python code only ever sees the plaintext.

    Empty strings are stored as empty strings (nothing to hide, and lets "not set" stay
    queryable). Lookups on the plaintext are impossible by design. Loading a row and saving it
    again re-encrypts it with the first key, which is how keys are rotated.
    """

    def from_db_value(
        self, value: str | None, expression: Expression, connection: BaseDatabaseWrapper
    ) -> str | None:
        if not value:
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> str | None:
        value = super().get_prep_value(value)
        if not value:
            return value
        return encrypt(value)
