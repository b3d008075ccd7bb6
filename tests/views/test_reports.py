"""The reports page: exact figures per event, issuer, reason and ISO week (venue time)."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from tests import factories
from tickets.models import Environment, Issuance, IssuedTicket, LineState, Reason
from tickets.selectors import reports as report_selectors

URL = reverse("reports")
MADRID = ZoneInfo("Europe/Madrid")
TODAY = dt.datetime(2026, 3, 20, 12, 0, tzinfo=MADRID)


def _issuance(*, user, option, reason, created_at, entered, environment=Environment.ALPHA):
    """An issuance whose lines all have a mirrored ticket; `entered` per ticket."""
    issuance = factories.IssuanceFactory(
        created_by=user, price_option=option, reason=Reason.objects.get(label=reason)
    )
    Issuance.objects.filter(pk=issuance.pk).update(created_at=created_at)
    for i, came in enumerate(entered):
        line = factories.IssuanceLineFactory(
            issuance=issuance, position=i, state=LineState.CONFIRMED
        )
        IssuedTicket.objects.create(
            environment=environment,
            remote_id=f"t-{issuance.pk}-{i}",
            line=line,
            event=option.rate.event,
            code=f"C{issuance.pk}X{i}",
            name=line.full_name,
            email=line.email,
            price=Decimal("0"),
            entered=came,
        )
    return issuance


@pytest.fixture
def data():
    alpha_night = factories.EventFactory(name="Alpha Night", night=dt.date(2026, 3, 14))
    beta_night = factories.EventFactory(name="Beta Night", night=dt.date(2026, 3, 21))
    twenty = factories.PriceOptionFactory(
        rate=factories.RateFactory(event=alpha_night), price=Decimal("20.00")
    )
    fifteen = factories.PriceOptionFactory(
        rate=factories.RateFactory(event=beta_night), price=Decimal("15.00")
    )
    ana = factories.issuer(username="ana", first_name="Ana", last_name="Ruiz")
    bob = factories.issuer(username="bob", first_name="Bob", last_name="Peña")
    # Monday of ISO week 10.
    _issuance(
        user=ana,
        option=twenty,
        reason="Press",
        created_at=dt.datetime(2026, 3, 2, 10, 0, tzinfo=MADRID),
        entered=[1, 0, 2],
    )
    # 00:30 on Monday 9 March in Madrid is still Sunday (week 10) in UTC: week 11 here.
    _issuance(
        user=bob,
        option=twenty,
        reason="Artist",
        created_at=dt.datetime(2026, 3, 9, 0, 30, tzinfo=MADRID),
        entered=[0, 0],
    )
    _issuance(
        user=bob,
        option=fifteen,
        reason="Press",
        created_at=dt.datetime(2026, 3, 10, 12, 0, tzinfo=MADRID),
        entered=[1, 1, 1, 0],
    )
    # More than 90 days ago: outside the default period.
    _issuance(
        user=ana,
        option=fifteen,
        reason="VIP",
        created_at=dt.datetime(2025, 12, 1, 12, 0, tzinfo=MADRID),
        entered=[1],
    )
    # Another environment.
    _issuance(
        user=ana,
        option=twenty,
        reason="Staff",
        created_at=dt.datetime(2026, 3, 3, 12, 0, tzinfo=MADRID),
        entered=[0],
        environment=Environment.PRODUCTION,
    )
    # A line that never became a ticket is not counted.
    factories.IssuanceLineFactory(
        issuance=Issuance.objects.get(created_by=ana, reason__label="Press"),
        position=9,
        state=LineState.FAILED,
    )


def _figures(report):
    return [
        (r.label, r.tickets, r.face_value, r.checked_in, round(r.check_in_rate, 1))
        for r in report.rows
    ]


def _report(grouping, **period):
    period.setdefault("date_from", dt.date(2025, 12, 21))
    period.setdefault("date_to", dt.date(2026, 3, 20))
    return report_selectors.ticket_report(
        grouping=grouping, environment=Environment.ALPHA, **period
    )


@pytest.mark.django_db
def test_per_event(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = _report("event")
    assert _figures(report) == [
        ("Beta Night", 4, Decimal("60.00"), 3, 75.0),
        ("Alpha Night", 5, Decimal("100.00"), 2, 40.0),
    ]
    assert (report.tickets, report.face_value, report.checked_in) == (9, Decimal("160.00"), 5)


@pytest.mark.django_db
def test_per_issuer(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = _report("issuer")
    assert _figures(report) == [
        ("Bob Peña", 6, Decimal("100.00"), 3, 50.0),
        ("Ana Ruiz", 3, Decimal("60.00"), 2, 66.7),
    ]


@pytest.mark.django_db
def test_per_reason(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = _report("reason")
    assert _figures(report) == [
        ("Press", 7, Decimal("120.00"), 5, 71.4),
        ("Artist", 2, Decimal("40.00"), 0, 0.0),
    ]


@pytest.mark.django_db
def test_per_iso_week_in_the_venue_time_zone(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = _report("week")
    assert _figures(report) == [
        ("2026-W10", 3, Decimal("60.00"), 2, 66.7),
        ("2026-W11", 6, Decimal("100.00"), 3, 50.0),
    ]
    assert [r.key for r in report.rows] == [dt.date(2026, 3, 2), dt.date(2026, 3, 9)]


@pytest.mark.django_db
def test_a_wider_period_and_another_environment(data):
    wide = _report("reason", date_from=dt.date(2025, 11, 1))
    assert ("VIP", 1, Decimal("15.00"), 1, 100.0) in _figures(wide)

    production = report_selectors.ticket_report(
        grouping="reason",
        environment=Environment.PRODUCTION,
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 3, 20),
    )
    assert _figures(production) == [("Staff", 1, Decimal("20.00"), 0, 0.0)]


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_page_defaults_to_the_last_90_days(client, data):
    client.force_login(factories.manager())

    response = client.get(URL, {"group": "reason", "environment": "alpha"})

    assert response.status_code == 200
    report = response.context["report"]
    assert response.context["params"]["date_from"] == dt.date(2025, 12, 21)
    assert response.context["params"]["date_to"] == dt.date(2026, 3, 20)
    assert _figures(report) == [
        ("Press", 7, Decimal("120.00"), 5, 71.4),
        ("Artist", 2, Decimal("40.00"), 0, 0.0),
    ]
    html = response.content.decode()
    assert "120.00\u00a0€" in html
    assert "71.4 %" in html


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
@pytest.mark.parametrize("grouping", ["event", "issuer", "reason", "week"])
def test_every_tab_has_a_table_and_an_accessible_server_drawn_chart(client, data, grouping):
    client.force_login(factories.manager())

    response = client.get(URL, {"group": grouping, "environment": "alpha"})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="report-table"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg"' in html
    assert f'<title id="chart-{grouping}-title">' in html
    assert f'<desc id="chart-{grouping}-desc">' in html
    assert "<script" not in html.split("<main", 1)[1]
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")


@pytest.mark.django_db
def test_the_chart_escapes_labels(client):
    factories.EventFactory(name="<b>Night</b>")
    from tickets.charts import Bar, bar_chart

    svg = bar_chart(chart_id="c", title="T & t", description="d", bars=[Bar("<b>x</b>", 3, 1)])

    assert "<b>" not in svg
    assert "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "T &amp; t" in svg


@pytest.mark.django_db
def test_a_bad_period_is_refused(client):
    client.force_login(factories.manager())

    response = client.get(URL, {"date_from": "2026-03-10", "date_to": "2026-03-01"})

    assert response.status_code == 400


@pytest.mark.django_db
def test_an_issuer_may_not_see_reports(client):
    client.force_login(factories.issuer())
    assert client.get(URL).status_code == 403


@pytest.mark.django_db
def test_reports_need_a_login(client):
    response = client.get(URL)
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_nav_links_reports_for_managers_only(client):
    client.force_login(factories.manager())
    assert f'href="{URL}"' in client.get(reverse("issuance-list")).content.decode()
    client.force_login(factories.issuer())
    assert f'href="{URL}"' not in client.get(reverse("issuance-list")).content.decode()


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_the_page_in_spanish_has_spanish_words_numbers_and_dates(client, data):
    client.force_login(factories.manager())

    response = client.get(
        URL, {"group": "event", "environment": "alpha"}, HTTP_ACCEPT_LANGUAGE="es"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="es">' in html
    for spanish in ("Informes", "Por evento", "Entradas emitidas", "Valor nominal", "Filtrar"):
        assert spanish in html
    assert "160,00\u00a0€" in html  # the total, with a decimal comma
    assert "40,0 %" in html
    assert "sáb 14 Mar 2026" in html  # Alpha Night's date, with Spanish day and month names
    assert "del 21 Dic 2025 al 20 Mar 2026" in html  # the chart's title
    for english in ("Tickets issued", "Face value", "Per event", "Sat 14 Mar"):
        assert english not in html


@pytest.mark.django_db
@time_machine.travel(TODAY, tick=False)
def test_weeks_read_in_spanish(client, data):
    client.force_login(factories.manager())

    html = client.get(
        URL, {"group": "week", "environment": "alpha"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "semana 10 de 2026" in html
    assert "desde el 2 Mar 2026" in html


@pytest.mark.django_db
def test_a_bad_period_says_why_in_spanish(client):
    client.force_login(factories.manager())

    response = client.get(
        URL, {"date_from": "2026-03-10", "date_to": "2026-03-01"}, HTTP_ACCEPT_LANGUAGE="es"
    )

    assert response.status_code == 400
    assert "«Desde» debe ser igual o anterior a «Hasta»." in response.content.decode()


@pytest.mark.django_db
def test_the_filter_bar_is_the_products_one(client):
    client.force_login(factories.manager())

    html = client.get(URL, {"group": "issuer"}).content.decode()

    assert '<form method="get" class="filter-bar card card-body mb-3" role="search"' in html
    assert html.count('<div class="col-sm-6 col-lg-3">') == 3
    assert '<button class="btn btn-primary" type="submit">Filter</button>' in html
    assert f'href="{URL}?group=issuer">Clear</a>' in html
