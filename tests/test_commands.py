import smtplib
from email.message import EmailMessage

import pytest
from django.core.management import CommandError, call_command

from tickets.management.commands.mail_sandbox import start_mail_server
from tickets.models import AuthScheme, Environment
from tickets.services import credentials


@pytest.mark.django_db
def test_seed_demo_prints_one_login_per_role(capsys):
    call_command("seed_demo", "--password", "pw", "--sandbox-port", "9999")
    out = capsys.readouterr().out
    for username in ("issuer", "manager", "admin"):
        assert f"{username}" in out
    assert "http://127.0.0.1:9999/integrations" in out


@pytest.mark.django_db
def test_fourvenues_check_lists_the_channels_the_key_sees(sandbox, capsys):
    credentials.register_credential(
        name="Sandbox",
        environment=Environment.ALPHA,
        auth_scheme=AuthScheme.API_KEY,
        api_key=sandbox.app.api_key,
        base_url_override=sandbox.base_url,
        actor=None,
    )
    call_command("fourvenues_check")
    out = capsys.readouterr().out
    for channel in sandbox.catalogue.channels:
        assert channel["name"] in out


@pytest.mark.django_db
def test_fourvenues_check_fails_clearly_without_a_credential():
    with pytest.raises(CommandError, match="No active Fourvenues credential"):
        call_command("fourvenues_check")


@pytest.mark.django_db
def test_fourvenues_check_reports_a_rejected_key_without_showing_it(sandbox):
    credentials.register_credential(
        name="Sandbox",
        environment=Environment.ALPHA,
        api_key="ik_test_wrong_key_value",
        base_url_override=sandbox.base_url,
        actor=None,
    )
    with pytest.raises(CommandError) as excinfo:
        call_command("fourvenues_check")
    assert "ik_test_wrong_key_value" not in str(excinfo.value)
    assert "Sandbox" in str(excinfo.value)


def test_mail_sandbox_starts_a_server_that_keeps_what_it_receives(tmp_path):
    """The command's start, without its wait: a real server on a free port, and one line
    saying where it listens."""
    said: list[str] = []
    server = start_mail_server(
        host="127.0.0.1", port=0, maildir=tmp_path / "mailbox", write=said.append
    )
    try:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = "a@b.c", "ada@example.com", "Hi"
        message.set_content("Hello")
        with smtplib.SMTP(server.host, server.port, timeout=5) as client:
            client.send_message(message)
        assert [kept["Subject"] for kept in server.messages()] == ["Hi"]
    finally:
        server.stop()
    assert said == [
        f"Mail server listening on smtp://127.0.0.1:{server.port}, keeping messages in "
        f"{tmp_path / 'mailbox'} (Ctrl-C to stop)"
    ]
