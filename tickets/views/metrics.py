"""`/metrics` for Prometheus: the app's requests (counted by each web process; aggregated across
gunicorn's workers when PROMETHEUS_MULTIPROC_DIR is set), and the shared work read from the
database at each scrape (`selectors.metrics`).

Closed unless COMPS_METRICS_TOKEN is set, then only to `Authorization: Bearer <token>`: the
figures say nothing personal, but how busy a venue is and whether its sends fail is its business.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from tickets.selectors import health
from tickets.selectors import metrics as metric_selectors


class SharedWork(Collector):
    def collect(self) -> Iterator[Metric]:
        shot = metric_selectors.snapshot()
        tasks = GaugeMetricFamily("comps_tasks", "Background tasks by state.", labels=["state"])
        tasks.add_metric(["ready"], shot.tasks_ready)
        tasks.add_metric(["running"], shot.tasks_running)
        yield tasks
        yield GaugeMetricFamily(
            "comps_oldest_ready_task_seconds",
            "How long the oldest task waiting for a worker has waited.",
            value=shot.oldest_ready_task_seconds,
        )
        lines = GaugeMetricFamily("comps_lines", "Ledger lines by state.", labels=["state"])
        for state, count in sorted(shot.lines_by_state.items()):
            lines.add_metric([state], count)
        yield lines
        yield GaugeMetricFamily(
            "comps_oldest_unknown_line_seconds",
            "Since the oldest line whose outcome is unknown was sent (0: none).",
            value=shot.oldest_unknown_line_seconds,
        )
        calls = GaugeMetricFamily(
            "comps_fourvenues_calls_last_hour",
            "Calls to Fourvenues in the last hour, by endpoint and status.",
            labels=["endpoint", "status"],
        )
        for (endpoint, status), count in sorted(shot.calls.items()):
            calls.add_metric([endpoint, status], count)
        yield calls
        latency = GaugeMetricFamily(
            "comps_fourvenues_call_seconds_last_hour",
            "Fourvenues' answer time in the last hour, by endpoint.",
            labels=["endpoint", "quantile"],
        )
        for endpoint, durations in sorted(shot.call_seconds.items()):
            for q in (0.5, 0.95, 0.99):
                latency.add_metric([endpoint, str(q)], metric_selectors.quantile(durations, q))
        yield latency
        yield GaugeMetricFamily(
            "comps_fourvenues_rate_limited_last_hour",
            "Fourvenues' 429 answers in the last hour.",
            value=shot.rate_limited,
        )
        deliveries = GaugeMetricFamily(
            "comps_deliveries", "Messages to guests by state.", labels=["state"]
        )
        for state, count in sorted(shot.deliveries_by_state.items()):
            deliveries.add_metric([state], count)
        yield deliveries
        reconciled = GaugeMetricFamily(
            "comps_reconciled_seconds_ago",
            "Since each coming event's last successful reconciliation (-1: never).",
            labels=["event_id", "event"],
        )
        for (event_id, name), age in sorted(shot.reconciled_seconds_ago.items()):
            reconciled.add_metric([event_id, name], -1 if age is None else age)
        yield reconciled
        seen = GaugeMetricFamily(
            "comps_process_seen_seconds_ago",
            "Since a scheduler or worker was last seen working (-1: never).",
            labels=["process"],
        )
        for process, age in health.seconds_since_seen().items():
            seen.add_metric([process], -1 if age is None else age)
        yield seen


def _process_registry() -> CollectorRegistry:
    """This process's own counters (the requests it served), or every gunicorn worker's."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    return registry


def _shared_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(SharedWork())
    return registry


def _allowed(request: HttpRequest) -> bool:
    token = settings.COMPS_METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    return bool(token) and hmac.compare_digest(given.encode(), token.encode())


@login_not_required
@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        raise Http404  # the same answer with no token set, or a wrong one: nothing to probe
    body = generate_latest(_process_registry()) + generate_latest(_shared_registry())
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
