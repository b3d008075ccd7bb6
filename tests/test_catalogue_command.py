import pytest
from django.core.management import CommandError, call_command

from tests.catalogue_support import register, start_sandbox
from tickets.models import Event


@pytest.fixture
def server(sandbox_factory, settings):
    return start_sandbox(sandbox_factory, settings)


@pytest.mark.django_db
def test_refresh_catalogue_prints_what_it_mirrored(server, capsys):
    register(server)
    call_command("refresh_catalogue", "--days", "7")
    out = capsys.readouterr().out
    assert f"Sandbox: Catalogue refreshed: {Event.objects.count()} events" in out
    assert f"{len(server.catalogue.channels)} channels" in out


@pytest.mark.django_db
def test_refresh_catalogue_uses_the_credential_of_the_environment_asked_for(server, capsys):
    register(server, name="Alpha")
    with pytest.raises(CommandError, match="No active Fourvenues credential"):
        call_command("refresh_catalogue", "--environment", "production", "--days", "7")
    call_command("refresh_catalogue", "--environment", "alpha", "--days", "7")
    assert "Alpha: Catalogue refreshed" in capsys.readouterr().out


@pytest.mark.django_db
def test_refresh_catalogue_fails_with_the_reason_and_keeps_nothing_half_done(server):
    register(server, api_key="ik_test_revoked_key_value")
    with pytest.raises(CommandError) as excinfo:
        call_command("refresh_catalogue", "--days", "7")
    message = str(excinfo.value)
    assert message.startswith("Sandbox: The catalogue could not be refreshed")
    assert "rejected the API credentials" in message
    assert "ik_test_revoked_key_value" not in message
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_refresh_catalogue_refuses_an_empty_window(server):
    register(server)
    with pytest.raises(CommandError, match="at least 1"):
        call_command("refresh_catalogue", "--days", "0")
