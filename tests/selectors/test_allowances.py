"""Allowance arithmetic: which allowances apply, and what each has used, in people and value."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests import factories as f
from tickets.models import Allowance, AllowancePeriod, IssuerGroup, LineState
from tickets.selectors import allowances as selectors

pytestmark = pytest.mark.django_db


def a_monday() -> dt.date:
    """A Monday at least a week ahead."""
    today = timezone.localdate()
    return today + dt.timedelta(days=14 - today.weekday())


def lines(user, option, states, *, promoter=None):
    """An issuance by `user` at `option` with one line per state given."""
    issuance = f.IssuanceFactory(created_by=user, price_option=option, promoter=promoter)
    return [f.IssuanceLineFactory(issuance=issuance, state=state) for state in states]


def used(allowance: Allowance, event) -> tuple[int, Decimal]:
    (usage,) = selectors.usage_for_event([allowance], event)
    return usage.people_used, usage.value_used


@pytest.fixture
def option():
    return f.PriceOptionFactory(price=Decimal("20.00"))


@pytest.fixture
def issuer():
    return f.issuer()


def test_counting_states_count_one_person_each_before_mirroring(issuer, option):
    event = option.rate.event
    lines(
        issuer,
        option,
        [
            LineState.PENDING,
            LineState.SENDING,
            LineState.UNKNOWN,
            LineState.CONFIRMED,
            LineState.FAILED,
            LineState.REJECTED,
            LineState.PENDING_APPROVAL,
        ],
    )
    allowance = Allowance.objects.create(user=issuer, event=event, people=10)
    assert used(allowance, event) == (4, Decimal("80.00"))


def test_a_mirrored_ticket_counts_the_people_it_admits(issuer, option):
    event = option.rate.event
    (line,) = lines(issuer, option, [LineState.CONFIRMED])
    f.IssuedTicketFactory(line=line, admits=3)
    lines(issuer, option, [LineState.PENDING])
    allowance = Allowance.objects.create(
        user=issuer, event=event, people=10, face_value=Decimal("100")
    )
    (usage,) = selectors.usage_for_event([allowance], event)
    assert (usage.people_used, usage.value_used) == (4, Decimal("80.00"))
    assert (usage.people_left, usage.value_left) == (6, Decimal("20.00"))
    assert usage.fits(people=1, value=Decimal("20"))
    assert not usage.fits(people=2, value=Decimal("40")), "over the face value"
    assert not usage.fits(people=7, value=Decimal("0")), "over the people"


def test_a_withdrawn_ticket_and_a_failed_line_give_their_places_back(issuer, option):
    event = option.rate.event
    first, second = lines(issuer, option, [LineState.CONFIRMED, LineState.CONFIRMED])
    ticket = f.IssuedTicketFactory(line=first, admits=2)
    f.IssuedTicketFactory(line=second)
    allowance = Allowance.objects.create(user=issuer, event=event, people=5)
    assert used(allowance, event) == (3, Decimal("60.00"))
    ticket.withdrawn_at = timezone.now()
    ticket.save(update_fields=["withdrawn_at"])
    assert used(allowance, event) == (1, Decimal("20.00"))
    second.state = LineState.FAILED
    second.save(update_fields=["state"])
    assert used(allowance, event) == (0, Decimal("0.00"))


def test_an_issuers_allowance_counts_only_their_issuances(issuer, option):
    event = option.rate.event
    lines(issuer, option, [LineState.PENDING])
    lines(f.issuer(), option, [LineState.PENDING, LineState.PENDING])
    allowance = Allowance.objects.create(user=issuer, event=event, people=5)
    assert used(allowance, event) == (1, Decimal("20.00"))


def test_a_promoters_allowance_counts_every_issuers_comps_for_them(issuer, option):
    event = option.rate.event
    promoter = f.PromoterFactory()
    lines(issuer, option, [LineState.PENDING], promoter=promoter)
    lines(f.issuer(), option, [LineState.PENDING, LineState.PENDING], promoter=promoter)
    lines(issuer, option, [LineState.PENDING])  # not for the promoter
    allowance = Allowance.objects.create(promoter=promoter, event=event, people=5)
    assert used(allowance, event) == (3, Decimal("60.00"))


def test_a_groups_allowance_counts_its_members_once_each(issuer, option):
    event = option.rate.event
    colleague = f.issuer()
    group = IssuerGroup.objects.create(name="Door team")
    group.members.set([issuer, colleague])
    # In a second group too: a join would count the issuer's lines twice.
    IssuerGroup.objects.create(name="Friday").members.set([issuer])
    lines(issuer, option, [LineState.PENDING, LineState.PENDING])
    lines(colleague, option, [LineState.CONFIRMED])
    lines(f.issuer(), option, [LineState.PENDING])  # an outsider
    allowance = Allowance.objects.create(issuer_group=group, event=event, people=5)
    assert used(allowance, event) == (3, Decimal("60.00"))


def test_a_rate_allowance_counts_only_that_rate(issuer, option):
    event = option.rate.event
    other_option = f.PriceOptionFactory(rate=f.RateFactory(event=event), price=Decimal("5"))
    lines(issuer, option, [LineState.PENDING])
    lines(issuer, other_option, [LineState.PENDING, LineState.PENDING])
    for_rate = Allowance.objects.create(user=issuer, event=event, rate=option.rate, people=5)
    for_event = Allowance.objects.create(user=issuer, event=event, people=5)
    assert used(for_rate, event) == (1, Decimal("20.00"))
    assert used(for_event, event) == (3, Decimal("30.00"))


def test_an_allowance_for_no_event_counts_each_event_apart(issuer, option):
    event = option.rate.event
    same_night = f.PriceOptionFactory(rate__event__night=event.night)
    lines(issuer, option, [LineState.PENDING])
    lines(issuer, same_night, [LineState.PENDING, LineState.PENDING])
    allowance = Allowance.objects.create(user=issuer, period=AllowancePeriod.EVENT, people=5)
    assert used(allowance, event)[0] == 1
    assert used(allowance, same_night.rate.event)[0] == 2


def test_per_night_counts_every_event_of_that_night(issuer):
    monday = a_monday()
    early = f.PriceOptionFactory(rate__event__night=monday, price=Decimal("10"))
    late = f.PriceOptionFactory(rate__event__night=monday, price=Decimal("30"))
    next_night = f.PriceOptionFactory(rate__event__night=monday + dt.timedelta(days=1))
    lines(issuer, early, [LineState.PENDING])
    lines(issuer, late, [LineState.PENDING])
    lines(issuer, next_night, [LineState.PENDING])
    allowance = Allowance.objects.create(user=issuer, period=AllowancePeriod.NIGHT, people=5)
    assert used(allowance, early.rate.event) == (2, Decimal("40.00"))
    assert used(allowance, next_night.rate.event) == (1, Decimal("20.00"))


def test_per_week_counts_monday_to_sunday(issuer):
    monday = a_monday()
    nights = [monday - dt.timedelta(days=1), monday, monday + dt.timedelta(days=6)]
    nights.append(monday + dt.timedelta(days=7))
    options = [f.PriceOptionFactory(rate__event__night=night) for night in nights]
    for option in options:
        lines(issuer, option, [LineState.PENDING])
    allowance = Allowance.objects.create(user=issuer, period=AllowancePeriod.WEEK, people=5)
    sunday_before, this_monday, this_sunday, next_monday = (o.rate.event for o in options)
    assert used(allowance, this_monday)[0] == 2
    assert used(allowance, this_sunday)[0] == 2
    assert used(allowance, sunday_before)[0] == 1
    assert used(allowance, next_monday)[0] == 1


def test_an_event_allowance_counted_per_week_still_counts_only_its_event(issuer):
    monday = a_monday()
    option = f.PriceOptionFactory(rate__event__night=monday)
    other = f.PriceOptionFactory(rate__event__night=monday + dt.timedelta(days=2))
    lines(issuer, option, [LineState.PENDING])
    lines(issuer, other, [LineState.PENDING])
    allowance = Allowance.objects.create(
        user=issuer, event=option.rate.event, period=AllowancePeriod.WEEK, people=5
    )
    assert used(allowance, option.rate.event)[0] == 1


def test_the_applicable_allowances_are_the_issuers_groups_and_promoters(issuer, option):
    event, rate = option.rate.event, option.rate
    promoter = f.PromoterFactory()
    group = IssuerGroup.objects.create(name="Door team")
    group.members.set([issuer])
    mine = Allowance.objects.create(user=issuer, event=event, people=5)
    any_event = Allowance.objects.create(user=issuer, people=5, period=AllowancePeriod.NIGHT)
    for_group = Allowance.objects.create(issuer_group=group, event=event, people=5)
    for_promoter = Allowance.objects.create(promoter=promoter, event=event, people=5)
    for_rate = Allowance.objects.create(user=issuer, event=event, rate=rate, people=5)
    # Not applicable: another issuer's, another event's, another rate's, another group's.
    Allowance.objects.create(user=f.issuer(), event=event, people=5)
    Allowance.objects.create(user=issuer, event=f.EventFactory(), people=5)
    Allowance.objects.create(user=issuer, event=event, rate=f.RateFactory(event=event), people=5)
    Allowance.objects.create(
        issuer_group=IssuerGroup.objects.create(name="Others"), event=event, people=5
    )
    found = selectors.applicable_allowances(user=issuer, event=event, rate=rate, promoter=promoter)
    assert set(found) == {mine, any_event, for_group, for_promoter, for_rate}
    without_promoter = selectors.applicable_allowances(user=issuer, event=event, rate=rate)
    assert for_promoter not in set(without_promoter)


def test_left_for_lists_nothing_when_no_allowance_applies(issuer, option):
    assert selectors.left_for(user=issuer, event=option.rate.event) == []


def test_left_for_says_what_is_left_in_people_and_value(issuer, option):
    event = option.rate.event
    lines(issuer, option, [LineState.PENDING, LineState.PENDING])
    Allowance.objects.create(user=issuer, event=event, people=3, face_value=Decimal("50"))
    (usage,) = selectors.left_for(user=issuer, event=event, rate=option.rate)
    assert (usage.people_used, usage.people_left) == (2, 1)
    assert (usage.value_used, usage.value_left) == (Decimal("40.00"), Decimal("10.00"))


def test_usage_of_many_allowances_takes_one_query(issuer, option, django_assert_num_queries):
    event = option.rate.event
    lines(issuer, option, [LineState.PENDING] * 3)
    allowances = [
        Allowance.objects.create(user=issuer, event=event, people=n, period=period)
        for n, period in ((5, "event"), (6, "night"), (7, "week"))
    ]
    with django_assert_num_queries(1):
        usages = selectors.usage_for_event(allowances, event)
    assert [u.people_used for u in usages] == [3, 3, 3]


def test_the_list_shows_unscoped_allowances_for_the_coming_nights(issuer):
    monday = a_monday()
    options = [
        f.PriceOptionFactory(rate__event__night=monday + dt.timedelta(days=d)) for d in (0, 0, 1)
    ]
    for option in options:
        lines(issuer, option, [LineState.PENDING])
    Allowance.objects.create(user=issuer, period=AllowancePeriod.NIGHT, people=5)
    (row,) = [r for r in selectors.allowance_rows() if r.allowance.user_id == issuer.pk]
    assert row.holder_kind == "user"
    by_night = {u.window.first_night: u.people_used for u in row.usages}
    assert by_night[monday] == 2
    assert by_night[monday + dt.timedelta(days=1)] == 1
