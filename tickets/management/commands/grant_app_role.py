"""`manage.py grant_app_role --role comps_app --password-file F`: run as the database's owner
after `migrate`, so the app can connect as a role with no rights beyond its rows."""

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.services.database_roles import DatabaseRoleError, grant_app_role


class Command(BaseCommand):
    help = (
        "Create or update the PostgreSQL role the app connects as: read and write the app's "
        "rows, own nothing, never delete or truncate the audit log."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--role", default="comps_app")
        parser.add_argument(
            "--password-file",
            type=Path,
            help="A file holding the role's password (a Docker secret); without it, the "
            "role keeps its password.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password_file: Path | None = options["password_file"]
        password = None
        if password_file is not None:
            try:
                password = password_file.read_text().strip()
            except OSError as exc:
                raise CommandError(f"Cannot read the password file: {exc.strerror}.") from exc
            if not password:
                raise CommandError("The password file is empty.")
        try:
            grant_app_role(role=options["role"], password=password)
        except DatabaseRoleError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Role {options['role']} can use the app's tables, and no more.")
