from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tickets.models import Event, ReconciliationRun, RunStatus, RunTrigger
from tickets.selectors import catalogue as catalogue_selectors
from tickets.selectors import credentials as credential_selectors
from tickets.services.reconciliation.errors import ReconciliationError
from tickets.services.reconciliation.runs import execute_run, request_run


class Command(BaseCommand):
    help = (
        "Reconcile events' tickets with Fourvenues now, in this process: one event (--event, "
        "its id here or its Fourvenues id) or every upcoming one (--all-upcoming). Incremental "
        "from the last run unless --full. Exits non-zero if a run failed."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        scope = parser.add_mutually_exclusive_group(required=True)
        scope.add_argument("--event", help="The event's id in Comps, or its Fourvenues id.")
        scope.add_argument("--all-upcoming", action="store_true", help="Every upcoming event.")
        parser.add_argument(
            "--full", action="store_true", help="Every ticket, not only recent changes."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        events = self._events(options)
        failed = 0
        for event in events:
            try:
                run = request_run(
                    event=event, trigger=RunTrigger.COMMAND, full=options["full"], enqueue=False
                )
            except ReconciliationError as exc:
                self.stderr.write(f"{event}: {exc}")
                failed += 1
                continue
            run = execute_run(run_id=run.pk)
            self.stdout.write(f"{event}: {_summary(run)}")
            failed += run.status == RunStatus.FAILED
        if failed:
            raise CommandError(f"{failed} of {len(events)} reconciliations did not succeed.")

    @staticmethod
    def _events(options: dict[str, Any]) -> list[Event]:
        if options["all_upcoming"]:
            events = [
                event
                for credential in credential_selectors.active_credentials()
                for event in catalogue_selectors.upcoming_events(environment=credential.environment)
            ]
            if not events:
                raise CommandError("No upcoming events: refresh the catalogue first.")
            return events
        value = options["event"]
        found = Event.objects.filter(remote_id=value)
        if value.isdigit():
            found = found | Event.objects.filter(pk=int(value))
        events = list(found)
        if len(events) != 1:
            raise CommandError(
                f"No single event {value!r}: give its id in Comps or its Fourvenues id."
            )
        return events


def _summary(run: ReconciliationRun) -> str:
    if run.status == RunStatus.FAILED:
        return f"run #{run.pk} failed: {run.error}"
    return (
        f"run #{run.pk} {'full' if run.full else 'incremental'}: {run.remote_tickets} on "
        f"Fourvenues, {run.matched} matched, {run.updated} updated, {run.missing_remotely} "
        f"missing remotely, {run.unknown_locally} unknown here, {run.drift} drifted, "
        f"{run.lines_settled} lines settled, {run.api_calls} API calls in "
        f"{run.duration.total_seconds() if run.duration else 0:.1f} s"
    )
