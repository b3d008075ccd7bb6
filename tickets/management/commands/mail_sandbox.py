"""``manage.py mail_sandbox``: run the local mail server of the demo until Ctrl-C.

A thin wrapper over :class:`tickets.demo.mail_server.MailServer`, which keeps every message it
accepts in a Maildir (the training mailbox page lists them when ``COMPS_MAILBOX_DIR`` points at
it). :func:`start_mail_server` starts it and says where it listens; the command only waits.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tickets.demo.mail_server import MailServer

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 1025
DEFAULT_MAILDIR = ".mailbox"


def start_mail_server(
    *, host: str, port: int, maildir: Path, write: Callable[[str], Any]
) -> MailServer:
    """The mail server, listening (port 0: any free port), and one line saying where."""
    try:
        server = MailServer(maildir, host=host, port=port).start()
    except (OSError, RuntimeError) as exc:
        raise CommandError(f"Cannot start the mail server on {host}:{port}: {exc}") from exc
    write(
        f"Mail server listening on smtp://{server.host}:{server.port}, keeping messages in "
        f"{maildir} (Ctrl-C to stop)"
    )
    return server


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Run the local SMTP server of the demo: it keeps every message it receives."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=DEFAULT_HOST, help="interface (default %(default)s)")
        parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
        parser.add_argument(
            "--maildir", default=DEFAULT_MAILDIR, help="where messages are kept (%(default)s)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        server = start_mail_server(
            host=options["host"],
            port=options["port"],
            maildir=Path(options["maildir"]),
            write=self.stdout.write,
        )
        stopped = threading.Event()
        # supervisord stops its programs with SIGTERM: stop as cleanly as on Ctrl-C.
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
        try:
            stopped.wait()
        except KeyboardInterrupt:
            self.stdout.write("Stopping the mail server.")
        finally:
            server.stop()
            signal.signal(signal.SIGTERM, previous)
