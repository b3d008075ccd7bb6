"""The local mail server of the demo and the tests: a real SMTP server (aiosmtpd) that keeps
every message it accepts in a Maildir, where the training mailbox page and the tests read them.

Faults on demand, for the tests of the delivery ledger: refuse for now (451), refuse for good
(550), or hold the answer to a message's data until released (a server that stalls).
"""

from __future__ import annotations

import mailbox
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Faults:
    """What the server does with the next messages (changed by tests while it runs)."""

    temporary_refusals: int = 0  # answer 451 to this many messages' data
    refuse_recipients: set[str] = field(default_factory=set)  # 550 at RCPT TO for these
    hold: threading.Event | None = None  # when set to an unset Event: wait on it before answering
    held: threading.Event = field(default_factory=threading.Event)  # set once a message is held


class _Keeper:
    def __init__(self, maildir: Path, faults: Faults) -> None:
        self.maildir = open_maildir(maildir)
        self.faults = faults
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list
    ) -> str:
        if address.lower() in self.faults.refuse_recipients:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self._lock:
            if self.faults.temporary_refusals > 0:
                self.faults.temporary_refusals -= 1
                return "451 4.3.0 Try again later"
        # Kept before answering, as a real server queues a message before its 250: a client
        # that dies now leaves a message delivered but never acknowledged.
        self.maildir.add(envelope.original_content or envelope.content)
        hold = self.faults.hold
        if hold is not None:
            self.faults.held.set()
            await server.loop.run_in_executor(None, hold.wait)
        return "250 2.0.0 Kept"


class MailServer:
    """`MailServer(maildir).start()` listens on 127.0.0.1 (a free port unless given)."""

    def __init__(self, maildir: Path, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.maildir_path = Path(maildir)
        self.faults = Faults()
        self._controller = Controller(
            _Keeper(self.maildir_path, self.faults), hostname=host, port=port or _free_port(host)
        )

    @property
    def host(self) -> str:
        return str(self._controller.hostname)

    @property
    def port(self) -> int:
        return int(self._controller.port)

    def start(self) -> MailServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening (again: nothing)."""
        if self.faults.hold is not None:
            self.faults.hold.set()
        if self._controller.server is not None:
            self._controller.stop()

    def messages(self) -> list[EmailMessage]:
        """Every message kept, oldest first."""
        return read_maildir(self.maildir_path)

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def read_maildir(path: Path) -> list[EmailMessage]:
    """The messages of a Maildir, oldest first, parsed with the modern e-mail API."""
    box = open_maildir(path)
    entries = sorted(box.iteritems(), key=lambda item: (item[1].get_date(), item[0]))
    return [_parse(box.get_bytes(key)) for key, _ in entries]


def open_maildir(path: Path) -> mailbox.Maildir:
    """The Maildir at `path`, made when missing (even inside an existing empty directory)."""
    for sub in ("tmp", "new", "cur"):
        (Path(path) / sub).mkdir(parents=True, exist_ok=True)
    return mailbox.Maildir(path, create=False)


def _parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _free_port(host: str) -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
