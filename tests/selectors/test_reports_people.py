"""Reports in people: people admitted (a ticket may admit several), people who came, the no-show
rate of the nights that are over, per issuer and per promoter; withdrawn comps apart."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories
from tickets.models import Environment, Issuance
from tickets.selectors import reports as report_selectors

pytestmark = pytest.mark.django_db

MADRID = ZoneInfo("Europe/Madrid")
# Friday 20 March at noon: Thursday's night is over, Friday's has not begun.
NOW = dt.datetime(2026, 3, 20, 12, 0, tzinfo=MADRID)
ISSUED = dt.datetime(2026, 3, 10, 12, 0, tzinfo=MADRID)


def _issuance(event, *, issuer, promoter=None, tickets):
    """An issuance for `event`; `tickets`: (admits, entered, withdrawn) per ticket."""
    option = factories.PriceOptionFactory(
        rate=factories.RateFactory(event=event), price=Decimal("10.00")
    )
    issuance = factories.IssuanceFactory(price_option=option, created_by=issuer, promoter=promoter)
    Issuance.objects.filter(pk=issuance.pk).update(created_at=ISSUED)
    for admits, entered, withdrawn in tickets:
        factories.IssuedTicketFactory(
            line=factories.IssuanceLineFactory(issuance=issuance, state="confirmed"),
            admits=admits,
            entered=entered,
            withdrawn_at=NOW if withdrawn else None,
        )
    return issuance


@pytest.fixture
def data():
    thursday = factories.EventFactory(name="Thursday", night=dt.date(2026, 3, 19))
    friday = factories.EventFactory(name="Friday", night=dt.date(2026, 3, 20))
    ana = factories.issuer(username="ana", first_name="Ana", last_name="Ruiz")
    bob = factories.issuer(username="bob", first_name="Bob", last_name="Peña")
    pat = factories.PromoterFactory(first_name="Pat", last_name="Promo")
    # Ana, for Pat, Thursday (over): a list entry admitting 3 of whom 2 came, a ticket that
    # came, a ticket that did not, and one withdrawn (given back: counted nowhere but apart).
    _issuance(
        thursday,
        issuer=ana,
        promoter=pat,
        tickets=[(3, 2, False), (1, 1, False), (1, 0, False), (2, 0, True)],
    )
    # Bob, no promoter, Thursday: 2 people admitted, nobody came.
    _issuance(thursday, issuer=bob, tickets=[(2, 0, False)])
    # Bob, for Pat, Friday (tonight, not over): 4 admitted, 1 already in; no no-show yet.
    _issuance(friday, issuer=bob, promoter=pat, tickets=[(4, 1, False)])
    return {"thursday": thursday, "friday": friday, "pat": pat}


def _report(grouping):
    return report_selectors.ticket_report(
        grouping=grouping,
        environment=Environment.ALPHA,
        date_from=dt.date(2026, 3, 1),
        date_to=dt.date(2026, 3, 20),
    )


def _people(report):
    return [
        (
            r.label,
            r.tickets,
            r.people,
            r.came,
            None if r.no_show_rate is None else round(r.no_show_rate, 1),
            r.withdrawn,
        )
        for r in report.rows
    ]


@time_machine.travel(NOW, tick=False)
def test_per_issuer_in_people(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = _report("issuer")

    # Ana: 5 admitted on a night over, 3 came: 40 % no-show. Bob: Thursday 2 admitted, 0 came
    # (100 %); Friday's 4 are not counted in the no-show rate while the night is not over.
    assert _people(report) == [
        ("Ana Ruiz", 3, 5, 3, 40.0, 1),
        ("Bob Peña", 2, 6, 1, 100.0, 0),
    ]
    assert (report.tickets, report.people, report.came, report.withdrawn) == (5, 11, 4, 1)
    assert round(report.no_show_rate, 1) == round(100 * (7 - 3) / 7, 1)


@time_machine.travel(NOW, tick=False)
def test_per_promoter_in_people(data, django_assert_num_queries):
    with django_assert_num_queries(1):
        report = _report("promoter")

    assert _people(report) == [
        ("Pat Promo", 4, 9, 4, 40.0, 1),
        ("No promoter", 1, 2, 0, 100.0, 0),
    ]
    assert [r.key for r in report.rows] == [data["pat"].pk, None]


@time_machine.travel(NOW, tick=False)
def test_per_event_a_night_not_over_has_no_no_show_rate(data):
    report = _report("event")

    assert _people(report) == [
        ("Friday", 1, 4, 1, None, 0),
        ("Thursday", 4, 7, 3, round(100 * 4 / 7, 1), 1),
    ]


@time_machine.travel(NOW, tick=False)
def test_withdrawn_comps_are_not_counted_as_given_nor_in_face_value(data):
    (thursday,) = [r for r in _report("event").rows if r.label == "Thursday"]

    assert thursday.tickets == 4
    assert thursday.face_value == Decimal("40.00")
    assert thursday.checked_in == 2
    assert thursday.withdrawn == 1


@time_machine.travel(NOW, tick=False)
def test_a_ticket_admitting_three_counts_three_people():
    event = factories.EventFactory(name="List night", night=dt.date(2026, 3, 19))
    _issuance(event, issuer=factories.issuer(), tickets=[(3, 0, False)])

    (row,) = _report("event").rows

    assert (row.tickets, row.people, row.came, row.no_show_rate) == (1, 3, 0, 100.0)


@time_machine.travel(NOW, tick=False)
def test_the_event_summary_has_totals_per_issuer_and_per_promoter(data, django_assert_num_queries):
    with django_assert_num_queries(4):
        summary = report_selectors.event_summary(data["thursday"])

    totals = summary.totals
    assert (totals.tickets, totals.people, totals.came, totals.withdrawn) == (4, 7, 3, 1)
    assert round(totals.no_show_rate, 1) == round(100 * 4 / 7, 1)
    assert summary.night_over
    assert _people(report_selectors.Report("issuer", summary.issuers)) == [
        ("Ana Ruiz", 3, 5, 3, 40.0, 1),
        ("Bob Peña", 1, 2, 0, 100.0, 0),
    ]
    assert [r.label for r in summary.promoters] == ["Pat Promo", "No promoter"]
    assert summary.open_discrepancies == 0

    assert not report_selectors.event_summary(data["friday"]).night_over


@time_machine.travel(NOW, tick=False)
def test_the_coming_nights_count_people_and_leave_withdrawn_comps_out(data, alpha_credential):
    (friday,) = [n for n in report_selectors.upcoming_nights(days=7) if n.event == data["friday"]]
    assert (friday.comps, friday.people, friday.checked_in) == (1, 4, 1)
