"""Template filters of our own."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def strftime(value: dt.date | dt.datetime | None, format_string: str) -> str:
    """A date, or a time in the venue's zone, formatted by `strftime` (English names, as the
    site's language). Django's `date` filter does the same through a generic formatter that cost
    the ticket search, with three dates on each of its fifty rows, more than its query."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime(format_string)
