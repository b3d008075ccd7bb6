"""Exports of the ticket search: CSV and XLSX of exactly the filtered, sorted set, streamed.

Memory stays flat however many rows: rows are read as tuples (`values_list`, never model
instances) through a database iterator in chunks, CSV is written a chunk at a time, and XLSX goes
through xlsxwriter's constant-memory mode into a temporary file that is then streamed out.

Columns come from a fixed registry (`EXPORT_COLUMNS`); nothing else can be asked for. Document
numbers are encrypted at rest and decrypting costs CPU, so the column is only selected (and
therefore only decrypted) when a user allowed to see them asks for it. Every export is written to
the audit log, with its filter, columns, format and row count, before the first byte is sent.

The CSV of one issuance's codes (`issuance_codes_csv`) is written here too, with the same guard
against CSV injection.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from functools import partial
from typing import Any

import xlsxwriter
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import (
    Case,
    DateTimeField,
    Expression,
    F,
    Func,
    Model,
    QuerySet,
    TextField,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, NullIf, Replace
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets import roles
from tickets.models import AuditEntry, Environment, Issuance, IssuedTicket
from tickets.redaction import mask_document
from tickets.selectors import issuances as issuance_selectors
from tickets.selectors import search as search_selectors
from tickets.services import audit

CHUNK_SIZE = 2000  # rows fetched per database round trip, and written per yielded CSV chunk
XLSX_READ_BYTES = 64 * 1024


class ExportError(Exception):
    """An export that cannot be made as asked; the message is fit for staff."""


# --- The column registry ------------------------------------------------------------------------


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _local_datetime(value: dt.datetime | None, zone: dt.tzinfo | None = None) -> str:
    """The venue's local time. Pass `zone` when converting many values: looking up the current
    time zone costs more than the conversion itself (5 s per million rows)."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(zone or timezone.get_current_timezone())
    return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def _date(value: dt.date | None) -> str:
    return "" if value is None else value.isoformat()


def _decimal(value: Decimal | None) -> str:
    """An amount as plain CSV writes it ("12.50"); `_decimal_comma` for Spanish Excel."""
    return "" if value is None else str(value)


def _decimal_comma(value: Decimal | None) -> str:
    return "" if value is None else str(value).replace(".", ",")


@dataclass(frozen=True)
class Column:
    key: str
    header: str | Promise  # read by people: in the language of the person exporting
    # The ORM path handed to values_list, or the name of a label `_labelled` annotates (words
    # people read, made in SQL in the exporter's language, so both CSV writers give the same).
    path: str
    to_text: Callable[[Any], str] = _text
    # Free text someone else typed (holder names, emails...): guarded against CSV injection.
    untrusted: bool = True
    # Encrypted at rest: only Python can turn it into text (so no COPY, see `csv_rows`).
    encrypted: bool = False


# The labelled columns' annotations (see `_labelled`).
STATUS_LABEL = "export_status_label"
VALID_LABEL = "export_valid_label"
ENVIRONMENT_LABEL = "export_environment_label"

EXPORT_COLUMNS: dict[str, Column] = {
    c.key: c
    for c in (
        Column("code", gettext_lazy("Ticket code"), "code"),
        Column("holder", gettext_lazy("Holder"), "name"),
        Column("email", gettext_lazy("Email"), "email"),
        Column("phone", gettext_lazy("Phone"), "phone"),
        Column("event", gettext_lazy("Event"), "event__name"),
        Column("night", gettext_lazy("Night"), "event__night", _date, untrusted=False),
        Column("rate", gettext_lazy("Rate"), "rate_name"),
        # The status as the search page says it ("Valid", "Cancelled"); Fourvenues's own word
        # for machines is the "remote_status" column.
        Column("status", gettext_lazy("Status"), STATUS_LABEL, untrusted=False),
        Column("valid", gettext_lazy("Valid"), VALID_LABEL, untrusted=False),
        Column("checked_in", gettext_lazy("Entries"), "entered", untrusted=False),
        Column("entry_date", gettext_lazy("Entered at"), "entry_date", _local_datetime, False),
        Column("price", gettext_lazy("Price"), "price", _decimal, untrusted=False),
        Column("total_paid", gettext_lazy("Total paid"), "total_paid", _decimal, untrusted=False),
        Column("issued_by", gettext_lazy("Issued by"), "line__issuance__created_by__username"),
        Column("reason", gettext_lazy("Reason"), "line__issuance__reason__label"),
        Column("issued_at", gettext_lazy("Issued at"), "issued_at", _local_datetime, False),
        Column(
            "withdrawn_at", gettext_lazy("Withdrawn at"), "withdrawn_at", _local_datetime, False
        ),
        Column(
            "face_value",
            gettext_lazy("Face value"),
            "line__issuance__price_option__price",
            _decimal,
            untrusted=False,
        ),
        Column(
            "created_at",
            gettext_lazy("Created on Fourvenues"),
            "remote_created_at",
            _local_datetime,
            False,
        ),
        Column("payment_id", gettext_lazy("Payment id"), "payment_id"),
        Column("remote_id", gettext_lazy("Fourvenues id"), "remote_id"),
        Column("remote_status", gettext_lazy("Fourvenues status"), "status"),
        Column("environment", gettext_lazy("Environment"), ENVIRONMENT_LABEL, untrusted=False),
        Column("document_type", gettext_lazy("Document type"), "line__document_type"),
        Column(
            "document_number",
            gettext_lazy("Document number"),
            "line__document_number",
            encrypted=True,
        ),
    )
}

DOCUMENT_COLUMN = "document_number"
DEFAULT_COLUMNS: tuple[str, ...] = (
    "code",
    "holder",
    "email",
    "event",
    "night",
    "rate",
    "status",
    "checked_in",
    "issued_by",
    "reason",
    "issued_at",
)

# Cells a spreadsheet would evaluate as a formula (OWASP "CSV injection").
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def _guard(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


def _guarded_text(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return f"'{text}" if text.startswith(_FORMULA_PREFIXES) else text


def _converter(column: Column) -> Callable[[Any], str]:
    if not column.untrusted:
        return column.to_text
    if column.to_text is _text:
        return _guarded_text  # the common case in one call per cell
    return lambda value: _guard(column.to_text(value))


def _resolve(columns: Sequence[str]) -> list[Column]:
    unknown = [key for key in columns if key not in EXPORT_COLUMNS]
    if unknown:
        raise ExportError(
            _("Unknown export column(s): %(unknown)s. Choose from: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(EXPORT_COLUMNS)}
        )
    if not columns:
        raise ExportError(_("Choose at least one column to export."))
    return [EXPORT_COLUMNS[key] for key in columns]


def _label_cases(labels: Iterable[tuple[Any, str]], path: str) -> list[When]:
    return [When(**{path: value}, then=Value(label)) for value, label in labels]


def _status_label() -> Expression:
    """`search_selectors.ticket_status_label` in SQL, in the current language. A status
    Fourvenues may add later is written as it comes, guarded as any text from outside."""
    raw = NullIf(F("status"), Value(""), output_field=TEXT)
    return Case(
        When(
            withdrawn_at__isnull=False,
            then=Value(str(search_selectors.STATUS_LABEL_WITHDRAWN)),
        ),
        When(is_valid=True, then=Value(str(search_selectors.STATUS_LABEL_VALID))),
        When(is_valid__isnull=True, then=Value(str(search_selectors.STATUS_LABEL_UNKNOWN))),
        *_label_cases(
            ((value, str(label)) for value, label in search_selectors.REMOTE_STATUS_LABELS.items()),
            "status",
        ),
        When(status="", then=Value(str(search_selectors.STATUS_LABEL_NOT_VALID))),
        When(
            status__regex=f"^[{_FORMULA_CLASS}]",
            then=Concat(Value("'"), raw, output_field=TEXT),
        ),
        default=raw,
        output_field=TEXT,
    )


def _valid_label() -> Expression:
    # Unknown when Fourvenues sent no status, which must not read as "No".
    return Case(
        When(is_valid=True, then=Value(_("Yes"))),
        When(is_valid=False, then=Value(_("No"))),
        default=Value(_("Unknown")),
        output_field=TEXT,
    )


def _environment_label() -> Expression:
    return Case(
        *_label_cases(((value, str(label)) for value, label in Environment.choices), "environment"),
        default=F("environment"),
        output_field=TEXT,
    )


_LABELS: dict[str, Callable[[], Expression]] = {
    STATUS_LABEL: _status_label,
    VALID_LABEL: _valid_label,
    ENVIRONMENT_LABEL: _environment_label,
}


def labelled(queryset: QuerySet[IssuedTicket], columns: Sequence[Column]) -> QuerySet[IssuedTicket]:
    """`queryset` with the words people read that `columns` need (a status, yes or no), made
    in SQL in the current language: the writers then read them as any other column, and the
    language is fixed when the export starts, not while it streams."""
    wanted = {c.path: _LABELS[c.path]() for c in columns if c.path in _LABELS}
    return queryset.annotate(**wanted) if wanted else queryset


def _rows(queryset: QuerySet[IssuedTicket], columns: Sequence[Column]) -> Iterator[tuple]:
    """Tuples through a chunked iterator (a server-side cursor on PostgreSQL): never the whole
    result, never model instances.

    Inside a transaction the cursor need not be declared WITH HOLD, which would make PostgreSQL
    copy the whole result aside before the first row (a quarter of the time at a million rows);
    it is also one consistent snapshot from the first row to the last. The transaction ends when
    the stream is consumed or closed (StreamingHttpResponse closes it, even on a disconnect).
    """
    with transaction.atomic():
        yield from queryset.values_list(*(c.path for c in columns)).iterator(chunk_size=CHUNK_SIZE)


# --- CSV ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvFlavour:
    """How a CSV is written. Plain CSV (RFC 4180: commas, decimal points) for any program; the
    one Spanish Excel opens into columns by a double click: semicolons, as its list separator
    is, and amounts with a decimal comma. Both are UTF-8 with a BOM, so Excel reads accents."""

    delimiter: str
    decimal_comma: bool

    @property
    def formula_in_csv(self) -> re.Pattern[str]:
        """A cell a spreadsheet would run starts right after a separator or a line break, behind
        the opening quote if the cell is quoted (csv always quotes a cell holding a CR, so an
        unquoted one never starts with CR). Scanning a whole written chunk for that, in C, is
        how the common case (nothing to guard) costs no Python work per cell."""
        return _formula_in_csv(self.delimiter)


def _formula_in_csv(delimiter: str) -> re.Pattern[str]:
    separator = re.escape(delimiter)
    return re.compile(rf'(?:^|{separator})(?:"[=+\-@\t\r]|[=+\-@\t])', re.MULTILINE)


PLAIN_CSV = CsvFlavour(delimiter=",", decimal_comma=False)
EXCEL_ES_CSV = CsvFlavour(delimiter=";", decimal_comma=True)


def _csv_chunk(
    writer: Any,
    buffer: io.StringIO,
    rows: list[Sequence[Any]],
    guards: list[int],
    formula: re.Pattern[str],
) -> bytes:
    buffer.seek(0)
    buffer.truncate()
    writer.writerows(rows)
    text = buffer.getvalue()
    if guards and formula.search(text):
        # Something may need the guard (or only looks like it): redo this chunk cell by cell.
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            guarded = list(row)
            for i in guards:
                guarded[i] = _guarded_text(guarded[i])
            writer.writerow(guarded)
        text = buffer.getvalue()
    return text.encode("utf-8")


def csv_rows(
    *,
    queryset: QuerySet[IssuedTicket],
    columns: Sequence[str],
    flavour: CsvFlavour = PLAIN_CSV,
) -> Iterator[bytes]:
    """The export as UTF-8 CSV: the BOM (so Excel reads accents) and the header line first, then
    the rows, yielded as encoded chunks of up to CHUNK_SIZE lines (one small buffer at a time).
    Headers and labels are in the current language, fixed now (not while the file streams).

    Speed matters at a million rows. On PostgreSQL the database writes the CSV itself (COPY,
    every cell made text in SQL) unless a column is encrypted; elsewhere the csv module writes a
    whole chunk of tuples at once, and Python touches single cells only where a value needs
    formatting (local times, decimal commas) or, rarely, guarding against CSV injection. Both
    give the same bytes.
    """
    resolved = _resolve(columns)
    queryset = labelled(queryset, resolved)
    headers = [str(c.header) for c in resolved]
    zone = timezone.get_current_timezone()
    return _csv_stream(queryset, resolved, headers, flavour, zone)


def _csv_stream(
    queryset: QuerySet[IssuedTicket],
    resolved: list[Column],
    headers: list[str],
    flavour: CsvFlavour,
    zone: dt.tzinfo,
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv_writer(buffer, flavour)
    writer.writerow([_guarded_text(header) for header in headers])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    if connection.vendor == "postgresql" and not any(c.encrypted for c in resolved):
        yield from _copied_csv(queryset, resolved, flavour=flavour, zone=str(zone))
    else:
        yield from _written_csv(queryset, resolved, writer, buffer, flavour=flavour, zone=zone)


CSV_LINE_END = "\r\n"  # RFC 4180


def csv_writer(buffer: io.StringIO, flavour: CsvFlavour = PLAIN_CSV) -> Any:
    return csv.writer(buffer, delimiter=flavour.delimiter, lineterminator=CSV_LINE_END)


def _written_csv(
    queryset: QuerySet[IssuedTicket],
    resolved: list[Column],
    writer: Any,
    buffer: io.StringIO,
    *,
    flavour: CsvFlavour = PLAIN_CSV,
    zone: dt.tzinfo | None = None,
) -> Iterator[bytes]:
    # csv writes None as "", and str() of numbers, Decimals and dates is already what we want.
    zone = zone or timezone.get_current_timezone()
    plain = {_text, _date} if flavour.decimal_comma else {_text, _date, _decimal}
    special = [
        (i, _python_text(c.to_text, flavour=flavour, zone=zone))
        for i, c in enumerate(resolved)
        if c.to_text not in plain
    ]
    guards = [i for i, c in enumerate(resolved) if c.untrusted]
    formula = flavour.formula_in_csv
    rows = _rows(queryset, resolved)
    while chunk := list(itertools.islice(rows, CHUNK_SIZE)):
        if special:
            chunk = [_formatted(row, special) for row in chunk]
        yield _csv_chunk(writer, buffer, chunk, guards, formula)


def _python_text(
    to_text: Callable[[Any], str], *, flavour: CsvFlavour, zone: dt.tzinfo
) -> Callable[[Any], str]:
    if to_text is _local_datetime:
        return partial(_local_datetime, zone=zone)
    if to_text is _decimal and flavour.decimal_comma:
        return _decimal_comma
    return to_text


def _copied_csv(
    queryset: QuerySet[IssuedTicket],
    resolved: list[Column],
    *,
    flavour: CsvFlavour = PLAIN_CSV,
    zone: str | None = None,
) -> Iterator[bytes]:
    """The rows as PostgreSQL writes them with COPY ... TO STDOUT (FORMAT csv): the search's own
    query, each column turned into the text `_written_csv` would write."""
    zone = zone or timezone.get_current_timezone_name()
    cells = {
        f"export_{i}": _sql_text(column, zone, flavour=flavour) for i, column in enumerate(resolved)
    }
    query = queryset.annotate(**cells).values_list(*cells).query
    sql, params = query.sql_with_params()
    # One transaction, as `_rows`: one snapshot, released when the stream ends or is closed.
    with transaction.atomic(), connection.cursor() as cursor:
        # The delimiter is one of our flavours' (a comma or a semicolon), never user input.
        copy_sql = f"COPY ({sql}) TO STDOUT (FORMAT csv, DELIMITER '{flavour.delimiter}')"
        with cursor.cursor.copy(copy_sql, params) as copy:
            # libpq hands COPY out one row at a time, each ending in a bare LF: regroup them into
            # chunks of CHUNK_SIZE lines ending in CRLF, as the csv module writes them.
            rows = iter(copy)
            while chunk := list(itertools.islice(rows, CHUNK_SIZE)):
                yield b"\r\n".join(row[:-1] for row in chunk) + b"\r\n"


TEXT = TextField()
# The characters of _FORMULA_PREFIXES as a regular expression class ("-" last: a literal).
_FORMULA_CLASS = "=+@\t\r-"


# What `_text`, `_date`, `_decimal` and `_local_datetime` do, in SQL (the labelled columns are
# text already, see `labelled`). An empty string becomes NULL: COPY writes NULL as nothing but
# '' as "", where the csv module writes nothing for both.
def _sql_text(column: Column, zone: str, *, flavour: CsvFlavour = PLAIN_CSV) -> Expression:
    value = F(column.path)
    if column.to_text is _local_datetime:
        local = Func(Value(zone), value, function="timezone", output_field=DateTimeField())
        return Func(local, Value("YYYY-MM-DD HH24:MI:SS"), function="to_char", output_field=TEXT)
    if column.to_text is _date:
        return Func(value, Value("YYYY-MM-DD"), function="to_char", output_field=TEXT)
    if column.to_text is _decimal and flavour.decimal_comma:
        return Replace(Cast(value, TEXT), Value("."), Value(","), output_field=TEXT)
    if column.to_text not in (_text, _decimal):
        raise ExportError(f"The {column.key} column cannot be written by the database.")
    text = NullIf(Cast(value, TEXT), Value(""), output_field=TEXT)
    if not column.untrusted:
        return text
    # The same guard as `_guarded_text`: a cell a spreadsheet would run gets a leading quote.
    return Case(
        When(
            **{f"{column.path}__regex": f"^[{_FORMULA_CLASS}]"},
            then=Concat(Value("'"), text, output_field=TEXT),
        ),
        default=text,
        output_field=TEXT,
    )


def _formatted(row: Sequence[Any], special: list[tuple[int, Callable[[Any], str]]]) -> list[Any]:
    formatted = list(row)
    for i, to_text in special:
        formatted[i] = to_text(formatted[i])
    return formatted


# --- XLSX ---------------------------------------------------------------------------------------


def _xlsx_value(value: Any) -> Any:
    """Numbers stay numbers and times become the venue's local time (Excel has no time zones)."""
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).replace(tzinfo=None) if timezone.is_aware(value) else value
    if isinstance(value, Decimal):
        return float(value)
    return value


def xlsx_stream(*, queryset: QuerySet[IssuedTicket], columns: Sequence[str]) -> Iterator[bytes]:
    """The export as an XLSX workbook, yielded in chunks.

    xlsxwriter's constant-memory mode flushes each row to a temporary file as it is written; the
    finished workbook (a zip) is then read back in small chunks. The file is removed once the
    stream is consumed or closed. Headers and labels are in the current language.
    """
    resolved = _resolve(columns)
    return _xlsx_stream(
        labelled(queryset, resolved), resolved, [str(c.header) for c in resolved], _("Tickets")
    )


def _xlsx_stream(
    queryset: QuerySet[IssuedTicket], resolved: list[Column], headers: list[str], sheet_name: str
) -> Iterator[bytes]:
    handle, path = tempfile.mkstemp(prefix="comps-export-", suffix=".xlsx")
    os.close(handle)
    try:
        _write_workbook(path, queryset, resolved, headers, sheet_name)
        with open(path, "rb") as finished:
            while chunk := finished.read(XLSX_READ_BYTES):
                yield chunk
    finally:
        os.unlink(path)


# xlsxwriter's options for every workbook we write. Constant memory: each row goes to a
# temporary file as soon as the next one starts (strings inline, no shared-strings table), so a
# million rows take the memory of one.
XLSX_OPTIONS: dict[str, bool] = {
    "constant_memory": True,
    "in_memory": False,
    # Text is text: a holder named "=cmd|..." must never become a formula or a link.
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
}


def write_xlsx(
    *,
    path: str | os.PathLike[str],
    queryset: QuerySet[IssuedTicket],
    columns: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Write the export of `queryset` as an XLSX workbook at `path` (the background exports,
    `services.export_jobs`), in constant memory; `progress` is called with the rows written so
    far every CHUNK_SIZE rows (a long build's sign of life). Returns the rows written."""
    resolved = _resolve(columns)
    return _write_workbook(
        os.fspath(path),
        labelled(queryset, resolved),
        resolved,
        [str(c.header) for c in resolved],
        _("Tickets"),
        progress=progress,
    )


def _write_workbook(
    path: str,
    queryset: QuerySet[IssuedTicket],
    resolved: list[Column],
    headers: list[str],
    sheet_name: str,
    *,
    progress: Callable[[int], None] | None = None,
) -> int:
    converters: list[Callable[[Any], Any]] = [
        _text if c.to_text is _text and c.untrusted else _xlsx_value for c in resolved
    ]
    workbook = xlsxwriter.Workbook(path, XLSX_OPTIONS)
    sheet = workbook.add_worksheet(sheet_name[:31])  # Excel's limit on a sheet's name
    bold = workbook.add_format({"bold": True})
    datetime_format = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    sheet.write_row(0, 0, headers, bold)
    sheet.freeze_panes(1, 0)
    row_number = 0
    for row_number, row in enumerate(_rows(queryset, resolved), start=1):
        for col, (convert, value) in enumerate(zip(converters, row, strict=True)):
            if value is None:
                continue
            value = convert(value)
            if isinstance(value, dt.datetime):
                sheet.write_datetime(row_number, col, value, datetime_format)
            elif isinstance(value, dt.date):
                sheet.write_datetime(row_number, col, value, date_format)
            elif isinstance(value, bool):
                sheet.write_boolean(row_number, col, value)
            elif isinstance(value, int | float):
                sheet.write_number(row_number, col, value)
            else:
                sheet.write_string(row_number, col, str(value))
        if progress is not None and row_number % CHUNK_SIZE == 0:
            progress(row_number)
    workbook.close()
    return row_number


# --- Starting an export ---------------------------------------------------------------------------

FORMATS: dict[str, tuple[str, str]] = {
    "csv": ("text/csv; charset=utf-8", "csv"),
    # Semicolons and decimal commas: what Excel in Spanish opens into columns (`EXCEL_ES_CSV`).
    "csv-es": ("text/csv; charset=utf-8", "csv"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
}
CSV_FLAVOURS: dict[str, CsvFlavour] = {"csv": PLAIN_CSV, "csv-es": EXCEL_ES_CSV}
# The names the search page gives each format, in its buttons.
FORMAT_LABELS: dict[str, Promise] = {
    "csv": gettext_lazy("CSV"),
    "csv-es": gettext_lazy("CSV (Excel, Spanish)"),
    "xlsx": gettext_lazy("Excel (XLSX)"),
}


def formats_for(language: str | None) -> list[str]:
    """The export formats in the order the search page offers them: in Spanish, the CSV that
    Spanish Excel opens first."""
    if (language or "").startswith("es"):
        return ["csv-es", "xlsx", "csv"]
    return ["csv", "xlsx", "csv-es"]


@dataclass
class Export:
    """A started export: what to send, and the audit entry already written for it."""

    stream: Iterator[bytes]
    content_type: str
    filename: str
    row_count: int
    columns: list[str]
    audit_entry: AuditEntry
    filter: dict[str, Any] = field(default_factory=dict)


def may_export_documents(user: AbstractBaseUser | AnonymousUser) -> bool:
    return user.has_perm(roles.VIEW_DOCUMENT_NUMBERS)


def audit_filter(filters: search_selectors.TicketSearchFilters) -> dict[str, str]:
    """The search's filter and sort, as JSON for the audit log: only those set, each written as
    the search's URL writes it, a document number typed in the search box masked (audit.record
    also redacts secrets)."""
    logged: dict[str, str] = {}
    for item in fields(filters):
        value = getattr(filters, item.name)
        if value is None or value == "" or value == item.default:
            continue
        logged[item.name] = _as_param(value)
    if "q" in logged and search_selectors.is_document_number(logged["q"]):
        logged["q"] = mask_document(logged["q"])
    elif "q" in logged and _looks_like_a_phone(logged["q"]):
        # The log is kept for ever; a holder's phone is not (services.purge).
        logged["q"] = "a phone number (not kept in the log)"
    if logged.pop("document_digest", None):
        # Said, not shown: the digest would link this entry to every other search for the
        # same person.
        logged["document"] = "a document number (not kept in the log)"
    return logged


def _looks_like_a_phone(term: str) -> bool:
    """Digits only, once the usual separators are gone, and enough of them for a phone."""
    bare = "".join(ch for ch in term if ch not in "+-(). ")
    return bare.isdigit() and len(bare) >= 6


def _as_param(value: object) -> str:
    if isinstance(value, Model):
        return str(value.pk)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):  # an attribution: ("none", None) or ("channel", 12)
        kind, pk = value
        return kind if pk is None else f"{kind}:{pk}"
    return str(value)


def export_filename(fmt: str, *, now: dt.datetime | None = None) -> str:
    stamp = timezone.localtime(now or timezone.now()).strftime("%Y%m%d-%H%M")
    return f"comps-tickets-{stamp}.{FORMATS[fmt][1]}"


def _chosen_columns(
    columns: Iterable[str] | None,
    *,
    include_documents: bool,
    user: AbstractBaseUser | AnonymousUser,
) -> list[str]:
    chosen = list(dict.fromkeys(c.strip() for c in (columns or ()) if c and c.strip()))
    if not chosen:
        chosen = list(DEFAULT_COLUMNS)
    asked_for_documents = include_documents or DOCUMENT_COLUMN in chosen
    if asked_for_documents and not may_export_documents(user):
        raise ExportError(_("You are not allowed to export document numbers."))
    if include_documents and DOCUMENT_COLUMN not in chosen:
        chosen += [c for c in ("document_type", DOCUMENT_COLUMN) if c not in chosen]
    _resolve(chosen)
    return chosen


def check_export(
    *,
    user: AbstractBaseUser | AnonymousUser,
    columns: Iterable[str] | None,
    fmt: str,
    include_documents: bool = False,
) -> list[str]:
    """The columns of an export made as asked (the default ones when none are); ExportError if
    the format, a column or the document numbers cannot be had."""
    if fmt not in FORMATS:
        raise ExportError(
            _("Unknown export format “%(format)s”: choose one of %(formats)s.")
            % {"format": fmt, "formats": ", ".join(FORMATS)}
        )
    return _chosen_columns(columns, include_documents=include_documents, user=user)


def start_export(
    *,
    user: AbstractBaseUser | AnonymousUser,
    filters: search_selectors.TicketSearchFilters,
    columns: Iterable[str] | None,
    fmt: str,
    include_documents: bool = False,
    request: HttpRequest | None = None,
) -> Export:
    """Check, count, audit, and hand back the stream of the tickets the search page shows `user`
    for `filters` (issuers only see their own), in the same order."""
    chosen = check_export(user=user, columns=columns, fmt=fmt, include_documents=include_documents)
    queryset = search_selectors.search_tickets(user=user, filters=filters)
    # Counted once, before streaming: the audit entry must not wait for the download to end.
    row_count = queryset.count()
    logged_filter = audit_filter(filters)
    entry = audit.record(
        action="tickets.exported",
        actor=user,
        data={
            "filter": logged_filter,
            "columns": chosen,
            "format": fmt,
            "row_count": row_count,
            "documents": DOCUMENT_COLUMN in chosen,
        },
        request=request,
    )
    if fmt in CSV_FLAVOURS:
        stream = csv_rows(queryset=queryset, columns=chosen, flavour=CSV_FLAVOURS[fmt])
    else:
        stream = xlsx_stream(queryset=queryset, columns=chosen)
    content_type, _extension = FORMATS[fmt]
    return Export(
        stream=stream,
        content_type=content_type,
        filename=export_filename(fmt),
        row_count=row_count,
        columns=chosen,
        audit_entry=entry,
        filter=logged_filter,
    )


# --- The codes of one issuance ------------------------------------------------------------------

ISSUANCE_CODES_HEADER = (
    gettext_lazy("Holder"),
    gettext_lazy("Email"),
    gettext_lazy("Ticket code"),
    gettext_lazy("Event"),
    gettext_lazy("Night"),
    gettext_lazy("Rate"),
    gettext_lazy("Status"),
)


def issuance_codes_csv(*, issuance: Issuance) -> Iterator[bytes]:
    """The confirmed codes of `issuance` for a spreadsheet, as UTF-8 CSV: the BOM (so Excel reads
    accented names) and the header first, then a line per ticket, each cell guarded against CSV
    injection. Holder documents are never exported. The header and the statuses are in the
    current language (the search's words for a status), fixed now, not while it streams."""
    header = [str(title) for title in ISSUANCE_CODES_HEADER]
    lines = [
        (
            line.full_name,
            line.email,
            line.ticket.code,
            search_selectors.ticket_status_label(
                line.ticket.is_valid,
                line.ticket.status,
                withdrawn=line.ticket.withdrawn_at is not None,
            ),
        )
        for line in issuance_selectors.confirmed_lines_of(issuance)
    ]
    return _issuance_codes_stream(issuance, header, lines)


def _issuance_codes_stream(
    issuance: Issuance, header: list[str], lines: list[tuple[str, str, str, str]]
) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=CSV_LINE_END)
    writer.writerow(header)
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    event = issuance.event
    for name, email, code, status_label in lines:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            _guarded_text(value)
            for value in (
                name,
                email,
                code,
                event.name,
                event.night.isoformat(),
                issuance.rate.name,
                status_label,
            )
        )
        yield buffer.getvalue().encode("utf-8")
