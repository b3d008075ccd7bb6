"""The ticket as a one-page PDF (reportlab: pure Python wheels, no system libraries): the venue,
the event and night, doors, rate, the guest's name, and the QR of the Fourvenues `code` drawn as
vector squares, sharp at any zoom and printer.

Only what the door needs: no document number, phone, birthday or address. Written with
reportlab's built-in fonts (nothing to embed) and the QR as one path of merged runs, so a ticket
is a few kilobytes and a few milliseconds."""

from __future__ import annotations

import datetime as dt
import io

import segno
from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfgen import canvas

from tickets.models import Event, IssuedTicket

QR_ERROR_LEVEL = "m"  # survives a scratched screen or a crumpled print
QR_BORDER = 4  # the quiet zone the QR standard asks for

_MARGIN = 14 * mm
_INK = Color(0.09, 0.09, 0.11)
_MUTED = Color(0.32, 0.32, 0.36)
_RULE = Color(0.85, 0.85, 0.87)


def ticket_pdf(ticket: IssuedTicket, *, language: str) -> bytes:
    """The ticket's PDF in `language` (es or en). Deterministic for the same ticket."""
    with translation.override(language):
        buffer = io.BytesIO()
        width, height = A5
        page = canvas.Canvas(buffer, pagesize=A5, pageCompression=1, invariant=1)
        event = event_of(ticket)
        event_name = event.name if event else ""
        page.setTitle(_("Ticket for %(event)s") % {"event": event_name})
        page.setAuthor(settings.COMPS_VENUE_NAME)
        text_width = width - 2 * _MARGIN

        y = height - _MARGIN - 4 * mm
        page.setFillColor(_MUTED)
        page.setFont("Helvetica-Bold", 10)
        page.drawString(_MARGIN, y, settings.COMPS_VENUE_NAME.upper()[:70])

        page.setFillColor(_INK)
        page.setFont("Helvetica-Bold", 18)
        for line in _at_most_two_lines(simpleSplit(event_name, "Helvetica-Bold", 18, text_width)):
            y -= 8 * mm
            page.drawString(_MARGIN, y, line)

        y -= 5 * mm
        page.setStrokeColor(_RULE)
        page.setLineWidth(0.6)
        page.line(_MARGIN, y, width - _MARGIN, y)
        for label, value in details(ticket):
            y -= 6.5 * mm
            page.setFillColor(_MUTED)
            page.setFont("Helvetica", 9)
            page.drawString(_MARGIN, y, label.upper())
            page.setFillColor(_INK)
            page.setFont("Helvetica-Bold", 12)
            lines = simpleSplit(value, "Helvetica-Bold", 12, text_width - 30 * mm) or [""]
            page.drawString(_MARGIN + 30 * mm, y, lines[0])
        y -= 4 * mm
        page.line(_MARGIN, y, width - _MARGIN, y)

        # The QR fills what is left above the code and the footnote, up to 95 mm.
        bottom = 26 * mm
        size = min(95 * mm, y - 4 * mm - bottom, text_width)
        _draw_qr(page, ticket.code, x=(width - size) / 2, y=bottom, size=size)
        page.setFillColor(_INK)
        page.setFont("Courier-Bold", 13)
        page.drawCentredString(width / 2, 19 * mm, ticket.code)
        page.setFillColor(_MUTED)
        page.setFont("Helvetica", 9)
        page.drawCentredString(width / 2, 12 * mm, _("Show this code at the door."))
        page.showPage()
        page.save()
        return buffer.getvalue()


def event_of(ticket: IssuedTicket) -> Event | None:
    """The ticket's event, else its issuance's (a mirror may lack the link)."""
    if ticket.event is not None:
        return ticket.event
    line = ticket.line if ticket.line_id else None
    return line.issuance.event if line is not None else None


def details(ticket: IssuedTicket) -> list[tuple[str, str]]:
    """The lines shown under the event's name, in the active language, dates and times in the
    venue's time zone: only what the door needs, nothing personal beyond the guest's name."""
    event = event_of(ticket)
    rows = [(_("Guest"), ticket.name)]
    night = ticket.event_night or (event.night if event else None)
    if night:
        rows.append((_("Night"), night_label(night)))
    if event and event.starts_at:
        doors = timezone.localtime(event.starts_at, timezone.get_default_timezone())
        rows.append((_("Doors"), formats.time_format(doors, "TIME_FORMAT")))
    if ticket.rate_name:
        rows.append((_("Rate"), ticket.rate_name))
    if ticket.admits > 1:
        rows.append(
            (
                _("Admits"),
                ngettext("%(count)s person", "%(count)s people", ticket.admits)
                % {"count": ticket.admits},
            )
        )
    return rows


def night_label(night: dt.date) -> str:
    """The night written out with its weekday, as a guest reads it ("sábado, 14 de junio de
    2025"): the formats of the backoffice's tables are shorter."""
    # Translators: a PHP-style date format (Django's `date` filter) for the night of an event.
    return formats.date_format(night, pgettext("guest's night", "l, j F Y"))


def _at_most_two_lines(lines: list[str]) -> list[str]:
    if len(lines) <= 2:
        return lines
    return [lines[0], lines[1].rstrip() + "\u2026"]


def _draw_qr(page: canvas.Canvas, code: str, *, x: float, y: float, size: float) -> None:
    """Each row's dark runs as one rectangle each, in module units under one transform, written
    as PDF operators directly: reportlab's own path calls format every coordinate in pure Python
    and took most of a ticket's time."""
    matrix = [
        list(row) for row in segno.make(code, error=QR_ERROR_LEVEL).matrix_iter(border=QR_BORDER)
    ]
    cell = size / len(matrix)
    operators = []
    for row_index, row in enumerate(matrix):
        start = None
        for col_index, dark in enumerate([*row, False]):
            if dark and start is None:
                start = col_index
            elif not dark and start is not None:
                operators.append(f"{start} {row_index} {col_index - start} 1 re")
                start = None
    page.saveState()
    page.setFillColorRGB(0, 0, 0)
    # Module (0, 0) at the top left, rows downwards, one unit a module.
    page.transform(cell, 0, 0, -cell, x, y + size)
    page.addLiteral("\n".join(operators) + "\nf")
    page.restoreState()
