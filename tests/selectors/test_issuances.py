"""Issuance selectors not covered by a page's own tests: earlier comps of a holder."""

import datetime as dt

import pytest
from django.utils import timezone

from tests import factories as f
from tickets.models import LineState
from tickets.selectors import issuances as issuance_selectors

pytestmark = pytest.mark.django_db


def comp(event_option, email, *, state=LineState.CONFIRMED, at=None, by=None):
    issuance = f.IssuanceFactory(price_option=event_option, **({"created_by": by} if by else {}))
    if at is not None:
        issuance.created_at = at
        issuance.save(update_fields=["created_at"])
    return f.IssuanceLineFactory(issuance=issuance, email=email, state=state)


def test_earlier_comps_counts_each_holders_comps_for_the_event_and_names_the_latest():
    option = f.PriceOptionFactory()
    now = timezone.now()
    comp(option, "ana@example.com", at=now - dt.timedelta(days=2))
    ivy = f.issuer(username="ivy", first_name="Ivy", last_name="Issuer")
    comp(option, "ana@example.com", at=now - dt.timedelta(hours=1), by=ivy)
    nameless = f.issuer(username="max", first_name="", last_name="")
    # Still being checked with Fourvenues: it may be a ticket, so it counts.
    comp(option, "bo@example.com", state=LineState.UNKNOWN, at=now, by=nameless)

    found = issuance_selectors.earlier_comps(
        event=option.rate.event, emails=["bo@example.com", "cy@example.com", "ana@example.com"]
    )

    assert found == [
        issuance_selectors.EarlierComps(
            email="bo@example.com", count=1, latest_at=now, latest_by="max"
        ),
        issuance_selectors.EarlierComps(
            email="ana@example.com",
            count=2,
            latest_at=now - dt.timedelta(hours=1),
            latest_by="Ivy Issuer",
        ),
    ]


def test_earlier_comps_ignores_failed_and_rejected_lines_and_other_events():
    option = f.PriceOptionFactory()
    comp(option, "ana@example.com", state=LineState.FAILED)
    comp(option, "ana@example.com", state=LineState.REJECTED)
    comp(f.PriceOptionFactory(), "ana@example.com")  # another event

    assert (
        issuance_selectors.earlier_comps(event=option.rate.event, emails=["ana@example.com"]) == []
    )
