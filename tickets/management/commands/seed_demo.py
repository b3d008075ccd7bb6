from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from tickets.demo.accounts import seed_demo


class Command(BaseCommand):
    help = "Create the demo users (one per role) and a credential pointing at the sandbox."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--password", default="comps-demo", help="Password for every demo user."
        )
        parser.add_argument("--sandbox-port", type=int, default=settings.FOURVENUES_SANDBOX_PORT)

    def handle(self, *args: Any, **options: Any) -> None:
        logins, credential = seed_demo(
            password=options["password"], sandbox_port=options["sandbox_port"]
        )
        self.stdout.write(self.style.SUCCESS("Demo users (username / password / role):"))
        for login in logins:
            self.stdout.write(f"  {login.username:<8} / {login.password} / {login.role}")
        self.stdout.write(f"Fourvenues credential: {credential.name} → {credential.base_url}")
