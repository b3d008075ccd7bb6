"""The manager home page's figures: the coming nights (comps issued, people checked in) and who
issued most lately, in the venue's time zone."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests import factories
from tickets.models import Environment, Issuance
from tickets.selectors import reports as report_selectors

MADRID = ZoneInfo("Europe/Madrid")
# 02:00 on Sunday 22 March: Saturday 21's night is still under way.
SATURDAY_NIGHT_LATE = dt.datetime(2026, 3, 22, 2, 0, tzinfo=MADRID)

pytestmark = pytest.mark.django_db


def _comps(event, *, entered, issuer=None, created_at=None):
    """Tickets issued through Comps for `event`, one per value of `entered`."""
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event))
    issuance = factories.IssuanceFactory(
        price_option=option, **({"created_by": issuer} if issuer else {})
    )
    if created_at is not None:
        Issuance.objects.filter(pk=issuance.pk).update(created_at=created_at)
    for came in entered:
        factories.IssuedTicketFactory(
            line=factories.IssuanceLineFactory(issuance=issuance, state="confirmed"),
            entered=came,
        )
    return issuance


@time_machine.travel(SATURDAY_NIGHT_LATE, tick=False)
def test_upcoming_nights_start_with_tonight_and_count_comps_and_check_ins(
    alpha_credential, django_assert_num_queries
):
    saturday = factories.EventFactory(name="Saturday", night=dt.date(2026, 3, 21))
    friday = factories.EventFactory(name="Friday", night=dt.date(2026, 3, 20))
    next_friday = factories.EventFactory(name="Next Friday", night=dt.date(2026, 3, 27))
    factories.EventFactory(name="Too far", night=dt.date(2026, 3, 29))
    factories.EventFactory(
        name="Production night", night=dt.date(2026, 3, 21), environment=Environment.PRODUCTION
    )
    _comps(saturday, entered=[1, 0, 2])
    _comps(friday, entered=[1])
    # A ticket Comps did not issue (a sale) is not a comp.
    factories.IssuedTicketFactory(line=None, event=saturday, entered=1)

    with django_assert_num_queries(1):
        nights = report_selectors.upcoming_nights(days=7)

    assert [(n.event.name, n.comps, n.checked_in, n.is_tonight) for n in nights] == [
        ("Saturday", 3, 2, True),
        ("Next Friday", 0, 0, False),
    ]
    assert friday not in [n.event for n in nights]
    assert next_friday in [n.event for n in nights]


@time_machine.travel(SATURDAY_NIGHT_LATE, tick=False)
def test_upcoming_nights_of_another_environment_on_request(alpha_credential):
    factories.EventFactory(name="Alpha night", night=dt.date(2026, 3, 21))
    factories.EventFactory(
        name="Production night", night=dt.date(2026, 3, 22), environment=Environment.PRODUCTION
    )

    nights = report_selectors.upcoming_nights(environment=Environment.PRODUCTION)

    assert [n.event.name for n in nights] == ["Production night"]


def test_upcoming_nights_without_an_active_credential_are_none():
    factories.EventFactory(night=dt.date.today())

    assert report_selectors.upcoming_nights() == []


@time_machine.travel(dt.datetime(2026, 3, 20, 12, 0, tzinfo=MADRID), tick=False)
def test_top_issuers_of_the_last_days_most_first_and_limited(alpha_credential):
    event = factories.EventFactory()
    ana = factories.issuer(username="ana", first_name="Ana", last_name="Ruiz")
    bob = factories.issuer(username="bob", first_name="Bob", last_name="")
    cy = factories.issuer(username="cy", first_name="Cy", last_name="")
    recent = dt.datetime(2026, 3, 18, 22, 0, tzinfo=MADRID)
    _comps(event, entered=[1, 0], issuer=ana, created_at=recent)
    _comps(event, entered=[0, 0, 1], issuer=bob, created_at=recent)
    _comps(event, entered=[1], issuer=cy, created_at=recent)
    # Eight days ago: outside a seven-day week.
    _comps(
        event, entered=[0] * 5, issuer=cy, created_at=dt.datetime(2026, 3, 12, 23, 0, tzinfo=MADRID)
    )

    top = report_selectors.top_issuers(days=7, limit=2)

    assert [(r.label, r.detail, r.tickets, r.checked_in) for r in top] == [
        ("Bob", "bob", 3, 1),
        ("Ana Ruiz", "ana", 2, 1),
    ]
