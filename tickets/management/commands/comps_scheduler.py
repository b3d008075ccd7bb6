import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from tickets.services.health import scheduler_beat
from tickets.services.maintenance import run_maintenance


class Command(BaseCommand):
    help = (
        "Run the periodic maintenance (the reaper): recover work a dead worker left behind, "
        "queue due resolver checks, scheduled reconciliations and catalogue refreshes. "
        "Loops forever unless --once."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--once", action="store_true", help="Run one pass and exit.")
        parser.add_argument(
            "--interval", type=float, default=settings.COMPS_SCHEDULER_INTERVAL_SECONDS
        )

    def handle(self, *args: Any, **options: Any) -> None:
        while True:
            close_old_connections()
            report = run_maintenance()
            scheduler_beat()
            if any(vars(report).values()) or options["once"]:
                self.stdout.write(
                    f"stale tasks {report.stale_tasks}, stale sending lines "
                    f"{report.stale_sending_lines}, sends queued {report.sends_enqueued}, "
                    f"checks queued {report.resolves_enqueued}, stale reconciliations "
                    f"{report.stale_reconciliations}, reconciliations queued "
                    f"{report.reconciliations_enqueued}, catalogue refresh queued "
                    f"{'yes' if report.catalogue_refresh_enqueued else 'no'}"
                )
            if options["once"]:
                return
            time.sleep(options["interval"])
