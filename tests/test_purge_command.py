"""`manage.py purge_personal_data`: every event past the horizon, or one event now; a dry run
prints what would go and changes nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests import factories
from tickets.models import ApiCall, AuditEntry, IssuanceLine

pytestmark = pytest.mark.django_db


def a_line(night: dt.date) -> IssuanceLine:
    event = factories.EventFactory(night=night)
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event))
    return factories.IssuanceLineFactory(
        issuance=factories.IssuanceFactory(price_option=option),
        full_name="Olga Old",
        email="olga@example.com",
        phone="+34677889900",
        birthday=dt.date(1980, 1, 1),
        document_number="87654321X",
        document_digest="e" * 64,
    )


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("purge_personal_data", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def lines():
    factories.CredentialFactory()
    today = timezone.localdate()
    return a_line(today - dt.timedelta(days=40)), a_line(today - dt.timedelta(days=2))


def test_a_dry_run_prints_what_would_go_and_changes_nothing(lines):
    old, recent = lines

    output = run("--dry-run")

    assert f"{old.issuance.event}: would remove lines 1" in output
    assert str(recent.issuance.event) not in output
    old.refresh_from_db()
    assert old.phone == "+34677889900"
    assert not AuditEntry.objects.filter(action="personal_data.purged").exists()


def test_it_purges_the_events_past_the_horizon_only(lines):
    old, recent = lines

    output = run()

    assert f"{old.issuance.event}: removed lines 1" in output
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.phone, old.document_number, old.birthday) == ("", "", None)
    assert recent.phone == "+34677889900"
    assert "nothing (no personal data left)" not in output
    assert "No event holds personal data past the horizon." in run()  # idempotent


def test_one_event_now_once_its_night_is_over(lines):
    _old, recent = lines

    output = run("--event", str(recent.issuance.event.pk))

    assert "removed lines 1" in output
    recent.refresh_from_db()
    assert recent.phone == ""
    entry = AuditEntry.objects.get(action="personal_data.purged")
    assert entry.data["manual"] is True


def test_an_event_whose_night_is_not_over_is_refused():
    coming = factories.EventFactory(night=timezone.localdate() + dt.timedelta(days=3))
    with pytest.raises(CommandError, match="not over yet"):
        run("--event", coming.remote_id)
    with pytest.raises(CommandError, match="No single event"):
        run("--event", "no-such-event")


def test_old_call_records_are_all_looked_at_on_request():
    call = ApiCall.objects.create(
        method="GET",
        path="/tickets/abc",
        status=200,
        duration_ms=12,
        response_body={"data": {"_id": "abc", "name": "Olga Old", "phone": "+34677889900"}},
    )
    ApiCall.objects.filter(pk=call.pk).update(created_at=timezone.now() - dt.timedelta(days=100))

    assert "personal fields of 0" in run()  # long cleaned by the hourly runs, were they running
    call.refresh_from_db()
    assert call.response_body["data"]["phone"] == "+34677889900"

    assert "personal fields of 1" in run("--all-call-records")
    call.refresh_from_db()
    assert call.response_body == {"data": {"_id": "abc", "name": "Olga Old"}}
    assert (call.method, call.path, call.status, call.duration_ms) == (
        "GET",
        "/tickets/abc",
        200,
        12,
    )
