"""Reads of the morning-after summary: which events are due one, and who receives it."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from tickets import roles
from tickets.models import Credential, Event, Issuance

# Nights older than this are never summarised by the schedule: switching the summary on (or a
# scheduler down for days) must not flood managers with the summaries of every past event.
SUMMARY_LATEST_DAYS = 3


def last_night_due(now: dt.datetime) -> dt.date:
    """The latest night whose summary is due at `now`: its morning after, from
    COMPS_SUMMARY_HOUR (venue time). At 10:59 on Sunday it is Friday's, at 11:00 Saturday's."""
    local = timezone.localtime(now)
    morning = (
        local.date()
        if local.hour >= settings.COMPS_SUMMARY_HOUR
        else local.date() - dt.timedelta(days=1)
    )
    return morning - dt.timedelta(days=1)


def summary_due_at(event: Event) -> dt.datetime:
    """When the event's summary is due: COMPS_SUMMARY_HOUR on the morning after its night."""
    morning = dt.datetime.combine(
        event.night + dt.timedelta(days=1), dt.time(settings.COMPS_SUMMARY_HOUR)
    )
    return timezone.make_aware(morning)


def events_due_for_summary(*, now: dt.datetime) -> QuerySet[Event]:
    """Events whose night is over (their summary hour has come), of the last few nights, in the
    active credentials' environments, with comps issued through Comps, whose summary nobody has
    claimed yet."""
    latest = last_night_due(now)
    return (
        Event.objects.filter(
            night__lte=latest,
            night__gt=latest - dt.timedelta(days=SUMMARY_LATEST_DAYS),
            environment__in=Credential.objects.filter(is_active=True).values("environment"),
        )
        .filter(Q(policy__isnull=True) | Q(policy__summary_sent_at__isnull=True))
        .filter(Exists(Issuance.objects.filter(event=OuterRef("pk"))))
        .order_by("night", "pk")
    )


def summary_recipients() -> list[User]:
    """Every active manager and admin with an e-mail address, their preferences with them."""
    return list(
        User.objects.filter(is_active=True, groups__name__in=[roles.MANAGER, roles.ADMIN])
        .exclude(email="")
        .select_related("preferences")
        .distinct()
        .order_by("pk")
    )
