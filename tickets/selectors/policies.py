"""Reads of the rules managers set: the venue's, and each event's (cut-off, approval, size).

A rule nobody set reads as its default, so callers never meet a missing row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.utils import timezone

from tickets.models import Event, EventPolicy, IssuerGroup, VenuePolicy

# A night out ends in the morning: an event without a doors-opening time is issuable until then.
NIGHT_ENDS_AT = dt.time(6, 0)


def venue_policy() -> VenuePolicy:
    """The venue's rules; unsaved defaults when no manager has set them."""
    return VenuePolicy.objects.filter(pk=1).first() or VenuePolicy(pk=1)


def event_policy(event: Event) -> EventPolicy:
    """The event's rules; unsaved defaults when no manager has set them."""
    return EventPolicy.objects.filter(event=event).first() or EventPolicy(event=event)


def end_of_night(event: Event) -> dt.datetime:
    """The morning after the event's night, in the venue's time zone."""
    morning = dt.datetime.combine(event.night + dt.timedelta(days=1), NIGHT_ENDS_AT)
    return timezone.make_aware(morning)


def default_cut_off(event: Event) -> dt.datetime:
    """When issuing stops unless a manager says otherwise: the doors opening, else dawn."""
    return event.starts_at or end_of_night(event)


def effective_cut_off(event: Event, policy: EventPolicy | None = None) -> dt.datetime:
    policy = policy if policy is not None else event_policy(event)
    return policy.cut_off_at or default_cut_off(event)


def is_past_cut_off(event: Event, *, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) >= effective_cut_off(event)


def approval_over_size(event: Event) -> int | None:
    """Above this many holders an issuance waits for approval; None: only allowances decide."""
    size = event_policy(event).approval_over_size
    return size if size is not None else venue_policy().approval_over_size


def approval_available(event: Event, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Whether an issuance over an allowance may wait for a manager rather than be refused: the
    event asks for approval, and no group of issuers the user is in has switched it off."""
    if not event_policy(event).approval_required:
        return False
    return not IssuerGroup.objects.filter(members=user.pk, approval_required=False).exists()


@dataclass(frozen=True)
class EventRules:
    """One coming event as the rules page lists it: what applies, and whether it was set."""

    event: Event
    policy: EventPolicy
    cut_off: dt.datetime
    default_cut_off: dt.datetime
    approval_over_size: int | None

    @property
    def cut_off_is_default(self) -> bool:
        return self.policy.cut_off_at is None


def coming_event_rules(*, environment: str | None) -> list[EventRules]:
    """The rules of every event still to come in `environment` (none without one), by night."""
    if environment is None:
        return []
    events = Event.objects.filter(
        environment=environment, is_listed=True, night__gte=timezone.localdate()
    ).order_by("night", "starts_at", "name")
    policies = {p.event_id: p for p in EventPolicy.objects.filter(event__in=events)}
    venue_size = venue_policy().approval_over_size
    rules = []
    for event in events:
        policy = policies.get(event.pk) or EventPolicy(event=event)
        size = policy.approval_over_size
        rules.append(
            EventRules(
                event=event,
                policy=policy,
                cut_off=effective_cut_off(event, policy),
                default_cut_off=default_cut_off(event),
                approval_over_size=size if size is not None else venue_size,
            )
        )
    return rules
