"""`/metrics`: closed without its token; with it, what Prometheus needs to watch the app."""

import datetime as dt

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from tests import factories
from tickets.models import ApiCall, LineState, ReconciliationRun, RunStatus, RunTrigger
from tickets.selectors.metrics import endpoint_of

TOKEN = "a-long-metrics-token-for-tests"


def _scrape(client) -> dict[str, dict[tuple, float]]:
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer["Cache-Control"].startswith("max-age=0")
    return {
        family.name: {tuple(sorted(s.labels.items())): s.value for s in family.samples}
        for family in text_string_to_metric_families(answer.content.decode())
    }


@pytest.mark.django_db
@pytest.mark.parametrize("header", [None, "Bearer wrong-token", f"Basic {TOKEN}"])
def test_metrics_are_closed_without_the_right_token(client, settings, header):
    settings.COMPS_METRICS_TOKEN = TOKEN
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/metrics", **extra).status_code == 404


@pytest.mark.django_db
def test_metrics_are_closed_when_no_token_is_set(client, settings):
    settings.COMPS_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


@pytest.mark.django_db
def test_metrics_count_lines_calls_requests_and_reconciliation_ages(client, settings):
    settings.COMPS_METRICS_TOKEN = TOKEN
    now = timezone.now()
    issuance = factories.IssuanceFactory()
    factories.IssuanceLineFactory(issuance=issuance, state=LineState.CONFIRMED)
    factories.IssuanceLineFactory(
        issuance=issuance, state=LineState.UNKNOWN, sent_at=now - dt.timedelta(minutes=4)
    )
    for status, ms in ((200, 100), (200, 300), (429, 5)):
        ApiCall.objects.create(method="POST", path="/tickets", status=status, duration_ms=ms)
    ApiCall.objects.create(
        method="POST", path="/tickets/refund/64f0c2a1b9e7d3", status=200, duration_ms=80
    )
    ReconciliationRun.objects.create(
        event=issuance.event,
        credential=issuance.credential,
        trigger=RunTrigger.SCHEDULE,
        full=False,
        status=RunStatus.SUCCEEDED,
        finished_at=now - dt.timedelta(minutes=10),
    )
    client.get("/healthz")

    scraped = _scrape(client)

    lines = scraped["comps_lines"]
    assert lines[(("state", "confirmed"),)] == 1
    assert lines[(("state", "unknown"),)] == 1
    assert lines[(("state", "failed"),)] == 0
    assert 230 < scraped["comps_oldest_unknown_line_seconds"][()] < 260
    calls = scraped["comps_fourvenues_calls_last_hour"]
    assert calls[(("endpoint", "POST /tickets"), ("status", "200"))] == 2
    assert calls[(("endpoint", "POST /tickets/refund/{id}"), ("status", "200"))] == 1
    assert scraped["comps_fourvenues_rate_limited_last_hour"][()] == 1
    latency = scraped["comps_fourvenues_call_seconds_last_hour"]
    assert latency[(("endpoint", "POST /tickets"), ("quantile", "0.5"))] == pytest.approx(0.1)
    event_key = (("event", issuance.event.name), ("event_id", str(issuance.event.pk)))
    assert 590 < scraped["comps_reconciled_seconds_ago"][event_key] < 660
    served = scraped["comps_http_requests"]
    assert served[(("method", "GET"), ("route", "healthz"), ("status", "200"))] >= 1
    assert scraped["comps_process_seen_seconds_ago"][(("process", "worker"),)] == -1


def test_ids_in_paths_become_one_endpoint():
    assert endpoint_of("GET", "/tickets/64f0c2a1b9e7d3") == "GET /tickets/{id}"
    assert endpoint_of("GET", "/tickets-rates/") == "GET /tickets-rates/"
