"""Starting and running a reconciliation.

A run is requested (one per event at a time; from the page, at most one a minute), then
executed by the worker: it pages through Fourvenues, comparing each page while the next is
fetched (`compare`), and applies what it found in one transaction at the end (`apply`). A run
that fails changes nothing but its own row, which says why.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tickets import tasks
from tickets.fourvenues.calls import CallRecord
from tickets.fourvenues.errors import FourvenuesError
from tickets.fourvenues.schemas import Ticket
from tickets.models import Event, ReconciliationRun, RunStatus, RunTrigger
from tickets.selectors import credentials as credential_selectors
from tickets.services import audit
from tickets.services.credentials import build_client, record_call
from tickets.services.reconciliation.apply import apply_comparison
from tickets.services.reconciliation.compare import Comparison, compare_page, ours_for
from tickets.services.reconciliation.errors import ReconciliationError

logger = logging.getLogger(__name__)

# Fourvenues asks that one resource be polled at most once a minute.
MIN_SECONDS_BETWEEN_RUNS = 60
# Incremental runs start a little before the previous high-water mark: clocks and equal
# timestamps must not let an update slip between two runs. Seeing a ticket twice is harmless.
INCREMENTAL_OVERLAP = dt.timedelta(seconds=5)
PAGE_SIZE = 500  # the API's largest page
# Kept in English on the run; the pages translate it as they show it.
UNEXPECTED_ERROR = gettext_noop("An unexpected error stopped the run.")


# --- Starting runs ------------------------------------------------------------------------------


def request_run(
    *,
    event: Event,
    trigger: str,
    full: bool = False,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    request: HttpRequest | None = None,
    enqueue: bool = True,
) -> ReconciliationRun:
    """Record a queued run for `event` and (unless `enqueue` is off) hand it to the worker.

    Refused while another run of the event is queued or running, and from the page within a
    minute of the last one (Fourvenues asks for no more; the command, an operator's explicit
    act, is not held back). Without a previous successful run there is no high-water mark, so
    the run is full whatever was asked.
    """
    credential = credential_selectors.active_credential(environment=event.environment)
    if credential is None:
        raise ReconciliationError(
            _("No active Fourvenues credential for %(environment)s.")
            % {"environment": event.get_environment_display()}
        )
    if trigger == RunTrigger.UI:
        _refuse_within_a_minute(event)
    previous = last_successful_run(event)
    since = None
    if not full and previous is not None and previous.high_water_mark is not None:
        since = previous.high_water_mark - INCREMENTAL_OVERLAP
    user = actor if actor is not None and actor.is_authenticated else None
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(
                event=event,
                credential=credential,
                trigger=trigger,
                started_by=user,
                full=since is None,
                since=since,
            )
            if trigger != RunTrigger.SCHEDULE:
                audit.record(
                    action="reconciliation.requested",
                    actor=actor,
                    target=event,
                    data={"run": run.pk, "full": run.full, "trigger": trigger},
                    request=request,
                )
            if enqueue:
                tasks.reconcile_event.enqueue(run.pk)
    except IntegrityError:
        raise ReconciliationError(
            _("A reconciliation of this event is already queued or running.")
        ) from None
    return run


def _refuse_within_a_minute(event: Event) -> None:
    last = event.reconciliation_runs.order_by("-created_at").values_list("created_at", flat=True)
    latest = last.first()
    if latest is None:
        return
    wait = MIN_SECONDS_BETWEEN_RUNS - (timezone.now() - latest).total_seconds()
    if wait > 0:
        raise ReconciliationError(
            _(
                "Fourvenues asks for at most one look a minute at an event: try again in "
                "%(seconds)s s."
            )
            % {"seconds": math.ceil(wait)}
        )


def last_successful_run(event: Event) -> ReconciliationRun | None:
    return (
        ReconciliationRun.objects.filter(event=event, status=RunStatus.SUCCEEDED)
        .order_by("-created_at", "-id")
        .first()
    )


# --- Running -----------------------------------------------------------------------------------


def execute_run(*, run_id: int) -> ReconciliationRun:
    """Run a queued reconciliation. A run already taken by another worker is left alone."""
    now = timezone.now()
    claimed = ReconciliationRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now
    )
    run = ReconciliationRun.objects.select_related("event", "credential").get(pk=run_id)
    if not claimed:
        return run
    # The calls are recorded from this thread: the page being fetched meanwhile must not write.
    calls: list[CallRecord] = []
    lock = threading.Lock()

    def collect(record: CallRecord) -> None:
        with lock:
            calls.append(record)

    recorded = 0

    def record_calls() -> int:
        nonlocal recorded
        with lock:
            fresh = calls[recorded:]
        for record in fresh:
            record_call(run.credential, record)
        recorded += len(fresh)
        return recorded

    comparison = Comparison()
    client = None
    try:
        ours = ours_for(run.event)
        client = build_client(run.credential, record_calls=False, on_call=collect)
        for page in _prefetched(_pages(client.iter_tickets(**_listing(run)))):
            record_calls()
            compare_page(run, page, comparison, ours)
    except FourvenuesError as exc:
        _finish_failed(run, reason=exc.message, api_calls=record_calls())
        return run
    except Exception:
        _finish_failed(run, reason=UNEXPECTED_ERROR, api_calls=record_calls())
        logger.exception("Reconciliation run %s failed", run.pk)
        raise
    finally:
        if client is not None:
            client.close()
    try:
        apply_comparison(
            run,
            comparison,
            ours,
            high_water_mark=_high_water_mark(run, comparison),
            api_calls=record_calls(),
        )
    except Exception:  # rolled back: nothing of the run was applied
        _finish_failed(run, reason=UNEXPECTED_ERROR, api_calls=recorded)
        logger.exception("Reconciliation run %s failed while applying", run.pk)
        raise
    return run


def _listing(run: ReconciliationRun) -> dict[str, Any]:
    if run.full or run.since is None:
        return {"event_id": run.event.remote_id}
    return {"event_id": run.event.remote_id, "start_date": run.since, "date_field": "updated_at"}


def _pages(tickets: Iterator[Ticket]) -> Iterator[list[Ticket]]:
    page: list[Ticket] = []
    for ticket in tickets:
        page.append(ticket)
        if len(page) == PAGE_SIZE:
            yield page
            page = []
    if page:
        yield page


def _prefetched(pages: Iterator[list[Ticket]]) -> Iterator[list[Ticket]]:
    """The next page is fetched in a second thread while this one is compared, so the wait for
    Fourvenues (and for the rate limit) overlaps the comparison instead of adding to it.

    Not inside a transaction (a caller's, a test's): the second thread's own connection, which
    reserves each request from the key's shared budget, would wait for this one's locks."""
    if connection.in_atomic_block:
        yield from pages
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="reconcile-fetch") as pool:
        upcoming = pool.submit(next, pages, None)
        while (page := upcoming.result()) is not None:
            upcoming = pool.submit(next, pages, None)
            yield page


def _finish_failed(run: ReconciliationRun, *, reason: str, api_calls: int) -> None:
    run.status = RunStatus.FAILED
    run.error = reason[:500]
    run.api_calls = api_calls
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "error", "api_calls", "finished_at"])


def _high_water_mark(run: ReconciliationRun, comparison: Comparison) -> dt.datetime | None:
    """The newest update the run saw. A run that saw none keeps the previous run's mark: its
    `since` is that mark less the overlap."""
    return comparison.high_water_mark or (run.since + INCREMENTAL_OVERLAP if run.since else None)
