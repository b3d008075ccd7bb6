"""The local mail server (tickets/demo/mail_server.py) over real SMTP: it keeps what it takes,
and its faults answer as a real server's would."""

import smtplib
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest

from tickets.demo.mail_server import MailServer


def _message(to: str, subject: str = "Hello") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "tickets@comps.localhost"
    message["To"] = to
    message["Subject"] = subject
    message.set_content("Your ticket is attached.")
    return message


@pytest.fixture
def server(tmp_path: Path) -> Iterator[MailServer]:
    with MailServer(tmp_path / "maildir") as running:
        yield running


def _client(server: MailServer) -> smtplib.SMTP:
    return smtplib.SMTP(server.host, server.port, timeout=5)


def test_a_message_sent_is_kept_in_the_maildir(server):
    with _client(server) as client:
        client.send_message(_message("ada@example.com", subject="Your ticket"))

    [kept] = server.messages()
    assert kept["To"] == "ada@example.com"
    assert kept["Subject"] == "Your ticket"
    assert "Your ticket is attached." in kept.get_content()


def test_a_refused_recipient_gets_550_and_nothing_is_kept(server):
    server.faults.refuse_recipients.add("nobody@example.com")
    with _client(server) as client, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        client.send_message(_message("nobody@example.com"))

    assert refused.value.recipients["nobody@example.com"][0] == 550
    assert server.messages() == []


def test_a_temporary_refusal_answers_451_then_the_next_try_is_taken(server):
    server.faults.temporary_refusals = 1
    with _client(server) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.send_message(_message("ada@example.com"))
        assert refused.value.smtp_code == 451
        assert server.messages() == []

        client.send_message(_message("ada@example.com"))
    assert len(server.messages()) == 1


def test_a_held_answer_waits_for_release_with_the_message_already_kept(server):
    release = threading.Event()
    server.faults.hold = release
    answered = threading.Event()
    errors: list[BaseException] = []

    def send() -> None:
        try:
            with _client(server) as client:
                client.send_message(_message("ada@example.com"))
            answered.set()
        except BaseException as exc:  # reported by the test below, not lost in the thread
            errors.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    assert server.faults.held.wait(timeout=5)
    # Stalled: the message is in the store, its sender still waits for the 250.
    assert len(server.messages()) == 1
    assert not answered.is_set()

    release.set()
    sender.join(timeout=5)
    assert errors == []
    assert answered.is_set()
    assert len(server.messages()) == 1
