"""Template tags of our own."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from html import escape
from typing import Any

from django import template
from django.urls import reverse
from django.utils import formats, timezone
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


@register.filter
def money(amount: Any) -> str:
    """An amount in euros as the language writes it: "1.234,50 €" in Spanish, "1,234.50 €" in
    English; "—" when unknown."""
    if amount is None or amount == "":
        return "—"
    return (
        formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True) + "\u00a0€"
    )


_VALID = '<span class="badge text-bg-success">Valid</span>'
_STATUS_UNKNOWN = '<span class="badge text-bg-secondary">Status unknown</span>'


@register.simple_tag
def ticket_rows(rows: Iterable[Any], sees_all: bool) -> SafeString:
    """The rows of the ticket search (`selectors.search.ticket_listing`), built here: through the
    template language, fifty rows of ten cells took half the page's rendering time, and
    Django's `format_html` per row a good part of the rest. Every value is escaped by the
    standard library's `html.escape`, which is what Django's `escape` calls."""
    # One reverse() for the page, not one per row: the number stands in for each row's pk.
    url = reverse("ticket-detail", args=[_PK_STAND_IN])
    rows_html = "\n".join(_ticket_row(row, sees_all, url) for row in rows)
    return mark_safe(rows_html)  # noqa: S308 (_ticket_row escapes every value it writes)


_PK_STAND_IN = 987654321


def _ticket_row(row: Any, sees_all: bool, url: str) -> str:
    if row.is_valid:
        status = _VALID
    elif row.is_valid is None:  # Fourvenues sent no status: say so, never "Not valid"
        status = _STATUS_UNKNOWN
    else:
        status = f'<span class="badge text-bg-secondary">{escape(row.status or "Not valid")}</span>'
    checked_in = "No"
    if row.entered:
        checked_in = "Yes"
        if row.entry_date:
            checked_in += (
                f' <span class="small text-body-secondary">'
                f"{_strftime(row.entry_date, '%d %b %H:%M')}</span>"
            )
    issuer = (
        f"<td>{escape(row.issuer_full_name or row.issuer_username or '')}</td>" if sees_all else ""
    )
    return (
        "<tr>"
        f'<td><a href="{url.replace(str(_PK_STAND_IN), str(row.pk))}">'
        f'<code class="ticket-code">{escape(row.code or row.remote_id)}</code></a></td>'
        f"<td>{escape(row.name)}</td>"
        f'<td class="text-break">{escape(row.email)}</td>'
        f"<td>{escape(row.event_name or row.event_remote_id)}"
        f'<div class="small text-body-secondary">{_strftime(row.event_night, "%a %d %b %Y")}</div>'
        "</td>"
        f"<td>{escape(row.rate_name)}</td><td>{status}</td><td>{checked_in}</td>{issuer}"
        f"<td>{escape(row.reason_label or '')}</td>"
        f'<td class="text-nowrap">{_strftime(row.issued_at, "%d %b %Y %H:%M")}</td>'
        "</tr>"
    )
