"""Template tags of our own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _strftime(value: dt.date | dt.datetime | None, format_string: str) -> str:
    """A date, or a time in the venue's zone, formatted by `strftime` (English names, as the
    site's language). Django's `date` filter does the same through a generic formatter that cost
    the ticket search, with three dates on each of its fifty rows, more than its query."""
    if value is None or value == "":
        return ""
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime(format_string)


_VALID = mark_safe('<span class="badge text-bg-success">Valid</span>')


@register.simple_tag
def ticket_rows(rows: Iterable[Any], sees_all: bool) -> SafeString:
    """The rows of the ticket search (`selectors.ticket_listing`), built here: through the
    template language, fifty rows of ten cells took half the page's rendering time."""
    # One reverse() for the page, not one per row: the number stands in for each row's pk.
    url = reverse("ticket-detail", args=[_PK_STAND_IN])
    return format_html_join("\n", "{}", ((_ticket_row(row, sees_all, url),) for row in rows))


_PK_STAND_IN = 987654321


def _ticket_row(row: Any, sees_all: bool, url: str) -> SafeString:
    status = (
        _VALID
        if row.is_valid
        else format_html(
            '<span class="badge text-bg-secondary">{}</span>', row.status or "Not valid"
        )
    )
    checked_in = "No"
    if row.entered:
        checked_in = (
            format_html(
                'Yes <span class="small text-body-secondary">{}</span>',
                _strftime(row.entry_date, "%d %b %H:%M"),
            )
            if row.entry_date
            else "Yes"
        )
    issuer = (
        format_html("<td>{}</td>", row.issuer_full_name or row.issuer_username or "")
        if sees_all
        else ""
    )
    return format_html(
        "<tr>"
        '<td><a href="{}"><code class="ticket-code">{}</code></a></td>'
        "<td>{}</td>"
        '<td class="text-break">{}</td>'
        '<td>{}<div class="small text-body-secondary">{}</div></td>'
        "<td>{}</td><td>{}</td><td>{}</td>{}<td>{}</td>"
        '<td class="text-nowrap">{}</td>'
        "</tr>",
        url.replace(str(_PK_STAND_IN), str(row.pk)),
        row.code or row.remote_id,
        row.name,
        row.email,
        row.event_name or row.event_remote_id,
        _strftime(row.event_night, "%a %d %b %Y"),
        row.rate_name,
        status,
        checked_in,
        issuer,
        row.reason_label or "",
        _strftime(row.issued_at, "%d %b %Y %H:%M"),
    )
