from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.demo.seeding import seed_tickets
from tickets.models import Environment


class Command(BaseCommand):
    help = (
        "Fill the database with N realistic issued tickets (with their issuance lines, "
        "issuances, events, issuers...), for benchmarks and demos at scale."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--count", type=int, required=True, help="Tickets to write.")
        parser.add_argument("--environment", choices=Environment.values, default=Environment.ALPHA)
        parser.add_argument("--batch", type=int, default=10_000, help="Rows per write.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same tickets.")
        parser.add_argument("--events", type=int, default=150, help="Events over a year.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["count"] < 1 or options["batch"] < 1 or options["events"] < 1:
            raise CommandError("--count, --batch and --events must be at least 1.")

        def progress(done: int) -> None:
            if options["verbosity"] > 1:
                self.stdout.write(f"{done} / {options['count']}")

        result = seed_tickets(
            count=options["count"],
            environment=options["environment"],
            batch=options["batch"],
            seed=options["seed"],
            events=options["events"],
            progress=progress,
        )
        self.stdout.write(self.style.SUCCESS(result.summary()))
