"""The door list as files: CSV (streamed, UTF-8 with a BOM so Excel reads accents, every cell
guarded against CSV injection, as the search's exports are) and PDF (reportlab: A4, one table
across as many pages as it takes, its header repeated on each).

Only what the door needs: the holder's name and code, rate, people admitted, issuer, reason and
whether they came in; never an email, phone, document, birthday or address.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils import formats, timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from tickets.selectors.door import DoorEntry, DoorList
from tickets.services.exports import (
    EXCEL_ES_CSV,
    PLAIN_CSV,
    CsvFlavour,
    _guarded_text,
    csv_writer,
)

CSV_FORMATS: dict[str, CsvFlavour] = {"csv": PLAIN_CSV, "csv-es": EXCEL_ES_CSV}
CSV_CHUNK = 500  # rows written per yielded chunk


def csv_format_for(language: str | None) -> str:
    """The CSV a person's Excel opens into columns: semicolons for Spanish."""
    return "csv-es" if (language or "").startswith("es") else "csv"


def door_filename(door: DoorList, extension: str) -> str:
    event = door.event
    slug = slugify(event.slug or event.name) or "event"
    return f"door-list-{slug}-{event.night.isoformat()}.{extension}"


def _local(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return timezone.localtime(value).replace(tzinfo=None).isoformat(sep=" ", timespec="minutes")


def _admission(entry: DoorEntry) -> str:
    """What the door does with the ticket, in words: nothing for an admissible one."""
    if entry.withdrawn_at is not None:
        return _("Withdrawn — do not admit")
    if not entry.admissible:
        return _("%(status)s — do not admit") % {"status": entry.status_label}
    return ""


def _issuer(entry: DoorEntry) -> str:
    return _("Adopted (no issuance)") if entry.adopted else entry.issuer


def csv_header() -> list[str]:
    return [
        _("Holder"),
        _("Ticket code"),
        _("Rate"),
        _("Admits"),
        _("Entered"),
        _("Entered at"),
        _("Issued by"),
        _("Reason"),
        _("Do not admit"),
    ]


def _csv_row(entry: DoorEntry) -> list[str]:
    return [
        entry.name,
        entry.code,
        entry.rate,
        str(entry.admits),
        str(entry.entered),
        _local(entry.entry_date),
        _issuer(entry),
        entry.reason,
        _admission(entry),
    ]


def door_list_csv(door: DoorList, *, fmt: str = "csv") -> Iterator[bytes]:
    """The door list as CSV: the admissible tickets alphabetically, then the withdrawn and
    invalid ones, each saying "do not admit". The words are in the current language, fixed now
    (not while the file streams)."""
    flavour = CSV_FORMATS[fmt]
    header = csv_header()
    rows = [_csv_row(e) for e in [*door.entries, *door.not_admissible]]
    return _csv_stream(header, rows, flavour)


def _csv_stream(header: list[str], rows: list[list[str]], flavour: CsvFlavour) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv_writer(buffer, flavour)
    writer.writerow([_guarded_text(cell) for cell in header])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    for start in range(0, len(rows), CSV_CHUNK):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(
            [_guarded_text(cell) for cell in row] for row in rows[start : start + CSV_CHUNK]
        )
        yield buffer.getvalue().encode("utf-8")


# --- PDF ----------------------------------------------------------------------------------------

_MARGIN = 12 * mm
_GREY = colors.Color(0.32, 0.32, 0.36)
_RULE = colors.Color(0.8, 0.8, 0.82)
_STRUCK = colors.Color(0.45, 0.45, 0.48)


def _styles() -> dict[str, ParagraphStyle]:
    return {
        "title": ParagraphStyle("title", fontName="Helvetica-Bold", fontSize=15, leading=18),
        "meta": ParagraphStyle(
            "meta", fontName="Helvetica", fontSize=9, leading=12, textColor=_GREY
        ),
        "cell": ParagraphStyle("cell", fontName="Helvetica", fontSize=8.5, leading=10),
        "head": ParagraphStyle("head", fontName="Helvetica-Bold", fontSize=8.5, leading=10),
        "struck": ParagraphStyle(
            "struck", fontName="Helvetica", fontSize=8.5, leading=10, textColor=_STRUCK
        ),
        "section": ParagraphStyle(
            "section", fontName="Helvetica-Bold", fontSize=11, leading=14, spaceBefore=8
        ),
    }


def _p(text: str, style: ParagraphStyle, *, strike: bool = False) -> Paragraph:
    body = escape(text)
    return Paragraph(f"<strike>{body}</strike>" if strike else body, style)


def _came(entry: DoorEntry) -> str:
    if not entry.entered:
        return ""
    when = (
        formats.time_format(timezone.localtime(entry.entry_date), "TIME_FORMAT")
        if entry.entry_date
        else ""
    )
    came = f"{entry.entered}/{entry.admits}"
    return f"{came} · {when}" if when else came


def _table(entries: list[DoorEntry], styles: dict[str, ParagraphStyle], *, struck: bool) -> Table:
    head = [
        _p(t, styles["head"])
        for t in (
            _("Holder"),
            _("Code"),
            _("Rate"),
            pgettext("people a ticket admits", "Admits"),
            _("Issued by"),
            _("Reason"),
            _("Came in"),
        )
    ]
    style = styles["struck"] if struck else styles["cell"]
    body = [
        [
            _p(e.name, style, strike=struck),
            _p(e.code, style, strike=struck),
            _p(e.rate, style, strike=struck),
            _p(str(e.admits), style, strike=struck),
            _p(_issuer(e), style),
            _p(e.reason, style),
            _p(_admission(e) if struck else _came(e), style),
        ]
        for e in entries
    ]
    width = A4[0] - 2 * _MARGIN
    fractions = (0.24, 0.13, 0.13, 0.07, 0.15, 0.12, 0.16)
    table = Table(
        [head, *body], colWidths=[f * width for f in fractions], repeatRows=1, hAlign="LEFT"
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.8, colors.black),
                ("LINEBELOW", (0, 1), (-1, -1), 0.3, _RULE),
                ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                ("LEFTPADDING", (0, 0), (-1, -1), 2),
                ("RIGHTPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def reconciled_sentence(door: DoorList) -> str:
    if door.reconciled_at is None:
        return _("Never reconciled with Fourvenues: check-ins are not known yet.")
    when = formats.date_format(timezone.localtime(door.reconciled_at), "DATETIME_FORMAT")
    return _("As reconciled with Fourvenues at %(when)s.") % {"when": when}


def totals_sentence(door: DoorList) -> str:
    return _("%(tickets)s tickets · %(people)s people admitted · %(people_in)s in") % {
        "tickets": formats.localize(door.tickets, use_l10n=True),
        "people": formats.localize(door.people, use_l10n=True),
        "people_in": formats.localize(door.people_in, use_l10n=True),
    }


def door_list_pdf(door: DoorList, *, language: str) -> bytes:
    """The door list on A4 in `language`: title, when it was reconciled, the totals, the table
    (its header on every page, page numbers at the foot), then the tickets not to admit."""
    with translation.override(language):
        styles = _styles()
        event = door.event
        night = formats.date_format(event.night, "DATE_FORMAT")
        title = _("Door list · %(event)s · %(night)s") % {"event": event.name, "night": night}
        buffer = io.BytesIO()
        page_label = _("Page %(page)s")
        printed = _("Printed %(when)s") % {
            "when": formats.date_format(timezone.localtime(), "DATETIME_FORMAT")
        }

        def footer(canvas: Canvas, document: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont("Helvetica", 7.5)
            canvas.setFillColor(_GREY)
            canvas.drawString(_MARGIN, 7 * mm, f"{settings.COMPS_VENUE_NAME} · {printed}")
            canvas.drawRightString(A4[0] - _MARGIN, 7 * mm, page_label % {"page": document.page})
            canvas.restoreState()

        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=_MARGIN,
            rightMargin=_MARGIN,
            topMargin=_MARGIN,
            bottomMargin=14 * mm,
            title=title,
            author=settings.COMPS_VENUE_NAME,
            invariant=1,
        )
        story = [
            _p(title, styles["title"]),
            Spacer(1, 2 * mm),
            _p(reconciled_sentence(door), styles["meta"]),
            _p(totals_sentence(door), styles["meta"]),
            Spacer(1, 4 * mm),
        ]
        if door.entries:
            story.append(_table(door.entries, styles, struck=False))
        else:
            story.append(_p(_("No comps for this event."), styles["cell"]))
        if door.not_admissible:
            story.append(_p(_("Do not admit"), styles["section"]))
            story.append(_table(door.not_admissible, styles, struck=True))
        document.build(story, onFirstPage=footer, onLaterPages=footer)
        return buffer.getvalue()
