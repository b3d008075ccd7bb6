"""Changing the venue's and the events' rules: saved, audited old -> new, and refused whole when
they make no sense or the person may not."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tests import factories
from tickets.models import AuditEntry, EventPolicy, VenuePolicy
from tickets.selectors import policies as policy_selectors
from tickets.services import policies
from tickets.services.policies import PolicyError

pytestmark = pytest.mark.django_db


def at(event, hour: int, minute: int = 0, *, days: int = 0) -> dt.datetime:
    return timezone.make_aware(
        dt.datetime.combine(event.night + dt.timedelta(days=days), dt.time(hour, minute))
    )


def test_the_venues_rules_are_saved_and_audited_old_to_new(manager):
    policies.set_venue_policy(approval_over_size=8, issuer_withdrawal_minutes=15, user=manager)

    saved = VenuePolicy.objects.get(pk=1)
    assert (saved.approval_over_size, saved.issuer_withdrawal_minutes) == (8, 15)
    (entry,) = AuditEntry.objects.filter(action="venue_policy.changed")
    assert entry.actor == manager
    assert entry.data["changes"] == {
        "approval_over_size": {"old": None, "new": 8},
        "issuer_withdrawal_minutes": {"old": 0, "new": 15},
    }


def test_saving_the_same_rules_again_writes_nothing(manager):
    policies.set_venue_policy(approval_over_size=None, issuer_withdrawal_minutes=10, user=manager)
    policies.set_venue_policy(approval_over_size=None, issuer_withdrawal_minutes=10, user=manager)

    (entry,) = AuditEntry.objects.filter(action="venue_policy.changed")
    assert entry.data["changes"] == {"issuer_withdrawal_minutes": {"old": 0, "new": 10}}


def test_an_events_rules_are_saved_and_audited_on_the_event(manager):
    event = factories.EventFactory(starts_at=None)
    cut_off = at(event, 22, 30)

    policies.set_event_policy(
        event=event,
        cut_off_at=cut_off,
        approval_required=False,
        approval_over_size=5,
        user=manager,
    )

    policy = EventPolicy.objects.get(event=event)
    assert (policy.cut_off_at, policy.approval_required, policy.approval_over_size) == (
        cut_off,
        False,
        5,
    )
    assert policy_selectors.effective_cut_off(event) == cut_off
    (entry,) = AuditEntry.objects.filter(action="event_policy.changed")
    assert entry.target == f"event:{event.pk}"
    assert entry.data["changes"] == {
        "cut_off_at": {"old": None, "new": cut_off.isoformat()},
        "approval_required": {"old": True, "new": False},
        "approval_over_size": {"old": None, "new": 5},
    }


def test_a_cut_off_at_the_doors_opening_is_kept_as_the_default(manager):
    event = factories.EventFactory()
    event.starts_at = at(event, 23)
    event.save()

    policies.set_event_policy(
        event=event,
        cut_off_at=at(event, 23),
        approval_required=True,
        approval_over_size=None,
        user=manager,
    )

    # Nothing differs from the default: no row, no entry; a later change of doors is followed.
    assert not EventPolicy.objects.filter(event=event).exists()
    assert not AuditEntry.objects.filter(action="event_policy.changed").exists()


def test_a_cut_off_after_the_night_is_over_is_refused(manager):
    event = factories.EventFactory()

    with pytest.raises(PolicyError, match="no later than the end of the event"):
        policies.set_event_policy(
            event=event,
            cut_off_at=at(event, 12, days=1),
            approval_required=True,
            approval_over_size=None,
            user=manager,
        )

    assert not EventPolicy.objects.filter(event=event).exists()


def test_an_approval_size_below_one_is_refused(manager):
    with pytest.raises(PolicyError, match="one holder or more"):
        policies.set_venue_policy(approval_over_size=0, issuer_withdrawal_minutes=0, user=manager)
    assert not VenuePolicy.objects.exists()


def test_only_managers_change_the_rules(issuer):
    event = factories.EventFactory()
    with pytest.raises(PolicyError, match="may not"):
        policies.set_venue_policy(approval_over_size=3, issuer_withdrawal_minutes=0, user=issuer)
    with pytest.raises(PolicyError, match="may not"):
        policies.set_event_policy(
            event=event,
            cut_off_at=None,
            approval_required=False,
            approval_over_size=None,
            user=issuer,
        )
    assert not VenuePolicy.objects.exists()
    assert not EventPolicy.objects.exists()


def test_the_coming_events_show_their_effective_rules(manager):
    policies.set_venue_policy(approval_over_size=10, issuer_withdrawal_minutes=0, user=manager)
    plain = factories.EventFactory(name="Plain", starts_at=None)
    ruled = factories.EventFactory(name="Ruled", night=plain.night + dt.timedelta(days=1))
    factories.EventFactory(name="Gone", night=timezone.localdate() - dt.timedelta(days=1))
    policies.set_event_policy(
        event=ruled,
        cut_off_at=at(ruled, 21),
        approval_required=False,
        approval_over_size=4,
        user=manager,
    )

    rows = policy_selectors.coming_event_rules(environment="alpha")

    assert [row.event.name for row in rows] == ["Plain", "Ruled"]
    plain_rules, ruled_rules = rows
    assert plain_rules.cut_off_is_default
    assert plain_rules.cut_off == policy_selectors.end_of_night(plain)
    assert plain_rules.approval_over_size == 10  # the venue's
    assert plain_rules.policy.approval_required
    assert not ruled_rules.cut_off_is_default
    assert ruled_rules.cut_off == at(ruled, 21)
    assert ruled_rules.approval_over_size == 4
    assert not ruled_rules.policy.approval_required
    assert policy_selectors.coming_event_rules(environment=None) == []
