"""`manage.py healthcheck web|worker|scheduler`: the containers' health checks (exit 0: healthy).

`web` asks the app's own `/healthz` over HTTP (the server answers, and reaches its database);
`worker` and `scheduler` ask the database whether one was seen working lately.
"""

from argparse import ArgumentParser
from typing import Any
from urllib.error import URLError
from urllib.request import Request, urlopen

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tickets.selectors import health


def _a_host_of_ours() -> str:
    """A name the app answers to (the container is reached as 127.0.0.1, which production's
    ALLOWED_HOSTS need not list). `/healthz` is exempt from the HTTPS redirect."""
    for host in settings.ALLOWED_HOSTS:
        if host != "*":
            return host.lstrip(".")
    return "localhost"


class Command(BaseCommand):
    help = "Exit 0 when the web app, a worker or the scheduler is healthy; 1 with why otherwise."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("process", choices=["web", *health.PROCESSES])
        parser.add_argument("--url", default="http://127.0.0.1:8000/healthz")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["process"] == "web":
            try:
                check = Request(options["url"], headers={"Host": _a_host_of_ours()})  # noqa: S310
                with urlopen(check, timeout=5) as answer:  # noqa: S310 (only ever our own URL)
                    status = answer.status
            except (URLError, OSError) as exc:
                raise CommandError(f"The web app does not answer: {exc}") from exc
            if status != 200:
                raise CommandError(f"The web app answers {status}.")
            self.stdout.write("web: ok")
            return
        age = health.seconds_since_seen()[options["process"]]
        if not health.is_alive(age):
            seen = "never" if age is None else f"{age:.0f} s ago"
            raise CommandError(f"No {options['process']} seen working lately (last: {seen}).")
        self.stdout.write(f"{options['process']}: seen {age:.0f} s ago")
