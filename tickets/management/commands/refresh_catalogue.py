from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.models import Environment
from tickets.selectors import credentials as credential_selectors
from tickets.services.catalogue import CatalogueRefreshError, refresh_catalogue


class Command(BaseCommand):
    help = (
        "Refresh the catalogue mirror (events with their rates and price options, channels, "
        "promoters) from Fourvenues with the active credential. A failure keeps the old one."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--environment",
            choices=Environment.values,
            default=None,
            help="Which credential to use (default: production when active, else alpha).",
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Nights to mirror from today (default: FOURVENUES_CATALOGUE_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["days"] is not None and options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        credential = credential_selectors.active_credential(environment=options["environment"])
        if credential is None:
            raise CommandError("No active Fourvenues credential. Register one first.")
        try:
            result = refresh_catalogue(credential=credential, actor=None, days=options["days"])
        except CatalogueRefreshError as exc:
            raise CommandError(f"{credential.name}: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"{credential.name}: {result.summary()}"))
