"""Reads of the staff accounts."""

from __future__ import annotations

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.utils import timezone


def user_list() -> QuerySet[User]:
    return User.objects.order_by("-is_active", "username").prefetch_related("groups")


def is_locked_out(user: User) -> bool:
    """Whether sign-ins under this name are refused now, from some address, for too many
    failures (the lockout is per name and address: tickets/client_ip.py)."""
    cutoff = timezone.now() - get_cool_off()
    return AccessAttempt.objects.filter(
        username=user.get_username(),
        failures_since_start__gte=settings.AXES_FAILURE_LIMIT,
        attempt_time__gte=cutoff,
    ).exists()
