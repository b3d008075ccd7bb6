"""Reads of the staff accounts."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db.models import QuerySet


def user_list() -> QuerySet[User]:
    return User.objects.order_by("-is_active", "username").prefetch_related("groups")
