import pytest
from cryptography.fernet import Fernet
from django.db import connection

from tickets.fields import DecryptionError
from tickets.models import AuthScheme, Credential, Environment


def _raw_column(credential: Credential, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM tickets_credential WHERE id = %s", [credential.pk])
        return cursor.fetchone()[0]


def _credential(**kwargs) -> Credential:
    return Credential.objects.create(
        name=kwargs.pop("name", "Test"),
        environment=Environment.ALPHA,
        auth_scheme=AuthScheme.API_KEY,
        api_key=kwargs.pop("api_key", "ik_live_known_secret_value"),
        **kwargs,
    )


@pytest.mark.django_db
def test_secrets_are_stored_encrypted_and_read_back_in_plain():
    credential = _credential()
    raw = _raw_column(credential, "api_key")
    assert "ik_live_known_secret_value" not in raw
    assert Credential.objects.get(pk=credential.pk).api_key == "ik_live_known_secret_value"


@pytest.mark.django_db
def test_a_wrong_key_fails_loudly_instead_of_returning_ciphertext(settings):
    credential = _credential()
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(DecryptionError):
        Credential.objects.get(pk=credential.pk)


@pytest.mark.django_db
def test_resaving_with_a_new_first_key_rotates_and_old_key_can_go(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    credential = _credential()
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    Credential.objects.get(pk=credential.pk).save()
    settings.FIELD_ENCRYPTION_KEYS = [new_key]
    assert Credential.objects.get(pk=credential.pk).api_key == "ik_live_known_secret_value"


@pytest.mark.django_db
def test_history_rows_keep_secrets_encrypted():
    credential = _credential()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT api_key FROM tickets_historicalcredential WHERE id = %s", [credential.pk]
        )
        (raw,) = cursor.fetchone()
    assert "ik_live_known_secret_value" not in raw
