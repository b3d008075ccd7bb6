"""The reports page in people, the per-promoter tab, and an event's summary page."""

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import Discrepancy, DiscrepancyKind, ReconciliationRun, RunStatus, RunTrigger

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
NOW = dt.datetime(2026, 3, 22, 12, 0, tzinfo=MADRID)


def _comp(event, *, issuer, promoter=None, admits=1, entered=0, **fields):
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event))
    issuance = factories.IssuanceFactory(price_option=option, created_by=issuer, promoter=promoter)
    line = factories.IssuanceLineFactory(issuance=issuance, state="confirmed")
    return factories.IssuedTicketFactory(line=line, admits=admits, entered=entered, **fields)


@pytest.fixture
def saturday():
    with time_machine.travel(dt.datetime(2026, 3, 18, 12, 0, tzinfo=MADRID), tick=False):
        event = factories.EventFactory(name="Saturday Club", night=dt.date(2026, 3, 21))
        ana = factories.issuer(username="ana", first_name="Ana", last_name="Ruiz")
        pat = factories.PromoterFactory(first_name="Pat", last_name="Promo")
        _comp(event, issuer=ana, promoter=pat, admits=3, entered=1)
        _comp(event, issuer=ana, admits=1, entered=1)
        _comp(event, issuer=ana, admits=2, withdrawn_at=timezone.now())
    return event


@time_machine.travel(NOW, tick=False)
def test_the_reports_page_shows_people_came_no_show_and_withdrawn(manager_client, saturday):
    html = manager_client.get(
        reverse("reports"), {"group": "issuer", "environment": "alpha"}
    ).content.decode()

    for heading in ("People admitted", "People who came", "No-show rate", "Withdrawn"):
        assert f">{heading}</th>" in html
    table = html.split('id="report-table"', 1)[1]
    row = table.split("Ana Ruiz", 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="text-end[^"]*">([^<]*)</td>', row)
    # Tickets, face value, checked in, check-in rate; then people, came, no-show, withdrawn.
    assert cells[-4:] == ["4", "2", "50.0 %", "1"]


@time_machine.travel(NOW, tick=False)
def test_the_per_promoter_tab(manager_client, saturday):
    response = manager_client.get(reverse("reports"), {"group": "promoter", "environment": "alpha"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "Per promoter" in html
    assert "Pat Promo" in html
    assert "No promoter" in html
    assert 'id="chart-promoter-title"' in html


@time_machine.travel(NOW, tick=False)
def test_the_per_event_tab_links_the_summary_and_door_list(manager_client, saturday):
    html = manager_client.get(
        reverse("reports"), {"group": "event", "environment": "alpha"}
    ).content.decode()

    assert reverse("event-summary", args=[saturday.pk]) in html
    assert reverse("door-list", args=[saturday.pk]) in html


@time_machine.travel(NOW, tick=False)
def test_the_summary_page(manager_client, saturday, alpha_credential):
    now = timezone.now()
    run = ReconciliationRun.objects.create(
        event=saturday,
        credential=alpha_credential,
        trigger=RunTrigger.SCHEDULE,
        full=True,
        status=RunStatus.SUCCEEDED,
        started_at=now,
        finished_at=now,
    )
    Discrepancy.objects.create(
        run=run,
        event=saturday,
        environment="alpha",
        remote_id="x",
        kind=DiscrepancyKind.UNKNOWN_LOCALLY,
        last_seen_at=now,
    )

    response = manager_client.get(reverse("event-summary", args=[saturday.pk]))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    summary = response.context["summary"]
    totals = summary.totals
    assert (totals.tickets, totals.people, totals.came, totals.withdrawn) == (2, 4, 2, 1)
    assert totals.no_show_rate == 50.0
    assert summary.open_discrepancies == 1
    html = response.content.decode()
    assert "Saturday Club" in html
    assert "Ana Ruiz" in html
    assert "Pat Promo" in html
    assert "50.0 %" in html


@time_machine.travel(NOW, tick=False)
def test_the_summary_page_in_spanish(manager_client, saturday):
    html = manager_client.get(
        reverse("event-summary", args=[saturday.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    for spanish in ("Resumen", "Invitaciones dadas", "Personas admitidas", "Tasa de ausencia"):
        assert spanish in html
    assert "50,0 %" in html
    assert "People admitted" not in html


def test_the_summary_page_is_for_managers(client, saturday):
    url = reverse("event-summary", args=[saturday.pk])
    assert client.get(url).status_code == 302
    client.force_login(factories.issuer())
    assert client.get(url).status_code == 403
    client.force_login(factories.manager())
    assert client.get(reverse("event-summary", args=[123456])).status_code == 404
