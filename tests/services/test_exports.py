"""Exports of the ticket search: the columns, the order, the BOM, the injection guard, XLSX, the
document numbers rule and the audit entry."""

import csv
import datetime as dt
import io
import itertools
import types
import zipfile

import pytest
from django.contrib.auth.models import Permission
from django.utils import translation

from tests import factories as f
from tickets.models import AuditEntry, IssuedTicket, LineState
from tickets.selectors.search import TicketSearchFilters
from tickets.services import exports
from tickets.text import document_digest

pytestmark = pytest.mark.django_db

_ids = itertools.count(1)


def ticket(issuance=None, **kwargs):
    """A mirrored ticket; with an issuance, linked to a confirmed line of it."""
    n = next(_ids)
    line = None
    if issuance is not None:
        line = f.IssuanceLineFactory(
            issuance=issuance,
            state=LineState.CONFIRMED,
            document_type=kwargs.pop("document_type", ""),
            document_number=kwargs.get("document_number", ""),
            document_digest=document_digest(kwargs.pop("document_number"))
            if kwargs.get("document_number")
            else "",
        )
    values = {
        "environment": "alpha",
        "remote_id": f"remote-{n}",
        "code": f"CODE{n:04d}",
        "name": f"Holder {n}",
        "email": f"holder{n}@example.com",
        "status": "activated",
        "remote_created_at": dt.datetime(2026, 5, 1, 20, 0, tzinfo=dt.UTC) + dt.timedelta(hours=n),
        "event": issuance.event if issuance is not None else None,
        "line": line,
    }
    values.update(kwargs)
    return IssuedTicket.objects.create(**values)


def read_csv(chunks):
    data = b"".join(chunks)
    assert data.startswith("\ufeff".encode())
    return list(csv.reader(io.StringIO(data.decode("utf-8").removeprefix("\ufeff"))))


def grant_documents(user):
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="tickets", codename="view_document_numbers")
    )
    return type(user).objects.get(pk=user.pk)  # a fresh instance: permissions are cached


def test_csv_has_the_chosen_columns_in_the_querysets_order():
    issuance = f.IssuanceFactory()
    made = [ticket(issuance) for _ in range(5)]
    queryset = IssuedTicket.objects.order_by("-code")

    rows = read_csv(exports.csv_rows(queryset=queryset, columns=["code", "holder", "issued_by"]))

    assert rows[0] == ["Ticket code", "Holder", "Issued by"]
    expected = sorted(made, key=lambda t: t.code, reverse=True)
    assert rows[1:] == [[t.code, t.name, issuance.created_by.username] for t in expected]


def test_csv_starts_with_a_bom_and_handles_tickets_without_a_line():
    ticket(name="José Müller")
    data = b"".join(
        exports.csv_rows(
            queryset=IssuedTicket.objects.all(), columns=["holder", "event", "issued_at"]
        )
    )
    assert data.startswith(b"\xef\xbb\xbf")
    assert read_csv([data])[1] == ["José Müller", "", ""]


def test_csv_guards_cells_a_spreadsheet_would_run_as_formulas():
    for name in ('=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain"):
        ticket(name=name)
    rows = read_csv(
        exports.csv_rows(queryset=IssuedTicket.objects.order_by("id"), columns=["holder"])
    )
    assert [r[0] for r in rows[1:]] == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "plain",
    ]


def test_csv_streams_in_chunks_and_never_loads_the_whole_set(monkeypatch):
    monkeypatch.setattr(exports, "CHUNK_SIZE", 3)
    for _ in range(7):
        ticket()
    stream = exports.csv_rows(queryset=IssuedTicket.objects.all(), columns=["code"])
    assert isinstance(stream, types.GeneratorType)
    chunks = list(stream)
    # header, then 3 + 3 + 1 rows
    assert [c.count(b"\r\n") for c in chunks] == [1, 3, 3, 1]


def test_unknown_columns_are_refused():
    with pytest.raises(exports.ExportError, match="Unknown export column"):
        list(exports.csv_rows(queryset=IssuedTicket.objects.all(), columns=["code", "password"]))


def test_xlsx_is_a_valid_workbook_with_the_values():
    issuance = f.IssuanceFactory()
    ticket(issuance, name="=cmd|' /C calc'!A0", entered=2)
    ticket(issuance, name="Ana")
    data = b"".join(
        exports.xlsx_stream(
            queryset=IssuedTicket.objects.order_by("id"),
            columns=["code", "holder", "checked_in", "night", "issued_at", "face_value"],
        )
    )
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert archive.testzip() is None
    assert "xl/workbook.xml" in archive.namelist()
    sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "Ticket code" in sheet
    assert "Ana" in sheet
    assert "=cmd|" in sheet  # stored as text...
    assert "<f>" not in sheet  # ...never as a formula
    assert "<v>2</v>" in sheet  # numbers stay numbers


def test_xlsx_leaves_no_temporary_file(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    ticket()
    list(exports.xlsx_stream(queryset=IssuedTicket.objects.all(), columns=["code"]))
    stream = exports.xlsx_stream(queryset=IssuedTicket.objects.all(), columns=["code"])
    next(stream)
    stream.close()  # a download cut short
    assert list(tmp_path.iterdir()) == []


def test_export_of_a_manager_has_every_ticket_in_the_search_order_and_is_audited():
    manager = f.manager()
    issuance = f.IssuanceFactory()
    made = [ticket(issuance, rate_name="VIP") for _ in range(3)]
    ticket(issuance, rate_name="Guest list")

    export = exports.start_export(
        user=manager,
        filters=TicketSearchFilters(rate="VIP", sort="code"),
        columns=["code", "rate"],
        fmt="csv",
    )

    assert export.row_count == 3
    assert export.filename.startswith("comps-tickets-")
    assert export.filename.endswith(".csv")
    rows = read_csv(export.stream)
    assert rows[1:] == [[t.code, "VIP"] for t in made]
    entry = AuditEntry.objects.get(action="tickets.exported")
    assert entry.actor == manager
    assert entry.data == {
        "filter": {"rate": "VIP", "sort": "code"},
        "columns": ["code", "rate"],
        "format": "csv",
        "row_count": 3,
        "documents": False,
    }


def test_the_audit_entry_is_written_before_the_stream_is_read():
    ticket(f.IssuanceFactory())
    export = exports.start_export(
        user=f.manager(), filters=TicketSearchFilters(), columns=None, fmt="xlsx"
    )
    assert AuditEntry.objects.filter(action="tickets.exported").count() == 1
    assert export.columns == list(exports.DEFAULT_COLUMNS)
    assert "document_number" not in export.columns


def test_an_issuer_exports_only_tickets_of_their_own_issuances():
    issuer = f.issuer()
    mine = ticket(f.IssuanceFactory(created_by=issuer))
    ticket(f.IssuanceFactory())
    ticket()  # mirrored without a line (reconciliation): not the issuer's
    export = exports.start_export(
        user=issuer, filters=TicketSearchFilters(), columns=["code"], fmt="csv"
    )
    assert export.row_count == 1
    assert read_csv(export.stream)[1:] == [[mine.code]]


def test_document_numbers_need_the_permission():
    ticket(f.IssuanceFactory(), document_type="dni", document_number="12345678Z")
    for user in (f.issuer(), f.UserFactory()):
        for kwargs in ({"include_documents": True}, {"columns": ["code", "document_number"]}):
            kwargs.setdefault("columns", None)
            with pytest.raises(exports.ExportError, match="document numbers"):
                exports.start_export(user=user, filters=TicketSearchFilters(), fmt="csv", **kwargs)
    assert not AuditEntry.objects.filter(action="tickets.exported").exists()


def test_document_numbers_are_exported_decrypted_when_allowed():
    issuance = f.IssuanceFactory()
    ticket(issuance, document_type="dni", document_number="12345678Z")
    manager = grant_documents(f.UserFactory())
    manager.user_permissions.add(
        Permission.objects.get(content_type__app_label="tickets", codename="view_all_issuances")
    )
    manager = type(manager).objects.get(pk=manager.pk)

    export = exports.start_export(
        user=manager,
        filters=TicketSearchFilters(),
        columns=["code"],
        fmt="csv",
        include_documents=True,
    )

    assert export.columns == ["code", "document_type", "document_number"]
    assert read_csv(export.stream)[1][1:] == ["dni", "12345678Z"]
    assert AuditEntry.objects.get(action="tickets.exported").data["documents"] is True


def test_a_document_number_typed_in_the_search_box_is_masked_in_the_audit_log():
    ticket(f.IssuanceFactory(), document_type="dni", document_number="12345678Z")
    exports.start_export(
        user=f.manager(), filters=TicketSearchFilters(q="12345678Z"), columns=["code"], fmt="csv"
    )
    entry = AuditEntry.objects.get(action="tickets.exported")
    assert "12345678Z" not in str(entry.data)
    assert entry.data["filter"]["q"].endswith("78Z")
    assert entry.data["row_count"] == 1


def test_a_bad_format_is_an_export_error():
    # A bad filter never reaches the service: the view validates the search form (see
    # tests/views/test_exports.py).
    with pytest.raises(exports.ExportError, match="format"):
        exports.start_export(
            user=f.manager(), filters=TicketSearchFilters(), columns=None, fmt="pdf"
        )


def test_the_audit_log_keeps_the_filters_set_as_the_search_url_writes_them():
    issuance = f.IssuanceFactory()
    channel = f.ChannelFactory()
    filters = TicketSearchFilters(
        event=issuance.event,
        issued_by=issuance.created_by,
        attribution=("channel", channel.pk),
        night_from=dt.date(2026, 3, 1),
    )
    assert exports.audit_filter(filters) == {
        "event": str(issuance.event.pk),
        "issued_by": str(issuance.created_by.pk),
        "attribution": f"channel:{channel.pk}",
        "night_from": "2026-03-01",
    }
    assert exports.audit_filter(TicketSearchFilters(attribution=("none", None))) == {
        "attribution": "none"
    }
    assert exports.audit_filter(TicketSearchFilters(sort="-issued")) == {}


def test_the_codes_of_an_issuance_are_its_confirmed_tickets_guarded_with_a_bom():
    issuance = f.IssuanceFactory()
    ticket(issuance, code="OK0001", status="activated")
    f.IssuanceLineFactory(issuance=issuance, state=LineState.FAILED)
    line = f.IssuanceLineFactory(issuance=issuance, state=LineState.CONFIRMED, full_name="=1+1")
    IssuedTicket.objects.create(
        environment="alpha", remote_id="r-guard", code="-GUARD", line=line, event=issuance.event
    )

    rows = read_csv(exports.issuance_codes_csv(issuance=issuance))

    assert rows[0] == ["Holder", "Email", "Ticket code", "Event", "Night", "Rate", "Status"]
    assert [row[2] for row in rows[1:]] == ["OK0001", "'-GUARD"]
    assert rows[1][6] == "Valid"  # the search's word, not Fourvenues's "activated"
    assert rows[2][0] == "'=1+1"
    assert rows[1][3:6] == [
        issuance.event.name,
        issuance.event.night.isoformat(),
        issuance.rate.name,
    ]


def test_the_guard_sees_formulas_in_quoted_cells_and_leaves_safe_cells_alone():
    for name in ("=1,2", "a,=b", '"=x"', "\r\nline", "x"):
        ticket(name=name)
    rows = read_csv(
        exports.csv_rows(
            queryset=IssuedTicket.objects.order_by("id"), columns=["holder", "issued_at"]
        )
    )
    assert [r[0] for r in rows[1:]] == ["'=1,2", "a,=b", '"=x"', "'\r\nline", "x"]


def test_csv_times_are_the_venues_local_time(settings):
    settings.TIME_ZONE = "Europe/Madrid"
    ticket(f.IssuanceFactory(), entry_date=dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC))
    rows = read_csv(exports.csv_rows(queryset=IssuedTicket.objects.all(), columns=["entry_date"]))
    assert rows[1] == ["2026-07-02 00:30:00"]


def _tricky_tickets() -> None:
    """Every kind of cell: formulas, quotes, separators, line breaks, accents, empty and NULL
    values, times across a daylight-saving change, decimals, both booleans, no issuance."""
    issuance = f.IssuanceFactory()
    names = ["=1+1", "+34", "-x", "@SUM", "\tx", "\rx", 'say "hi", ok', "two\nlines", "Éloïse"]
    for i, name in enumerate(names):
        ticket(
            issuance if i % 2 else None,
            name=name,
            email="" if i == 3 else f"p{i}@example.com",
            phone="" if i % 3 else "+34600000000",
            is_valid=bool(i % 2),
            entered=i % 3,
            entry_date=dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC) + dt.timedelta(hours=i)
            if i % 3
            else None,
            price="12.50",
            total_paid=0,
        )


def test_on_postgresql_the_database_writes_the_same_csv_as_python(settings):
    if exports.connection.vendor != "postgresql":
        pytest.skip("COPY is the postgresql way; elsewhere Python writes every export")
    settings.TIME_ZONE = "Europe/Madrid"
    _tricky_tickets()
    columns = [key for key, column in exports.EXPORT_COLUMNS.items() if not column.encrypted]
    resolved = [exports.EXPORT_COLUMNS[key] for key in columns]
    queryset = exports.labelled(IssuedTicket.objects.order_by("id"), resolved)
    for flavour in (exports.PLAIN_CSV, exports.EXCEL_ES_CSV):
        buffer = io.StringIO()
        writer = exports.csv_writer(buffer, flavour)

        by_python = b"".join(
            exports._written_csv(queryset, resolved, writer, buffer, flavour=flavour)
        )
        by_database = b"".join(exports._copied_csv(queryset, resolved, flavour=flavour))

        assert by_database == by_python
        assert by_database.count(b"\r\n") >= 9


def test_on_postgresql_exports_are_written_by_the_database_unless_documents_are_asked(
    monkeypatch,
):
    if exports.connection.vendor != "postgresql":
        pytest.skip("COPY is the postgresql way; elsewhere Python writes every export")
    _tricky_tickets()
    queryset = IssuedTicket.objects.order_by("id")
    python_rows = exports._written_csv

    def refuse(*args, **kwargs):
        raise AssertionError("Python wrote an export the database could write")

    monkeypatch.setattr(exports, "_written_csv", refuse)
    rows = read_csv(exports.csv_rows(queryset=queryset, columns=list(exports.DEFAULT_COLUMNS)))
    assert len(rows) == 10
    assert rows[1][1] == "'=1+1"

    # An encrypted column only Python can read: the export falls back to it.
    monkeypatch.setattr(exports, "_written_csv", python_rows)
    rows = read_csv(exports.csv_rows(queryset=queryset, columns=["code", "document_number"]))
    assert len(rows) == 10


def test_checking_an_export_gives_its_columns_or_says_why_not():
    manager = f.manager()
    assert exports.check_export(user=manager, columns=None, fmt="csv") == list(
        exports.DEFAULT_COLUMNS
    )
    assert exports.check_export(
        user=manager, columns=["code"], fmt="xlsx", include_documents=True
    ) == ["code", "document_type", "document_number"]
    with pytest.raises(exports.ExportError, match="document numbers"):
        exports.check_export(user=f.issuer(), columns=["document_number"], fmt="csv")


# --- People's words, in their language; the CSV Spanish Excel opens -----------------------------


def test_a_status_is_exported_in_the_words_of_the_screen_with_fourvenues_word_beside_it():
    ticket(code="V1", is_valid=True, status="activated")
    ticket(code="C1", is_valid=False, status="cancelled")
    ticket(code="U1", is_valid=None, status="")
    ticket(code="N1", is_valid=False, status="")

    rows = read_csv(
        exports.csv_rows(
            queryset=IssuedTicket.objects.order_by("id"),
            columns=["code", "status", "valid", "remote_status", "environment"],
        )
    )

    assert rows[0] == ["Ticket code", "Status", "Valid", "Fourvenues status", "Environment"]
    assert rows[1:] == [
        ["V1", "Valid", "Yes", "activated", "Alpha (test)"],
        ["C1", "Cancelled", "No", "cancelled", "Alpha (test)"],
        ["U1", "Status unknown", "Unknown", "", "Alpha (test)"],
        ["N1", "Not valid", "No", "", "Alpha (test)"],
    ]


def test_an_export_is_in_the_language_it_was_started_in():
    ticket(code="C1", is_valid=False, status="cancelled")
    with translation.override("es"):
        stream = exports.csv_rows(
            queryset=IssuedTicket.objects.all(), columns=["code", "status", "valid"]
        )
    # Read after the language changed back: the words were fixed when the export started.
    rows = read_csv(stream)
    assert rows == [["Código de la entrada", "Estado", "Válida"], ["C1", "Cancelada", "No"]]


def test_the_csv_for_spanish_excel_has_semicolons_a_bom_and_decimal_commas():
    ticket(code="P1", name="García; Ana", price="12.50", total_paid="1234.05")
    ticket(code="P2", name="=HYPERLINK(1)", price=None)

    data = b"".join(
        exports.csv_rows(
            queryset=IssuedTicket.objects.order_by("id"),
            columns=["code", "holder", "price", "total_paid"],
            flavour=exports.EXCEL_ES_CSV,
        )
    )

    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8").removeprefix("\ufeff")
    assert text.splitlines()[0] == "Ticket code;Holder;Price;Total paid"
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[1] == ["P1", "García; Ana", "12,50", "1234,05"]
    assert rows[2][:3] == ["P2", "'=HYPERLINK(1)", ""]  # still guarded against formulas
    # Plain CSV keeps commas and decimal points.
    plain = read_csv(
        exports.csv_rows(queryset=IssuedTicket.objects.order_by("id"), columns=["code", "price"])
    )
    assert plain[1] == ["P1", "12.50"]


def test_the_guard_sees_a_formula_after_a_semicolon():
    ticket(code="S1", name="ok", email="-2+3")
    text = b"".join(
        exports.csv_rows(
            queryset=IssuedTicket.objects.all(),
            columns=["holder", "email"],
            flavour=exports.EXCEL_ES_CSV,
        )
    ).decode("utf-8")
    assert text.splitlines()[1] == "ok;'-2+3"


def test_the_xlsx_headers_and_labels_follow_the_language():
    ticket(code="X1", is_valid=True)
    with translation.override("es"):
        stream = exports.xlsx_stream(
            queryset=IssuedTicket.objects.all(), columns=["code", "status"]
        )
    with zipfile.ZipFile(io.BytesIO(b"".join(stream))) as book:
        # Constant-memory mode writes the strings inline, in the sheet.
        strings = book.read("xl/worksheets/sheet1.xml").decode()
        sheets = book.read("xl/workbook.xml").decode()
    assert "Código de la entrada" in strings
    assert "Válida" in strings
    assert 'name="Entradas"' in sheets


def test_the_formats_are_offered_spanish_excel_first_in_spanish():
    assert exports.formats_for("es")[0] == "csv-es"
    assert exports.formats_for("en")[0] == "csv"
    assert set(exports.formats_for("es")) == set(exports.FORMATS)
