"""Holder rows from a pasted or uploaded CSV: `CsvImportForm` / `parse_holder_csv`.

Headers are recognised in English and Spanish; every data row is validated by `HolderForm`, so
the rules are the same whichever way a holder arrives, and every row that cannot be imported is
reported with its line number in the file.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from tickets.forms.holders import BIRTHDAY_FORMATS, MAX_HOLDERS, HolderForm, field_label
from tickets.models import Supplement
from tickets.text import fold

MAX_CSV_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CsvRowError:
    line: int  # in the file, the header being line 1
    message: str
    field: str = ""

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass
class CsvParseResult:
    rows: list[dict[str, Any]] = field(default_factory=list)  # formset-ready values
    errors: list[CsvRowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data_rows: int = 0  # non-blank rows after the header, imported or not


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", fold(text))


# Folded header (no spaces, underscores, dashes or dots) -> field. First name / last name
# columns are combined into the full name.
_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "full_name": (
        "fullname",
        "nombrecompleto",
        "nombreyapellidos",
        "nombreapellidos",
        "holder",
        "titular",
        "asistente",
        "invitado",
        "guest",
    ),
    "name": ("name", "nombre"),  # a full name, or a first name when a last-name column exists
    "first_name": ("firstname", "givenname", "forename", "nombredepila"),
    "last_name": (
        "lastname",
        "surname",
        "surnames",
        "familyname",
        "apellido",
        "apellidos",
        "primerapellido",
        "segundoapellido",
        "apellido1",
        "apellido2",
    ),
    "email": ("email", "mail", "emailaddress", "correo", "correoelectronico", "mailaddress"),
    "phone": (
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mobilephone",
        "cellphone",
        "cell",
        "telefono",
        "movil",
        "celular",
        "numerodetelefono",
        "telefonomovil",
        "numerodemovil",
        "mobilenumber",
        "telmovil",
    ),
    "gender": ("gender", "sex", "genero", "sexo"),
    "birthday": (
        "birthday",
        "birthdate",
        "dateofbirth",
        "dob",
        "fechadenacimiento",
        "fechanacimiento",
        "nacimiento",
        "cumpleanos",
    ),
    "address": ("address", "streetaddress", "direccion", "domicilio"),
    "country": ("country", "countrycode", "pais", "codigopais", "codigodepais"),
    "postal_code": ("postalcode", "postcode", "zip", "zipcode", "cp", "codigopostal"),
    "document_type": (
        "documenttype",
        "doctype",
        "idtype",
        "tipodocumento",
        "tipodedocumento",
        "tipodoc",
    ),
    "document_number": (
        "document",
        "documentnumber",
        "docnumber",
        "idnumber",
        "documento",
        "numerodocumento",
        "numerodedocumento",
        "numdocumento",
        "dni",
        "nif",
        "nie",
        "passport",
        "passportnumber",
        "pasaporte",
    ),
}
_HEADER_FIELD = {syn: name for name, syns in _HEADER_SYNONYMS.items() for syn in syns}
# A number column named after its document type says the type too.
_TYPE_FROM_HEADER = {
    "dni": "dni",
    "nif": "dni",
    "nie": "nie",
    "passport": "passport",
    "passportnumber": "passport",
    "pasaporte": "passport",
}
_GENDER_VALUES = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "mujer": "female",
    "femenino": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "hombre": "male",
    "h": "male",
    "masculino": "male",
    "varon": "male",
}
_DOCUMENT_TYPE_VALUES = {
    "dni": "dni",
    "nif": "dni",
    "nie": "nie",
    "passport": "passport",
    "pasaporte": "passport",
    "pas": "passport",
    "other": "other",
    "otro": "other",
}
_DNI = re.compile(r"^\d{8}[A-Z]$")
_NIE = re.compile(r"^[XYZ]\d{7}[A-Z]$")


@dataclass(frozen=True)
class _Columns:
    """Where each field is found in a row (column indexes), from the header."""

    width: int  # of the header: a row with more values than that has lost its alignment
    fields: dict[str, int]
    first_name: int | None
    last_names: tuple[int, ...]
    document_type_hint: str


def _map_header(header: list[str]) -> tuple[_Columns | None, list[CsvRowError], list[str]]:
    errors: list[CsvRowError] = []
    by_field: dict[str, list[int]] = {}
    unknown: list[str] = []
    for index, title in enumerate(header):
        name = _HEADER_FIELD.get(_header_key(title))
        if name is None:
            if title.strip():
                unknown.append(title.strip())
            continue
        by_field.setdefault(name, []).append(index)

    last_names = tuple(by_field.pop("last_name", ()))
    names = by_field.pop("name", [])
    first_names = by_field.pop("first_name", [])
    if names and not by_field.get("full_name"):
        # "Nombre" beside "Apellidos" is a first name; on its own it is the whole name.
        if last_names and not first_names:
            first_names = names
        else:
            by_field["full_name"] = names
    elif names:
        unknown.extend(header[i].strip() for i in names)
    if by_field.get("full_name") and (first_names or last_names):
        unknown.extend(header[i].strip() for i in (*first_names, *last_names))
        first_names, last_names = [], ()

    fields: dict[str, int] = {}
    for name, indexes in by_field.items():
        if len(indexes) > 1:
            titles = ", ".join(f"'{header[i].strip()}'" for i in indexes)
            errors.append(CsvRowError(1, f"Columns {titles} all look like the {name}.", name))
        fields[name] = indexes[0]
    if len(first_names) > 1:
        titles = ", ".join(f"'{header[i].strip()}'" for i in first_names)
        errors.append(CsvRowError(1, f"Columns {titles} all look like the first name."))

    if "full_name" not in fields and not (first_names or last_names):
        errors.append(
            CsvRowError(
                1,
                "No name column: name it 'full name' (or 'nombre'), or give 'first name' "
                "and 'last name' ('nombre' and 'apellidos').",
                "full_name",
            )
        )
    if "email" not in fields:
        errors.append(CsvRowError(1, "No email column: name it 'email' (or 'correo').", "email"))

    warnings = []
    if unknown:
        warnings.append(
            "These columns were not recognised and were not imported: "
            + ", ".join(f"'{t}'" for t in unknown)
            + "."
        )
    if errors:
        return None, errors, warnings
    hint = ""
    if "document_number" in fields and "document_type" not in fields:
        hint = _TYPE_FROM_HEADER.get(_header_key(header[fields["document_number"]]), "")
    columns = _Columns(
        width=len(header),
        fields=fields,
        first_name=first_names[0] if first_names else None,
        last_names=last_names,
        document_type_hint=hint,
    )
    return columns, [], warnings


def _sniff_delimiter(text: str) -> str:
    """The delimiter among , ; and tab that splits the header line most.

    Counting on the header alone is predictable; csv.Sniffer guesses wrong on short samples.
    """
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _parse_date(value: str) -> str | None:
    """ISO date for YYYY-MM-DD, DD/MM/YYYY, DD-MM-YYYY or DD.MM.YYYY; None if unreadable."""
    for fmt in BIRTHDAY_FORMATS:
        try:
            # Only the date part is used, so the missing time zone is irrelevant.
            return dt.datetime.strptime(value, fmt).date().isoformat()  # noqa: DTZ007
        except ValueError:
            continue
    return None


def _row_values(cells: list[str], columns: _Columns) -> tuple[dict[str, str], dict[str, str]]:
    """Form data for one CSV row, and the problems (field -> message) found before the form
    validates it, in the file's own words."""

    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    problems: dict[str, str] = {}
    values = {name: cell(index) for name, index in columns.fields.items()}
    if "full_name" not in columns.fields:
        parts = [cell(columns.first_name), *(cell(i) for i in columns.last_names)]
        values["full_name"] = " ".join(p for p in parts if p)

    if values.get("gender"):
        gender = _GENDER_VALUES.get(fold(values["gender"]))
        if gender is None:
            problems["gender"] = (
                f"Gender: '{values['gender']}' is not understood; use female or male "
                "(mujer or hombre), or leave it blank."
            )
        values["gender"] = gender or ""
    if values.get("birthday"):
        parsed = _parse_date(values["birthday"])
        if parsed is None:
            problems["birthday"] = (
                f"Birthday: '{values['birthday']}' is not a date; use YYYY-MM-DD or DD/MM/YYYY."
            )
        values["birthday"] = parsed or ""
    if values.get("document_type"):
        doc_type = _DOCUMENT_TYPE_VALUES.get(fold(values["document_type"]))
        if doc_type is None:
            problems["document_type"] = (
                f"Document type: '{values['document_type']}' is not one of "
                "DNI, NIE, passport or other."
            )
        values["document_type"] = doc_type or ""
    number = "".join(values.get("document_number", "").split()).upper()
    if number and not values.get("document_type") and "document_type" not in problems:
        # The column's name (DNI, pasaporte...) or the number's shape gives the type.
        values["document_type"] = columns.document_type_hint or (
            "dni" if _DNI.match(number) else "nie" if _NIE.match(number) else ""
        )
    return values, problems


def parse_holder_csv(text: str, *, supplements: Sequence[Supplement] = ()) -> CsvParseResult:
    """Holder rows from CSV text. Every data row is either imported or reported with its line
    number in the file (the header is line 1); only blank lines are skipped."""
    result = CsvParseResult()
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(text))
    columns: _Columns | None = None
    header_seen = False
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(CsvRowError(reader.line_num, f"Unreadable CSV: {exc}."))
            break
        # A row may span several lines (quoted line breaks); report the line it starts on.
        line = reader.line_num - sum(c.count("\n") for c in cells)
        if not any(c.strip() for c in cells):
            continue
        if not header_seen:
            header_seen = True
            columns, header_errors, warnings = _map_header(cells)
            result.warnings.extend(warnings)
            # Header errors are reported against the header's real line.
            result.errors.extend(CsvRowError(line, e.message, e.field) for e in header_errors)
            continue
        result.data_rows += 1
        if columns is None:
            continue
        row, errors = _parse_row(cells, line, columns, supplements)
        if row is not None:
            result.rows.append(row)
        result.errors.extend(errors)
    if not header_seen:
        result.errors.append(CsvRowError(1, "The CSV is empty."))
    elif columns is None and result.data_rows:
        result.errors.append(
            CsvRowError(
                1,
                f"None of the {result.data_rows} rows were imported: fix the header first.",
            )
        )
    return result


def _parse_row(
    cells: list[str], line: int, columns: _Columns, supplements: Sequence[Supplement]
) -> tuple[dict[str, Any] | None, list[CsvRowError]]:
    """The formset values of one data row, or the reasons it cannot be imported."""
    extra = [c.strip() for c in cells[columns.width :] if c.strip()]
    if extra:
        # Usually an unquoted delimiter inside a value: every later column would be shifted.
        return None, [
            CsvRowError(
                line,
                f"{len(cells)} values for {columns.width} columns (extra: "
                + ", ".join(f"'{v}'" for v in extra)
                + "); quote values that contain the delimiter.",
            )
        ]
    values, problems = _row_values(cells, columns)
    form = HolderForm(data=values, supplements=supplements)
    valid = form.is_valid()
    errors = [CsvRowError(line, message, name) for name, message in problems.items()]
    if valid and not errors:
        return form.formset_values(), []
    for name, field_errors in form.errors.items():
        if name in problems:
            continue  # already said, in the file's own words
        label = field_label(form, name)
        errors.extend(CsvRowError(line, f"{label}: {e}", name) for e in field_errors)
    return None, errors


def decode_csv_bytes(raw: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else Windows-1252 (Excel's "CSV" on a
    Spanish Windows), else Latin-1, which accepts any byte."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


class CsvImportForm(forms.Form):
    """A pasted or uploaded CSV of holders. Valid means readable and within the limits; rows
    that fail validation are in `cleaned_data["result"].errors`, each with its line number."""

    csv_text = forms.CharField(
        required=False,
        strip=False,
        label="Paste CSV",
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "full name,email,phone\nAna Pérez,ana@example.com,"}
        ),
    )
    csv_file = forms.FileField(required=False, label="or upload a CSV file")
    csv_mode = forms.ChoiceField(
        choices=[("replace", "Replace the rows"), ("append", "Add after the rows")],
        initial="replace",
        widget=forms.RadioSelect,
        label="Imported rows",
    )

    def __init__(self, *args: Any, supplements: Sequence[Supplement] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.supplements = list(supplements)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text: str = data.get("csv_text") or ""
        upload = data.get("csv_file")
        if upload and text.strip():
            raise ValidationError("Paste the CSV or upload a file, not both.")
        if upload:
            if upload.size > MAX_CSV_BYTES:
                raise ValidationError("The file is over 1 MB; split it.")
            text = decode_csv_bytes(upload.read())
        elif not text.strip():
            raise ValidationError("Paste the CSV text or choose a file.")
        elif len(text.encode()) > MAX_CSV_BYTES:
            raise ValidationError("The pasted text is over 1 MB; split it.")
        result = parse_holder_csv(text, supplements=self.supplements)
        if result.data_rows > MAX_HOLDERS:
            raise ValidationError(
                f"The CSV has {result.data_rows} holders; at most {MAX_HOLDERS} fit in one "
                "issuance. Nothing was imported: split the file."
            )
        data["result"] = result
        return data
