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
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

from tickets.selectors import search as search_selectors

register = template.Library()


@register.filter
def span(length: dt.timedelta | None) -> str:
    """A length of time in words of the language ("1 hour", "1 hora"), not "1:00:00"."""
    if not length:
        return ""
    start = timezone.now()
    return timesince(start, start + length)


@register.filter
def money(amount: Any) -> str:
    """An amount in euros as the language writes it: "1.234,50 €" in Spanish, "1,234.50 €" in
    English; "—" when unknown."""
    if amount is None or amount == "":
        return "—"
    return (
        formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True) + "\u00a0€"
    )


@register.simple_tag
def ticket_rows(rows: Iterable[Any], sees_all: bool) -> SafeString:
    """The rows of the ticket search (`selectors.search.ticket_listing`), built here: through the
    template language, fifty rows of ten cells took half the page's rendering time, and
    Django's `format_html` per row a good part of the rest. Every value is escaped by the
    standard library's `html.escape`, which is what Django's `escape` calls. The page's words
    are translated once for the page, not once per row (`_RowWords`)."""
    # One reverse() for the page, not one per row: the number stands in for each row's pk.
    url = reverse("ticket-detail", args=[_PK_STAND_IN])
    words = _RowWords()
    rows_html = "\n".join(_ticket_row(row, sees_all, url, words) for row in rows)
    return mark_safe(rows_html)  # noqa: S308 (_ticket_row escapes every value it writes)


_PK_STAND_IN = 987654321


class _RowWords:
    """What the rows say, in the page's language, looked up once per page: the status badges,
    yes and no, and the dates. Django's `date` filter runs a generic formatter per value, which
    cost the search, with three dates on each of its fifty rows, more than its query; here each
    distinct day is formatted by Django once (its day and month names translated) and the time
    of day is added by hand."""

    def __init__(self) -> None:
        self.valid = f'<span class="badge text-bg-success">{escape(_("Valid"))}</span>'
        self.unknown = f'<span class="badge text-bg-secondary">{escape(_("Status unknown"))}</span>'
        withdrawn = escape(search_selectors.STATUS_LABEL_WITHDRAWN)
        self.withdrawn = f'<span class="badge text-bg-dark" data-withdrawn="1">{withdrawn}</span>'
        self.yes = escape(_("Yes"))
        self.no = escape(_("No"))
        self.statuses: dict[str, str] = {}
        self.zone = timezone.get_current_timezone()
        self._days: dict[tuple[dt.date, str], str] = {}

    def status(self, is_valid: bool | None, status: str, *, withdrawn: bool = False) -> str:
        if withdrawn:  # withdrawn through Comps: said so, whatever Fourvenues calls it
            return self.withdrawn
        if is_valid:
            return self.valid
        if is_valid is None:  # Fourvenues sent no status: say so, never "Not valid"
            return self.unknown
        badge = self.statuses.get(status)
        if badge is None:
            label = escape(search_selectors.ticket_status_label(is_valid, status))
            badge = self.statuses[status] = f'<span class="badge text-bg-secondary">{label}</span>'
        return badge

    def day(self, value: dt.date | None, pattern: str) -> str:
        """`value` by Django's `pattern` (with names: "D j M Y"), once per distinct day."""
        if value is None:
            return ""
        key = (value, pattern)
        text = self._days.get(key)
        if text is None:
            text = self._days[key] = escape(formats.date_format(value, pattern))
        return text

    def moment(self, value: dt.datetime | None, pattern: str) -> str:
        """The day by `pattern`, then the time, in the venue's zone."""
        if value is None:
            return ""
        if timezone.is_aware(value):
            value = value.astimezone(self.zone)
        return f"{self.day(value.date(), pattern)} {value.hour:02d}:{value.minute:02d}"


def _ticket_row(row: Any, sees_all: bool, url: str, words: _RowWords) -> str:
    status = words.status(row.is_valid, row.status, withdrawn=row.withdrawn_at is not None)
    checked_in = words.no
    if row.entered:
        checked_in = words.yes
        if row.entry_date:
            checked_in += (
                f' <span class="small text-body-secondary">'
                f"{words.moment(row.entry_date, 'j M')}</span>"
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
        f'<div class="small text-body-secondary">{words.day(row.event_night, "D j M Y")}</div>'
        "</td>"
        f"<td>{escape(row.rate_name)}</td><td>{status}</td><td>{checked_in}</td>{issuer}"
        f"<td>{escape(row.reason_label or '')}</td>"
        f'<td class="text-nowrap">{words.moment(row.issued_at, "j M Y")}</td>'
        "</tr>"
    )
