import datetime as dt

import pytest

from tickets.fourvenues.errors import AuthenticationFailed
from tickets.models import ApiCall, AuditEntry, AuthScheme, Credential, Environment
from tickets.services import credentials


def _register(sandbox, **overrides) -> Credential:
    fields = {
        "name": "Sandbox",
        "environment": Environment.ALPHA,
        "auth_scheme": AuthScheme.API_KEY,
        "api_key": sandbox.app.api_key,
        "base_url_override": sandbox.base_url,
        "actor": None,
    }
    return credentials.register_credential(**{**fields, **overrides})


@pytest.mark.django_db
def test_registering_a_credential_makes_it_the_only_active_one_of_its_environment(sandbox):
    first = _register(sandbox, name="First")
    second = _register(sandbox, name="Second")
    first.refresh_from_db()
    assert not first.is_active
    assert second.is_active
    assert AuditEntry.objects.filter(action="credential.created").count() == 2


@pytest.mark.django_db
def test_a_credential_needs_the_secret_of_its_scheme(sandbox):
    with pytest.raises(credentials.CredentialError):
        _register(sandbox, api_key="")
    with pytest.raises(credentials.CredentialError):
        _register(sandbox, auth_scheme=AuthScheme.LEGACY, integration_id="only-the-id")
    assert not Credential.objects.exists()


@pytest.mark.django_db
def test_verify_lists_channels_over_http_and_records_the_call_without_the_key(sandbox):
    credential = _register(sandbox)
    channels = credentials.verify_credential(credential=credential, actor=None)
    assert [c.id for c in channels] == [c["_id"] for c in sandbox.catalogue.channels]
    credential.refresh_from_db()
    assert credential.last_verified_at is not None
    call = ApiCall.objects.get()
    assert (call.method, call.status, call.credential) == ("GET", 200, credential)
    assert call.path.endswith("/channels/")
    assert sandbox.app.api_key not in str(ApiCall.objects.values().get())


@pytest.mark.django_db
def test_verify_with_the_v1_pair_works_too(sandbox):
    credential = _register(
        sandbox,
        auth_scheme=AuthScheme.LEGACY,
        api_key="",
        integration_id=sandbox.app.integration_id,
        secret=sandbox.app.secret,
    )
    assert credentials.verify_credential(credential=credential, actor=None)


@pytest.mark.django_db
def test_verify_with_a_wrong_key_raises_and_is_audited(sandbox):
    credential = _register(sandbox, api_key="ik_test_wrong_key_value")
    with pytest.raises(AuthenticationFailed):
        credentials.verify_credential(credential=credential, actor=None)
    credential.refresh_from_db()
    assert credential.last_verified_at is None
    entry = AuditEntry.objects.get(action="credential.verify_failed")
    assert entry.data["status"] == 401
    assert "ik_test_wrong_key_value" not in str(entry.data)


@pytest.mark.django_db
def test_the_last_use_is_written_at_most_once_a_minute(sandbox):
    credential = _register(sandbox)
    start = dt.datetime(2026, 12, 5, 22, 0, tzinfo=dt.UTC)
    credentials.mark_used(credential, at=start)
    credentials.mark_used(credential, at=start + dt.timedelta(seconds=59))
    stored = Credential.objects.get(pk=credential.pk)
    assert stored.last_used_at == start  # the second use fell within the same minute
    credentials.mark_used(stored, at=start + dt.timedelta(seconds=60))
    stored = Credential.objects.get(pk=credential.pk)
    assert stored.last_used_at == start + dt.timedelta(seconds=60)
    # An older use (another worker's clock) never replaces a newer one.
    credentials.mark_used(stored, at=start)
    assert Credential.objects.get(pk=credential.pk).last_used_at == start + dt.timedelta(seconds=60)
