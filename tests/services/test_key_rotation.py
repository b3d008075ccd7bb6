"""Rotating FIELD_ENCRYPTION_KEYS: every stored secret stays readable under the new key alone,
and a key that opens nothing fails loudly instead of handing ciphertext on."""

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from tests import factories
from tickets.fields import DecryptionError
from tickets.models import AuthScheme, Credential, Environment, IssuanceLine
from tickets.services.credentials import register_credential, update_credential

OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _raw(table: str, column: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE {column} <> ''")
        return [row[0] for row in cursor.fetchall()]


@pytest.mark.django_db
def test_rotation_re_encrypts_every_secret_with_the_new_key(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    credential = register_credential(
        name="Key", environment=Environment.ALPHA, api_key="ik_test_rotate_me_1234", actor=None
    )
    update_credential(
        credential=credential,
        actor=None,
        auth_scheme=AuthScheme.LEGACY,
        new_secrets={"integration_id": "integration-77", "secret": "v1-secret-rotate-me"},
    )
    line = factories.IssuanceLineFactory(document_number="X1234567Z")

    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    new_only = Fernet(NEW.encode())
    stored = (
        _raw("tickets_credential", "integration_id")
        + _raw("tickets_credential", "secret")
        + _raw("tickets_historicalcredential", "api_key")
        + _raw("tickets_historicalcredential", "secret")
        + _raw("tickets_issuanceline", "document_number")
    )
    assert len(stored) >= 5
    for token in stored:
        new_only.decrypt(token.encode())  # raises if any value still needs the old key

    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    credential = Credential.objects.get()
    assert (credential.integration_id, credential.secret) == (
        "integration-77",
        "v1-secret-rotate-me",
    )
    assert IssuanceLine.objects.get(pk=line.pk).document_number == "X1234567Z"
    history = {h.api_key for h in credential.history.all()}
    assert "ik_test_rotate_me_1234" in history


@pytest.mark.django_db
def test_a_wrong_key_fails_loudly(settings):
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    register_credential(
        name="Key", environment=Environment.ALPHA, api_key="ik_test_secret_value", actor=None
    )
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    with pytest.raises(DecryptionError, match="cannot be decrypted"):
        Credential.objects.get()
    with pytest.raises(DecryptionError):
        call_command("rotate_encryption_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    assert Credential.objects.get().api_key == "ik_test_secret_value"
