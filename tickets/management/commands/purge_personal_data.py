from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.models import Event
from tickets.selectors import purge as purge_selectors
from tickets.services.purge import PurgeCounts, PurgeError, purge_due, purge_event


class Command(BaseCommand):
    help = (
        "Remove holders' document numbers, birthdays, addresses and phones: of every event "
        "whose night ended COMPS_PURGE_AFTER_DAYS ago or more, or of one event now (--event, "
        "its id here or its Fourvenues id; its night must be over). --dry-run prints what "
        "would go and changes nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--event", help="The event's id in Comps, or its Fourvenues id.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would go; change nothing."
        )
        parser.add_argument(
            "--all-call-records",
            action="store_true",
            help="Look at every call record older than the horizon, not only the last weeks' "
            "(a first run on an old database).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        verb = "would remove" if dry_run else "removed"
        if options["event"]:
            event = self._event(options["event"])
            try:
                result = purge_event(event=event, dry_run=dry_run, manual=True)
            except PurgeError as exc:
                raise CommandError(f"{event}: {exc}") from exc
            self.stdout.write(f"{event}: {verb} {_summary(result.counts)}")
            return
        days = purge_selectors.purge_after_days()
        report = purge_due(dry_run=dry_run, all_call_records=options["all_call_records"])
        self.stdout.write(
            f"Nights up to {purge_selectors.due_through():%Y-%m-%d} ({days} days after each night):"
        )
        for result in report.events:
            self.stdout.write(f"{result.event}: {verb} {_summary(result.counts)}")
        if not report.events:
            self.stdout.write("No event holds personal data past the horizon.")
        if report.strays is not None and report.strays.counts.total:
            self.stdout.write(f"Tickets of no known event: {verb} {_summary(report.strays.counts)}")
        self.stdout.write(f"Older call records: {verb} personal fields of {report.old_api_calls}.")

    @staticmethod
    def _event(value: str) -> Event:
        found = Event.objects.filter(remote_id=value)
        if value.isdigit():
            found = found | Event.objects.filter(pk=int(value))
        events = list(found.distinct())
        if len(events) != 1:
            raise CommandError(f"No single event is known by {value!r}.")
        return events[0]


def _summary(counts: PurgeCounts) -> str:
    parts = [f"{name.replace('_', ' ')} {n}" for name, n in counts.as_data().items() if n]
    return ", ".join(parts) if parts else "nothing (no personal data left)"
