from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.fourvenues.errors import FourvenuesError
from tickets.selectors import credentials as credential_selectors
from tickets.services.credentials import verify_credential


class Command(BaseCommand):
    help = "Check that the active Fourvenues credential works (GET /channels/) and list channels."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--environment", choices=["alpha", "production"], default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        credential = credential_selectors.active_credential(environment=options["environment"])
        if credential is None:
            raise CommandError("No active Fourvenues credential. Register one first.")
        try:
            channels = verify_credential(credential=credential, actor=None)
        except FourvenuesError as exc:
            raise CommandError(f"{credential.name}: {exc}") from exc
        self.stdout.write(
            self.style.SUCCESS(f"{credential.name} works at {credential.base_url}; channels:")
        )
        for channel in channels:
            self.stdout.write(f"  {channel.name} ({channel.slug})")
