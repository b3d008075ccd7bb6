import time

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from tests import factories as f
from tickets.forms.holders_csv import CsvImportForm, decode_csv_bytes, header_key, parse_holder_csv

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The parser's words in English, whatever language an earlier test left active."""
    with translation.override("en"):
        yield


def values(result):
    return [row.values for row in result.rows]


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


def test_english_headers_with_commas():
    result = parse_holder_csv(
        lines(
            "Full Name,E-mail,Phone,Gender,Birthday,Address,Country,ZIP,Document type,Document",
            "Ana Pérez,ANA@Example.com,600 123 456,F,1990-05-17,Calle Mayor 1,Spain,28001,"
            "dni,12345678z",
        )
    )
    assert result.errors == []
    assert result.row_errors == []
    assert result.warnings == []
    assert values(result) == [
        {
            "full_name": "Ana Pérez",
            "email": "ana@example.com",
            "phone": "+34600123456",
            "gender": "female",
            "birthday": "1990-05-17",
            "address": "Calle Mayor 1",
            "country": "ES",
            "postal_code": "28001",
            "document_type": "dni",
            "document_number": "12345678Z",
            "language": settings.LANGUAGE_CODE,  # no language column: the venue's
            "supplements": [],
        }
    ]


def test_spanish_headers_with_accents_and_semicolons_and_first_plus_last_name():
    result = parse_holder_csv(
        lines(
            "Nombre;Apellidos;Correo electrónico;Teléfono móvil;Sexo;Fecha de nacimiento;País;"
            "Código postal;Pasaporte",
            "José;García López;jose@example.com;+44 20 7946 0958;hombre;17/05/1990;Alemania;"
            "10115;x1234567",
        )
    )
    assert result.row_errors == [], result.row_errors
    assert result.warnings == []  # every column recognised
    row = result.rows[0].values
    assert row["full_name"] == "José García López"
    assert row["phone"] == "+442079460958"
    assert row["gender"] == "male"
    assert row["birthday"] == "1990-05-17"
    assert row["country"] == "DE"
    # A number column named after its type says the type.
    assert (row["document_type"], row["document_number"]) == ("passport", "X1234567")


@pytest.mark.parametrize(
    "header", ["first_name,last_name,email", "First-Name,Surname,Mail", "nombre,apellido,correo"]
)
def test_first_and_last_name_columns_are_combined(header):
    result = parse_holder_csv(lines(header, "Ana,Pérez,ana@example.com"))
    assert result.errors == []
    assert result.rows[0].values["full_name"] == "Ana Pérez"


def test_a_lone_nombre_column_is_the_full_name():
    result = parse_holder_csv(lines("NOMBRE,CORREO", "Ana Pérez,ana@example.com"))
    assert result.rows[0].values["full_name"] == "Ana Pérez"


@pytest.mark.parametrize("written", ["1990-05-17", "17/05/1990", "17-05-1990", "17.05.1990"])
def test_birthday_formats(written):
    result = parse_holder_csv(lines("name,email,date of birth", f"Ana,ana@example.com,{written}"))
    assert result.errors == []
    assert result.rows[0].values["birthday"] == "1990-05-17"


def test_an_unreadable_birthday_is_reported_on_its_line():
    result = parse_holder_csv(lines("name,email,birthday", "Ana,ana@example.com,05/17/1990"))
    # Kept as a row, the date left blank, the problem said in the file's words.
    (row,) = result.rows
    assert not row.valid
    assert (row.values["full_name"], row.values["birthday"]) == ("Ana", "")
    assert [(e.line, e.field) for e in result.row_errors] == [(2, "birthday")]
    assert "'05/17/1990' is not a date" in row.problems["birthday"]


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_the_delimiter_is_sniffed(delimiter, name):
    text = lines(
        delimiter.join(["name", "email", "address"]),
        delimiter.join(["Ana", "ana@example.com", '"Calle Mayor 1, 2º"']),
    )
    result = parse_holder_csv(text)
    assert result.errors == [], name
    assert result.rows[0].values["address"] == "Calle Mayor 1, 2º"


@pytest.mark.parametrize(
    ("written", "gender"),
    [("mujer", "female"), ("M", "male"), ("f", "female"), ("Hombre", "male"), ("", "")],
)
def test_gender_values_in_english_and_spanish(written, gender):
    result = parse_holder_csv(lines("name,email,género", f"Ana,ana@example.com,{written}"))
    assert result.rows[0].values["gender"] == gender


def test_an_unknown_gender_is_reported_not_dropped():
    result = parse_holder_csv(lines("name,email,sexo", "Ana,ana@example.com,x"))
    assert [row.valid for row in result.rows] == [False]
    assert "Gender: 'x' is not understood" in result.row_errors[0].message


def test_utf8_with_a_bom_is_read():
    raw = "\ufeffNombre completo;Correo\nJosé Núñez;jose@example.com\n".encode()
    result = parse_holder_csv(decode_csv_bytes(raw))
    assert result.errors == []
    assert result.rows[0].values["full_name"] == "José Núñez"


def test_windows_1252_is_read():
    raw = "Nombre completo;Correo\nJosé Núñez;jose@example.com\n".encode("cp1252")
    assert decode_csv_bytes(raw).startswith("Nombre completo")
    result = parse_holder_csv(decode_csv_bytes(raw))
    assert result.rows[0].values["full_name"] == "José Núñez"


def test_bad_rows_are_kept_with_their_values_and_reported_with_their_line():
    text = lines(
        "name,email,phone",  # line 1
        "Ana,ana@example.com,",  # line 2
        "",  # line 3: blank, skipped silently
        "Bo,bo@,",  # line 4: bad email
        '"Cy\nCyson",cy@example.com,123',  # lines 5-6: the row starts on line 5; bad phone
        ",dee@example.com,",  # line 7: no name
        "Eve,eve@example.com,",  # line 8
    )
    result = parse_holder_csv(text)
    # Every data row is a row, in the file's order; the bad ones keep their values as read.
    assert [r.values["full_name"] for r in result.rows] == ["Ana", "Bo", "Cy\nCyson", "", "Eve"]
    assert [r.valid for r in result.rows] == [True, False, False, False, True]
    assert result.rows[1].values["email"] == "bo@"
    assert result.rows[2].values["phone"] == "123"
    assert result.imported == 2
    assert [(e.line, e.field) for e in result.row_errors] == [
        (4, "email"),
        (5, "phone"),
        (7, "full_name"),
    ]
    assert str(result.row_errors[0]) == "Line 4: Email: Enter a valid email address."
    assert result.data_rows == len(result.rows) == 5


def test_unknown_columns_are_one_warning():
    result = parse_holder_csv(lines("name,email,table,shoe size", "Ana,ana@example.com,12,38"))
    assert result.errors == []
    assert [r.valid for r in result.rows] == [True]
    assert result.warnings == [
        "These columns were not recognised and were not imported: 'table', 'shoe size'."
    ]


def test_a_row_with_more_values_than_columns_is_reported():
    result = parse_holder_csv(lines("name,email", "Pérez, Ana,ana@example.com"))
    (row,) = result.rows
    assert row.line == 2
    assert not row.valid
    assert "3 values for 2 columns" in result.row_errors[0].message
    assert result.row_errors[0].field == ""


def test_without_an_email_column_nothing_is_read_and_the_issuer_maps_the_columns():
    result = parse_holder_csv(lines("name,phone", "Ana,600 123 456", "Bo,600123457"))
    assert result.rows == []
    assert result.data_rows == 2
    assert [(e.line, e.field) for e in result.errors] == [(1, "email")]
    assert "No email column" in result.errors[0].message
    assert result.needs_mapping
    assert [(c.index, c.title, c.choice) for c in result.columns] == [
        (0, "name", "full_name"),
        (1, "phone", "phone"),
    ]
    # A phone (or document) number is never shown whole in the mapping step.
    assert result.columns[1].sample == "•••456"


def test_document_types_are_inferred_from_the_numbers_shape():
    result = parse_holder_csv(
        lines(
            "name,email,documento",
            "Ana,ana@example.com,12345678Z",
            "Bo,bo@example.com,X1234567L",
            "Cy,cy@example.com,AB123456",
        )
    )
    assert [(r.values["document_type"], r.values["document_number"]) for r in result.rows] == [
        ("dni", "12345678Z"),
        ("nie", "X1234567L"),
        ("", "AB123456"),
    ]
    # A number of no recognisable shape needs its type: reported, not guessed.
    assert [(e.line, e.field) for e in result.row_errors] == [(4, "document_type")]


def test_supplement_columns_are_not_guessed():
    f.SupplementFactory(supplement_id="drink")
    result = parse_holder_csv(lines("name,email,supplements", "Ana,ana@example.com,drink"))
    assert result.rows[0].values["supplements"] == []
    assert "'supplements'" in result.warnings[0]


# --- CsvImportForm -------------------------------------------------------------------------------


def test_pasted_text_is_parsed():
    form = CsvImportForm(
        data={"csv_text": "name,email\nAna,ana@example.com\n", "csv_mode": "append"}
    )
    assert form.is_valid(), form.errors
    assert [r.valid for r in form.cleaned_data["result"].rows] == [True]


def test_an_uploaded_file_is_decoded_and_parsed():
    upload = SimpleUploadedFile(
        "guests.csv", "\ufeffnombre;correo\nJosé;jose@example.com\n".encode(), "text/csv"
    )
    form = CsvImportForm(data={"csv_mode": "replace"}, files={"csv_file": upload})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["result"].rows[0].values["full_name"] == "José"


def test_paste_or_upload_but_not_both_and_not_neither():
    upload = SimpleUploadedFile("g.csv", b"name,email\n")
    both = CsvImportForm(
        data={"csv_text": "name,email", "csv_mode": "replace"}, files={"csv_file": upload}
    )
    assert not both.is_valid()
    assert "not both" in both.non_field_errors()[0]
    neither = CsvImportForm(data={"csv_text": "  ", "csv_mode": "replace"})
    assert not neither.is_valid()


def test_more_than_200_rows_are_refused_whole():
    text = "name,email\n" + "".join(f"Guest {i},g{i}@example.com\n" for i in range(201))
    form = CsvImportForm(data={"csv_text": text, "csv_mode": "replace"})
    assert not form.is_valid()
    assert "more than 200 holders" in form.non_field_errors()[0]
    assert "Nothing was imported" in form.non_field_errors()[0]

    text = "name,email\n" + "".join(f"Guest {i},g{i}@example.com\n" for i in range(200))
    assert CsvImportForm(data={"csv_text": text, "csv_mode": "replace"}).is_valid()


def test_reading_stops_at_the_limit_and_no_row_is_validated(monkeypatch):
    import tickets.forms.holders_csv as module

    validated = []
    real = module._validated
    monkeypatch.setattr(module, "_validated", lambda *a: validated.append(a) or real(*a))
    text = "name,email\n" + "".join(f"Guest {i},g{i}@example.com\n" for i in range(50_000))
    started = time.process_time()
    result = parse_holder_csv(text)
    assert result.too_many
    assert result.data_rows == 201  # read up to the limit plus one, not 50,000
    assert result.rows == []
    assert validated == []
    assert time.process_time() - started < 1  # 9 s of CPU before (every row validated)


def test_without_a_header_the_limit_counts_holders():
    text = "".join(f"Guest {i} <g{i}@example.com>\n" for i in range(201))
    assert parse_holder_csv(text).too_many
    assert not parse_holder_csv(text, limit=201).too_many


# --- Lists without a header row ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ana Pérez <ana@example.com>\nBo Li <bo@example.com>\n",
        '"Ana Pérez" <ana@example.com>\n"Bo Li" <bo@example.com>\n',
        "Ana Pérez, ana@example.com\nBo Li, bo@example.com\n",
        "ana@example.com;Ana Pérez\nbo@example.com;Bo Li\n",
        "Ana\tPérez\tana@example.com\nBo\tLi\tbo@example.com\n",
        "Ana Pérez ana@example.com\nBo Li bo@example.com\n",
    ],
)
def test_common_shapes_without_a_header(text):
    result = parse_holder_csv(text)
    assert not result.has_header
    assert result.errors == []
    assert [(r.values["full_name"], r.values["email"]) for r in result.rows] == [
        ("Ana Pérez", "ana@example.com"),
        ("Bo Li", "bo@example.com"),
    ]
    assert "no header row" in result.warnings[0]


def test_without_a_header_phones_dates_documents_and_genders_are_placed_by_shape():
    result = parse_holder_csv("Ana Pérez;ana@example.com;600 123 456;17/05/1990;12345678Z;mujer\n")
    (row,) = result.rows
    assert row.valid, row.errors
    assert row.values["phone"] == "+34600123456"
    assert row.values["birthday"] == "1990-05-17"
    assert (row.values["document_type"], row.values["document_number"]) == ("dni", "12345678Z")
    assert row.values["gender"] == "female"


def test_a_line_of_addresses_is_one_holder_each():
    result = parse_holder_csv('Ana Pérez <ana@example.com>; "Li, Bo" <bo@example.com>\n')
    assert [(r.line, r.values["full_name"], r.values["email"]) for r in result.rows] == [
        (1, "Ana Pérez", "ana@example.com"),
        (1, "Li, Bo", "bo@example.com"),
    ]


def test_an_email_alone_is_a_row_asking_for_the_name():
    result = parse_holder_csv("ana@example.com\nbo@example.com\n")
    assert [r.values["email"] for r in result.rows] == ["ana@example.com", "bo@example.com"]
    assert [(e.line, e.field) for e in result.row_errors] == [(1, "full_name"), (2, "full_name")]


def test_a_first_guest_without_an_email_is_not_taken_for_column_names():
    result = parse_holder_csv("Ana Pérez,\nBo Li,bo@example.com\n")
    assert not result.has_header
    assert [r.values["full_name"] for r in result.rows] == ["Ana Pérez", "Bo Li"]
    assert [(e.line, e.field) for e in result.row_errors] == [(1, "email")]


def test_a_bad_first_guest_is_not_taken_for_column_names():
    result = parse_holder_csv("Ana,ana@\nBo,bo@example.com\n")
    assert not result.has_header
    assert [r.values["email"] for r in result.rows] == ["ana@", "bo@example.com"]


def test_values_of_no_known_shape_are_left_out_and_said():
    result = parse_holder_csv("Ana Pérez,ana@example.com,28001\n")
    assert result.rows[0].values["full_name"] == "Ana Pérez"
    assert "not recognised and were not imported (lines 1)" in result.warnings[-1]


# --- Unknown headers: the issuer's mapping -------------------------------------------------------


UNKNOWN = lines("Invitado;Mail 2;Tlf;Apellido del invitado", "Ana;ana@example.com;600123456;Pérez")


def test_an_unknown_header_offers_each_column_with_a_guess_from_its_values():
    result = parse_holder_csv(UNKNOWN)
    assert result.needs_mapping
    assert result.rows == []
    assert result.header_key == header_key(["Invitado", "Mail 2", "Tlf", "Apellido del invitado"])
    assert [(c.title, c.sample, c.choice) for c in result.columns] == [
        ("Invitado", "Ana", "full_name"),
        ("Mail 2", "ana@example.com", "email"),
        ("Tlf", "•••456", "phone"),
        ("Apellido del invitado", "Pérez", ""),
    ]


def test_the_issuers_mapping_reads_the_list():
    key = parse_holder_csv(UNKNOWN).header_key
    mapping = (key, {0: "first_name", 1: "email", 2: "phone", 3: "last_name"})
    result = parse_holder_csv(UNKNOWN, mapping=mapping)
    assert not result.needs_mapping
    assert result.warnings == []  # what the issuer chose to ignore needs no warning
    (row,) = result.rows
    assert row.valid, row.errors
    assert (row.values["full_name"], row.values["phone"]) == ("Ana Pérez", "+34600123456")


def test_a_mapping_for_another_header_is_ignored():
    result = parse_holder_csv(UNKNOWN, mapping=("0" * 16, {0: "full_name", 1: "email"}))
    assert result.needs_mapping


def test_a_mapping_with_two_email_columns_is_refused_and_offered_again():
    key = parse_holder_csv(UNKNOWN).header_key
    result = parse_holder_csv(UNKNOWN, mapping=(key, {0: "full_name", 1: "email", 2: "email"}))
    assert result.needs_mapping
    assert "'Mail 2', 'Tlf' all look like the email" in result.errors[0].message
    assert [c.choice for c in result.columns] == ["full_name", "email", "email", ""]


def test_a_mapping_with_both_full_and_split_names_is_refused():
    key = parse_holder_csv(UNKNOWN).header_key
    mapping = (key, {0: "full_name", 1: "email", 3: "last_name"})
    result = parse_holder_csv(UNKNOWN, mapping=mapping)
    assert "not both" in result.errors[0].message


def test_the_form_reads_the_posted_mapping():
    key = parse_holder_csv(UNKNOWN).header_key
    data = {
        "csv_text": UNKNOWN,
        "csv_mode": "replace",
        "csv_header_key": key,
        "csv_column-0": "full_name",
        "csv_column-1": "email",
        "csv_column-2": "something else",  # not a choice: ignored
    }
    form = CsvImportForm(data=data)
    assert form.is_valid(), form.errors
    assert form.posted_mapping() == (key, {0: "full_name", 1: "email", 2: ""})
    assert form.cleaned_data["result"].rows[0].values["full_name"] == "Ana"


# --- Encodings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_as_excels_unicode_text_is_read(encoding):
    raw = "Nombre completo\tCorreo\r\nJosé Núñez\tjose@example.com\r\n".encode(encoding)
    text = decode_csv_bytes(raw)
    assert text.removeprefix("\ufeff").startswith("Nombre completo\tCorreo")
    result = parse_holder_csv(text)
    assert result.errors == []
    assert result.rows[0].values["full_name"] == "José Núñez"


def test_files_over_1_mb_are_refused():
    upload = SimpleUploadedFile("big.csv", b"name,email\n" + b"x" * (1024 * 1024))
    form = CsvImportForm(data={"csv_mode": "replace"}, files={"csv_file": upload})
    assert not form.is_valid()
    assert "over 1 MB" in form.non_field_errors()[0]


def test_a_language_column_in_either_language_is_read():
    result = parse_holder_csv(
        lines(
            "nombre,correo,idioma",
            "Ana Pérez,ana@example.com,Inglés",
            "Bo Li,bo@example.com,español",
            "Cy Ro,cy@example.com,EN",
            "Di Vo,di@example.com,",
        )
    )
    assert result.errors == []
    assert result.row_errors == []
    assert [row["language"] for row in values(result)] == ["en", "es", "en", settings.LANGUAGE_CODE]


def test_a_language_it_cannot_read_is_an_error_on_the_row():
    result = parse_holder_csv(lines("full name,email,language", "Ana Pérez,ana@example.com,fr"))
    (row,) = result.rows
    assert not row.valid
    assert [error.field for error in row.errors] == ["language"]
    assert "'fr' is not understood" in row.errors[0].message
