"""What `/metrics` reports, read from the database when Prometheus asks: the same figures
whichever web process answers, for work every process and machine shares."""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets.models import (
    ApiCall,
    Delivery,
    DeliveryState,
    Event,
    IssuanceLine,
    LineState,
    RunStatus,
)

# Ids in paths (`/tickets/refund/<id>`) would make one series per ticket.
ID_SEGMENT = re.compile(r"^(?=.*\d)[A-Za-z0-9_-]{6,}$")
CALL_WINDOW = dt.timedelta(hours=1)


def endpoint_of(method: str, path: str) -> str:
    segments = ["{id}" if ID_SEGMENT.match(part) else part for part in path.split("/")]
    return f"{method} {'/'.join(segments)}"


@dataclass
class Snapshot:
    tasks_ready: int = 0
    oldest_ready_task_seconds: float = 0.0
    tasks_running: int = 0
    lines_by_state: dict[str, int] = field(default_factory=dict)
    oldest_unknown_line_seconds: float = 0.0
    calls: Counter[tuple[str, str]] = field(default_factory=Counter)  # (endpoint, status) -> n
    call_seconds: dict[str, list[float]] = field(default_factory=dict)  # endpoint -> durations
    rate_limited: int = 0
    deliveries_by_state: dict[str, int] = field(default_factory=dict)
    reconciled_seconds_ago: dict[tuple[str, str], float | None] = field(default_factory=dict)


def snapshot(*, now: dt.datetime | None = None) -> Snapshot:
    now = now or timezone.now()
    shot = Snapshot()
    tasks = DBTaskResult.objects.aggregate(
        ready=Count("id", filter=Q(status=TaskResultStatus.READY)),
        running=Count("id", filter=Q(status=TaskResultStatus.RUNNING)),
        oldest=Min("enqueued_at", filter=Q(status=TaskResultStatus.READY)),
    )
    shot.tasks_ready, shot.tasks_running = tasks["ready"], tasks["running"]
    if tasks["oldest"] is not None:
        shot.oldest_ready_task_seconds = (now - tasks["oldest"]).total_seconds()
    shot.lines_by_state = {state: 0 for state in LineState.values} | dict(
        IssuanceLine.objects.order_by().values_list("state").annotate(n=Count("id"))
    )
    oldest_unknown = IssuanceLine.objects.filter(state=LineState.UNKNOWN).aggregate(
        at=Min("sent_at")
    )["at"]
    if oldest_unknown is not None:
        shot.oldest_unknown_line_seconds = (now - oldest_unknown).total_seconds()
    durations: defaultdict[str, list[float]] = defaultdict(list)
    recent = ApiCall.objects.filter(created_at__gte=now - CALL_WINDOW).values_list(
        "method", "path", "status", "duration_ms"
    )
    for method, path, status, duration_ms in recent.iterator(chunk_size=2000):
        endpoint = endpoint_of(method, path)
        shot.calls[(endpoint, str(status) if status else "none")] += 1
        durations[endpoint].append(duration_ms / 1000)
        shot.rate_limited += status == 429
    shot.call_seconds = dict(durations)
    shot.deliveries_by_state = {state: 0 for state in DeliveryState.values} | dict(
        Delivery.objects.order_by().values_list("state").annotate(n=Count("id"))
    )
    coming = Event.objects.filter(night__gte=timezone.localdate() - dt.timedelta(days=1))
    for pk, name, last in coming.annotate(
        last=Max(
            "reconciliation_runs__finished_at",
            filter=Q(reconciliation_runs__status=RunStatus.SUCCEEDED),
        )
    ).values_list("pk", "name", "last"):
        age = None if last is None else (now - last).total_seconds()
        shot.reconciled_seconds_ago[(str(pk), name)] = age
    return shot


def quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]
