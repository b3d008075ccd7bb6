"""Holder rows from a pasted or uploaded list: `CsvImportForm` / `parse_holder_csv`.

- With a header row, its names are recognised in English and Spanish; a header the product does
  not know is mapped by the issuer (`CsvParseResult.columns`, posted back as `csv_column-N`).
- Without one (the first row holds an e-mail, a phone or a date), each row's cells are
  recognised by their content: "Name <email>", "Name, email, phone", an e-mail alone...
- Every data row becomes a holder row, valid or not: a row with a problem keeps its values and
  its errors, so the issuer fixes it in place instead of losing it.
- Reading stops at the 200-holder limit (plus one, to know it was passed): a 50,000-row file
  costs no more than a 201-row one.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.forms.holders import (
    BIRTHDAY_FORMATS,
    MAX_HOLDERS,
    BaseHolderFormSet,
    HolderForm,
    field_label,
    holder_formset,
)
from tickets.models import Supplement
from tickets.redaction import mask_document
from tickets.text import fold

MAX_CSV_BYTES = 1024 * 1024
# A header wider than this is not a holder list; it also bounds the mapping step's selects.
MAX_COLUMNS = 40
COLUMN_PREFIX = "csv_column"
HEADER_KEY_FIELD = "csv_header_key"


@dataclass(frozen=True)
class CsvRowError:
    line: int  # in the file, the first line being 1
    message: str
    field: str = ""  # a HolderForm field, or "" for the row (or the file) as a whole

    def __str__(self) -> str:
        return _("Line %(line)s: %(message)s") % {"line": self.line, "message": self.message}


@dataclass
class CsvRow:
    """One holder read from the list: its formset values (cleaned when the row is valid, as read
    when it is not) and what is wrong with it."""

    line: int
    values: dict[str, Any]
    errors: list[CsvRowError] = field(default_factory=list)  # every problem, for the report
    # The problems found before HolderForm saw the row, in the file's own words (a gender or a
    # date it could not read, values beyond the header): the form alone would not say them.
    # Keyed by field; NON_FIELD_ERRORS for the row as a whole.
    problems: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class ColumnChoice:
    """One column of a header the issuer maps: its title, a (masked) sample and the field
    chosen for it ("" to ignore it)."""

    index: int
    title: str
    sample: str
    choice: str


@dataclass
class CsvParseResult:
    rows: list[CsvRow] = field(default_factory=list)  # every data row, valid or not, in order
    errors: list[CsvRowError] = field(default_factory=list)  # about the file or its header
    warnings: list[str] = field(default_factory=list)
    data_rows: int = 0  # holders read (non-blank rows after any header)
    has_header: bool = True
    too_many: bool = False  # more than the limit: reading stopped there, nothing is imported
    columns: list[ColumnChoice] = field(default_factory=list)  # a header the issuer must map
    header_key: str = ""  # names the header the mapping was made for

    @property
    def needs_mapping(self) -> bool:
        return bool(self.columns)

    @property
    def imported(self) -> int:
        return sum(1 for row in self.rows if row.valid)

    @property
    def bad_rows(self) -> list[CsvRow]:
        return [row for row in self.rows if not row.valid]

    @property
    def row_errors(self) -> list[CsvRowError]:
        return [error for row in self.rows for error in row.errors]


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
    "language": ("language", "lang", "idioma", "lengua", "locale"),
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
# Folded: "Español", "inglés" and "EN" all read.
_LANGUAGE_VALUES = {
    "es": "es",
    "esp": "es",
    "spa": "es",
    "spanish": "es",
    "espanol": "es",
    "castellano": "es",
    "en": "en",
    "eng": "en",
    "english": "en",
    "ingles": "en",
}
_DNI = re.compile(r"^\d{8}[A-Z]$")
_NIE = re.compile(r"^[XYZ]\d{7}[A-Z]$")
# Shapes of values, to tell a data row from a header and to place the cells of a list without
# one. Loose on purpose ("bo@" is an e-mail, a wrong one): HolderForm judges the value itself.
_EMAIL_TOKEN = re.compile(r"<?([^\s<>@,;\"'()]+@[^\s<>@,;\"'()]*)>?")
_PHONE = re.compile(r"^\+?[\d\s().\-/]{6,25}$")

# What a column of a mapped header may hold, in the order of the select.
MAPPING_CHOICES: list[tuple[str, Any]] = [
    ("", gettext_lazy("Ignore this column")),
    ("full_name", gettext_lazy("Full name")),
    ("first_name", gettext_lazy("First name")),
    ("last_name", gettext_lazy("Last name")),
    ("email", gettext_lazy("Email")),
    ("phone", gettext_lazy("Phone")),
    ("gender", gettext_lazy("Gender")),
    ("birthday", gettext_lazy("Birthday")),
    ("address", gettext_lazy("Address")),
    ("country", gettext_lazy("Country")),
    ("postal_code", gettext_lazy("Postal code")),
    ("document_type", gettext_lazy("Document type")),
    ("document_number", gettext_lazy("Document number")),
    ("language", gettext_lazy("Language")),
]
_MAPPABLE = {value for value, _label in MAPPING_CHOICES}
_CHOICE_LABELS = dict(MAPPING_CHOICES)


@dataclass(frozen=True)
class _Columns:
    """Where each field is found in a row (column indexes), from the header."""

    width: int  # of the header: a row with more values than that has lost its alignment
    fields: dict[str, int]
    first_name: int | None
    last_names: tuple[int, ...]
    document_type_hint: str


def header_key(header: Sequence[str]) -> str:
    """Names a header, so that a mapping posted back is only applied to the header it was
    chosen for (the issuer may have pasted another list in between)."""
    return hashlib.sha256("\x1f".join(header).encode()).hexdigest()[:16]


def _quoted(titles: Sequence[str]) -> str:
    return ", ".join(f"'{t}'" for t in titles)


def _map_header(
    header: list[str], mapping: Mapping[int, str] | None = None
) -> tuple[_Columns | None, list[CsvRowError], list[str]]:
    """The columns of `header`, recognised by their names or, when the issuer mapped them, by
    `mapping` (column index -> field, "" to ignore)."""
    errors: list[CsvRowError] = []
    by_field: dict[str, list[int]] = {}
    unknown: list[str] = []
    for index, title in enumerate(header):
        if mapping is not None:
            name = mapping.get(index) or None
        else:
            name = _HEADER_FIELD.get(_header_key(title))
        if name is None:
            if title.strip() and mapping is None:
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
        if mapping is not None:
            errors.append(
                CsvRowError(
                    1,
                    _("Choose a full name column, or first and last name columns, not both."),
                    "full_name",
                )
            )
        unknown.extend(header[i].strip() for i in (*first_names, *last_names))
        first_names, last_names = [], ()

    fields: dict[str, int] = {}
    for name, indexes in by_field.items():
        if len(indexes) > 1:
            errors.append(
                CsvRowError(
                    1,
                    _("Columns %(columns)s all look like the %(field)s.")
                    % {
                        "columns": _quoted([header[i].strip() for i in indexes]),
                        "field": str(_CHOICE_LABELS.get(name, name)).lower(),
                    },
                    name,
                )
            )
        fields[name] = indexes[0]
    if len(first_names) > 1:
        errors.append(
            CsvRowError(
                1,
                _("Columns %(columns)s all look like the first name.")
                % {"columns": _quoted([header[i].strip() for i in first_names])},
            )
        )

    if "full_name" not in fields and not (first_names or last_names):
        errors.append(
            CsvRowError(
                1,
                _(
                    "No name column: name it 'full name' (or 'nombre'), or give 'first name' "
                    "and 'last name' ('nombre' and 'apellidos')."
                ),
                "full_name",
            )
        )
    if "email" not in fields:
        errors.append(CsvRowError(1, _("No email column: name it 'email' (or 'correo')."), "email"))

    warnings = []
    if unknown:
        warnings.append(
            _("These columns were not recognised and were not imported: %(columns)s.")
            % {"columns": _quoted(unknown)}
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
    """The delimiter among , ; and tab that splits the first line most (or, when it splits
    nothing there, the next lines).

    Counting on the first line is predictable; csv.Sniffer guesses wrong on short samples.
    """
    lines = itertools.islice((line for line in text.splitlines() if line.strip()), 5)
    for line in lines:
        # On a tie, tab then semicolon: a comma is likelier inside a value ("Li, Bo" <bo@x.es>).
        counts = {d: len(next(csv.reader([line], delimiter=d), [])) for d in ("\t", ";", ",")}
        best = max(counts, key=lambda d: counts[d])
        if counts[best] > 1:
            return best
    return ","


def _parse_date(value: str) -> str | None:
    """ISO date for YYYY-MM-DD, DD/MM/YYYY, DD-MM-YYYY or DD.MM.YYYY; None if unreadable."""
    for fmt in BIRTHDAY_FORMATS:
        try:
            # Only the date part is used, so the missing time zone is irrelevant.
            return dt.datetime.strptime(value, fmt).date().isoformat()  # noqa: DTZ007
        except ValueError:
            continue
    return None


def _is_phone(value: str) -> bool:
    return bool(_PHONE.match(value)) and 6 <= sum(c.isdigit() for c in value) <= 15


def _document_type_of(number: str) -> str:
    number = "".join(number.split()).upper()
    return "dni" if _DNI.match(number) else "nie" if _NIE.match(number) else ""


def _is_value(cell: str) -> bool:
    """A cell no header would hold: an e-mail, a phone number, a date, a DNI or NIE."""
    cell = cell.strip()
    return bool(
        cell
        and (
            _EMAIL_TOKEN.search(cell)
            or _is_phone(cell)
            or _parse_date(cell)
            or _document_type_of(cell)
        )
    )


def _is_header(cells: list[str], next_cells: list[str] | None) -> bool:
    """Whether the first row names the columns, or is already the first guest."""
    if any(_is_value(cell) for cell in cells):
        return False
    if any(_HEADER_FIELD.get(_header_key(cell)) for cell in cells):
        return True
    # Unknown names, or a first guest without an e-mail? A guest leaves the e-mail column of
    # the next row's shape empty; a header names it.
    if next_cells is not None:
        for index, cell in enumerate(next_cells):
            if _EMAIL_TOKEN.search(cell) and (index >= len(cells) or not cells[index].strip()):
                return False
    return True


def _row_values(cells: list[str], columns: _Columns) -> tuple[dict[str, str], dict[str, str]]:
    """Form data for one CSV row, and the problems (field -> message) found before the form
    validates it, in the file's own words."""

    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    values = {name: cell(index) for name, index in columns.fields.items()}
    if "full_name" not in columns.fields:
        parts = [cell(columns.first_name), *(cell(i) for i in columns.last_names)]
        values["full_name"] = " ".join(p for p in parts if p)
    problems = _convert(values, columns.document_type_hint)
    return values, problems


def _convert(values: dict[str, str], document_type_hint: str = "") -> dict[str, str]:
    """Turn the file's words (mujer, 17/05/1990, pasaporte) into the form's values, in place;
    the problems (field -> message) of those it cannot read."""
    problems: dict[str, str] = {}
    if values.get("gender"):
        gender = _GENDER_VALUES.get(fold(values["gender"]))
        if gender is None:
            problems["gender"] = _(
                "Gender: '%(value)s' is not understood; use female or male "
                "(mujer or hombre), or leave it blank."
            ) % {"value": values["gender"]}
        values["gender"] = gender or ""
    if values.get("birthday"):
        parsed = _parse_date(values["birthday"])
        if parsed is None:
            problems["birthday"] = _(
                "Birthday: '%(value)s' is not a date; use YYYY-MM-DD or DD/MM/YYYY."
            ) % {"value": values["birthday"]}
        values["birthday"] = parsed or ""
    if values.get("document_type"):
        doc_type = _DOCUMENT_TYPE_VALUES.get(fold(values["document_type"]))
        if doc_type is None:
            problems["document_type"] = _(
                "Document type: '%(value)s' is not one of DNI, NIE, passport or other."
            ) % {"value": values["document_type"]}
        values["document_type"] = doc_type or ""
    if values.get("language"):
        language = _LANGUAGE_VALUES.get(fold(values["language"]))
        if language is None:
            problems["language"] = _(
                "Language: '%(value)s' is not understood; use Spanish or English (es or en), "
                "or leave it blank for the venue's."
            ) % {"value": values["language"]}
        values["language"] = language or ""
    number = "".join(values.get("document_number", "").split()).upper()
    if number and not values.get("document_type") and "document_type" not in problems:
        # The column's name (DNI, pasaporte...) or the number's shape gives the type.
        values["document_type"] = document_type_hint or _document_type_of(number)
    return problems


def _guess_holders(cells: list[str]) -> list[tuple[dict[str, str], dict[str, str], bool]]:
    """The holders of one row of a list without a header, each as (values, problems, whether
    some cell was left out): a line of addresses ("Ana <ana@x.es>; Bo <bo@x.es>") holds one
    per address, any other line one holder."""
    filled = [c.strip() for c in cells if c.strip()]
    if len(filled) > 1 and all(_EMAIL_TOKEN.search(c) for c in filled):
        return [_guess_holder([c]) for c in filled]
    return [_guess_holder(filled)]


def _guess_holder(cells: list[str]) -> tuple[dict[str, str], dict[str, str], bool]:
    values: dict[str, str] = {}
    name_parts: list[str] = []
    left_out = False
    problems: dict[str, str] = {}
    for cell in cells:
        match = _EMAIL_TOKEN.search(cell)
        if match:
            if "email" in values:
                problems[NON_FIELD_ERRORS] = _(
                    "Two e-mail addresses on one line; only the first was imported."
                )
                continue
            values["email"] = match.group(1)
            rest = f"{cell[: match.start()]} {cell[match.end() :]}".strip(" \t\"'<>(),;:")
            if rest:
                name_parts.append(" ".join(rest.split()))
        elif _is_phone(cell) and "phone" not in values:
            values["phone"] = cell
        elif _parse_date(cell) and "birthday" not in values:
            values["birthday"] = cell
        elif _document_type_of(cell) and "document_number" not in values:
            values["document_number"] = cell
        elif fold(cell) in _GENDER_VALUES and "gender" not in values:
            values["gender"] = cell
        elif any(c.isalpha() for c in cell):
            name_parts.append(cell)
        else:
            left_out = True  # a number of no known shape: placed nowhere rather than guessed
    values["full_name"] = " ".join(name_parts)
    problems.update(_convert(values))
    return values, problems, left_out


def _records(
    text: str, delimiter: str, errors: list[CsvRowError]
) -> Iterator[tuple[int, list[str]]]:
    """The non-blank rows of `text` with the line each starts on; an unreadable one ends them
    (with its error)."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(
                CsvRowError(
                    reader.line_num, _("Unreadable CSV: %(reason)s.") % {"reason": str(exc)}
                )
            )
            return
        # A row may span several lines (quoted line breaks); report the line it starts on.
        line = reader.line_num - sum(c.count("\n") for c in cells)
        if any(c.strip() for c in cells):
            yield line, cells


def _sample(cell: str) -> str:
    """A column's first value, as the mapping step shows it: never a whole document number
    (nor a whole phone number, which it cannot be told from)."""
    cell = " ".join(cell.split())
    if sum(c.isdigit() for c in cell) >= 5 and not _EMAIL_TOKEN.search(cell):
        return mask_document(cell)
    return cell[:40] + ("…" if len(cell) > 40 else "")


def _suggested(title: str, sample: str, has_last_name: bool) -> str:
    name = _HEADER_FIELD.get(_header_key(title), "")
    if name == "name":
        return "first_name" if has_last_name else "full_name"
    if name:
        return name
    if _EMAIL_TOKEN.search(sample):
        return "email"
    if _is_phone(sample):
        return "phone"
    if _parse_date(sample):
        return "birthday"
    if _document_type_of(sample):
        return "document_number"
    return ""


def _column_choices(
    header: list[str], first_row: list[str] | None, mapping: Mapping[int, str] | None
) -> list[ColumnChoice]:
    has_last_name = any(_HEADER_FIELD.get(_header_key(t)) == "last_name" for t in header)
    choices = []
    for index, title in enumerate(header[:MAX_COLUMNS]):
        raw = first_row[index].strip() if first_row and index < len(first_row) else ""
        choice = (
            mapping.get(index, "") if mapping is not None else _suggested(title, raw, has_last_name)
        )
        choices.append(
            ColumnChoice(index=index, title=title.strip(), sample=_sample(raw), choice=choice)
        )
    return choices


def parse_holder_csv(
    text: str,
    *,
    supplements: Sequence[Supplement] = (),
    mapping: tuple[str, Mapping[int, str]] | None = None,
    limit: int = MAX_HOLDERS,
) -> CsvParseResult:
    """Holder rows from CSV text, with or without a header row. Every data row becomes a
    `CsvRow`, valid or with its errors (their lines counted in the file, the first being 1);
    only blank lines are skipped. `mapping` is (header_key, column index -> field), the
    issuer's reading of a header; it applies only to the header it was made for. Reading stops
    after `limit` + 1 holders (`too_many`)."""
    result = CsvParseResult()
    text = text.removeprefix("\ufeff")
    records = _records(text, _sniff_delimiter(text), result.errors)
    first = next(records, None)
    if first is None:
        if not result.errors:
            result.errors.append(CsvRowError(1, _("The list is empty.")))
        return result
    second = next(records, None)
    following = itertools.chain([second] if second else [], records)
    # Values and problems first, cheaply, up to the limit; HolderForm only runs within it.
    read: list[tuple[int, dict[str, str], dict[str, str]]] = []

    def room() -> bool:
        result.data_rows += 1
        if result.data_rows > limit:
            result.too_many = True
        return not result.too_many

    line, header = first
    if _is_header(header, second[1] if second else None):
        key = header_key(header)
        chosen = mapping[1] if mapping is not None and mapping[0] == key else None
        columns, header_errors, warnings = _map_header(header, chosen)
        result.warnings.extend(warnings)
        result.errors.extend(CsvRowError(line, e.message, e.field) for e in header_errors)
        if columns is None:
            # Nothing is read before the issuer says what the columns hold.
            result.header_key = key
            result.columns = _column_choices(header, second[1] if second else None, chosen)
            for _record in following:
                if not room():
                    break
            return result
        for line, cells in following:
            if not room():
                break
            values, problems = _row_values(cells, columns)
            extra = [c.strip() for c in cells[columns.width :] if c.strip()]
            if extra:
                # Usually an unquoted delimiter inside a value: every later column is shifted.
                problems[NON_FIELD_ERRORS] = _(
                    "%(count)s values for %(columns)s columns (extra: %(extra)s); quote values "
                    "that contain the delimiter."
                ) % {"count": len(cells), "columns": columns.width, "extra": _quoted(extra)}
            read.append((line, values, problems))
    else:
        result.has_header = False
        left_out_lines: list[int] = []
        for line, cells in itertools.chain([first], following):
            holders = _guess_holders(cells)
            if any(left_out for _v, _p, left_out in holders):
                left_out_lines.append(line)
            if not all(room() for _holder in holders):
                break
            read.extend((line, values, problems) for values, problems, _left in holders)
        result.warnings.append(
            _(
                "The list has no header row: each value was placed by its shape (an e-mail, a "
                "phone number, a date; the rest is the name). Check the rows below."
            )
        )
        if left_out_lines:
            result.warnings.append(
                _("Some values were not recognised and were not imported (lines %(lines)s).")
                % {"lines": ", ".join(str(n) for n in left_out_lines[:20])}
            )
    if result.too_many:
        return result
    result.rows = [_validated(line, v, p, supplements) for line, v, p in read]
    return result


def _validated(
    line: int, values: dict[str, str], problems: dict[str, str], supplements: Sequence[Supplement]
) -> CsvRow:
    """The row through HolderForm: its cleaned values, or its values as read and every error."""
    form = HolderForm(data=values, supplements=supplements)
    valid = form.is_valid()
    errors = [
        CsvRowError(line, message, "" if name == NON_FIELD_ERRORS else name)
        for name, message in problems.items()
    ]
    if valid and not errors:
        return CsvRow(line=line, values=form.formset_values())
    for name, field_errors in form.errors.items():
        if name in problems:
            continue  # already said, in the file's own words
        label = field_label(form, name)
        errors.extend(
            CsvRowError(line, f"{label}: {e}", "" if name == NON_FIELD_ERRORS else name)
            for e in field_errors
        )
    as_read = {name: values.get(name, "") for name in HolderForm.base_fields}
    as_read["supplements"] = []
    return CsvRow(line=line, values=as_read, errors=errors, problems=problems)


def decode_csv_bytes(raw: bytes) -> str:
    """UTF-16 (Excel's "Unicode text": a BOM, or every other byte nul), UTF-8 (with or without
    the BOM Excel writes), else Windows-1252 (Excel's "CSV" on a Spanish Windows), else Latin-1,
    which accepts any byte."""
    candidates = ["utf-8-sig", "cp1252"]
    head = raw[:400]
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates.insert(0, "utf-16")
    elif len(head) >= 4 and head[1::2].count(0) > len(head) // 4:
        candidates.insert(0, "utf-16-le")
    elif len(head) >= 4 and head[0::2].count(0) > len(head) // 4:
        candidates.insert(0, "utf-16-be")
    for encoding in candidates:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


class CsvImportForm(forms.Form):
    """A pasted or uploaded list of holders. Valid means readable and within the limits; the
    rows, valid or not, are in `cleaned_data["result"]`; `cleaned_data["text"]` is the text
    read (an upload's too, decoded)."""

    csv_text = forms.CharField(
        required=False,
        strip=False,
        label=gettext_lazy("Paste a list"),
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "full name,email,phone\nAna Pérez,ana@example.com,"}
        ),
    )
    csv_file = forms.FileField(required=False, label=gettext_lazy("or upload a CSV file"))
    csv_mode = forms.ChoiceField(
        choices=[
            ("replace", gettext_lazy("Replace the rows")),
            ("append", gettext_lazy("Add after the rows")),
        ],
        initial="replace",
        widget=forms.RadioSelect,
        label=gettext_lazy("Imported rows"),
    )

    def __init__(self, *args: Any, supplements: Sequence[Supplement] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.supplements = list(supplements)

    def posted_mapping(self) -> tuple[str, dict[int, str]] | None:
        """The issuer's reading of a header (the mapping step's selects), if posted."""
        key = self.data.get(HEADER_KEY_FIELD) if self.is_bound else None
        if not key:
            return None
        chosen = {}
        for index in range(MAX_COLUMNS):
            value = self.data.get(f"{COLUMN_PREFIX}-{index}")
            if value is None:
                continue
            chosen[index] = value if value in _MAPPABLE else ""
        return str(key), chosen

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text: str = data.get("csv_text") or ""
        upload = data.get("csv_file")
        if upload and text.strip():
            raise ValidationError(_("Paste the list or upload a file, not both."))
        if upload:
            if upload.size > MAX_CSV_BYTES:
                raise ValidationError(_("The file is over 1 MB; split it."))
            text = decode_csv_bytes(upload.read())
        elif not text.strip():
            raise ValidationError(_("Paste the list or choose a file."))
        elif len(text.encode()) > MAX_CSV_BYTES:
            raise ValidationError(_("The pasted text is over 1 MB; split it."))
        result = parse_holder_csv(text, supplements=self.supplements, mapping=self.posted_mapping())
        if result.too_many:
            raise ValidationError(
                _(
                    "The list has more than %(max)s holders; at most %(max)s fit in one "
                    "issuance. Nothing was imported: split it."
                )
                % {"max": MAX_HOLDERS}
            )
        data["result"] = result
        data["text"] = text
        return data


def imported_rows_formset(
    rows: list[dict[str, Any]], bad: Mapping[int, CsvRow], *, supplements: Sequence[Supplement]
) -> BaseHolderFormSet:
    """The rows as an unbound formset, but for the imported rows with a problem: those are
    bound to their values, so their errors show now, on the row and field, not after Review."""
    formset = holder_formset(initial=rows or None, supplements=supplements)
    row_forms = formset.forms
    for index, row in bad.items():
        prefix = formset.add_prefix(index)
        data = MultiValueDict(
            {
                f"{prefix}-{name}": list(value) if isinstance(value, list) else [value]
                for name, value in row.values.items()
            }
        )
        holder = HolderForm(data=data, prefix=prefix, supplements=supplements)
        holder.full_clean()
        for name, message in row.problems.items():
            # Said in the file's own words (the form only sees the value left blank).
            holder.add_error(None if name == NON_FIELD_ERRORS else name, message)
        row_forms[index] = holder
    return formset
