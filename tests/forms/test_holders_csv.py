import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests import factories as f
from tickets.forms.holders_csv import CsvImportForm, decode_csv_bytes, parse_holder_csv

pytestmark = pytest.mark.django_db


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
    assert result.warnings == []
    assert result.rows == [
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
    assert result.errors == [], result.errors
    assert result.warnings == []  # every column recognised
    row = result.rows[0]
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
    assert result.rows[0]["full_name"] == "Ana Pérez"


def test_a_lone_nombre_column_is_the_full_name():
    result = parse_holder_csv(lines("NOMBRE,CORREO", "Ana Pérez,ana@example.com"))
    assert result.rows[0]["full_name"] == "Ana Pérez"


@pytest.mark.parametrize("written", ["1990-05-17", "17/05/1990", "17-05-1990", "17.05.1990"])
def test_birthday_formats(written):
    result = parse_holder_csv(lines("name,email,date of birth", f"Ana,ana@example.com,{written}"))
    assert result.errors == []
    assert result.rows[0]["birthday"] == "1990-05-17"


def test_an_unreadable_birthday_is_reported_on_its_line():
    result = parse_holder_csv(lines("name,email,birthday", "Ana,ana@example.com,05/17/1990"))
    assert result.rows == []
    assert [(e.line, e.field) for e in result.errors] == [(2, "birthday")]
    assert "'05/17/1990' is not a date" in result.errors[0].message


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"), ("\t", "tab")])
def test_the_delimiter_is_sniffed(delimiter, name):
    text = lines(
        delimiter.join(["name", "email", "address"]),
        delimiter.join(["Ana", "ana@example.com", '"Calle Mayor 1, 2º"']),
    )
    result = parse_holder_csv(text)
    assert result.errors == [], name
    assert result.rows[0]["address"] == "Calle Mayor 1, 2º"


@pytest.mark.parametrize(
    ("written", "gender"),
    [("mujer", "female"), ("M", "male"), ("f", "female"), ("Hombre", "male"), ("", "")],
)
def test_gender_values_in_english_and_spanish(written, gender):
    result = parse_holder_csv(lines("name,email,género", f"Ana,ana@example.com,{written}"))
    assert result.rows[0]["gender"] == gender


def test_an_unknown_gender_is_reported_not_dropped():
    result = parse_holder_csv(lines("name,email,sexo", "Ana,ana@example.com,x"))
    assert result.rows == []
    assert "Gender: 'x' is not understood" in result.errors[0].message


def test_utf8_with_a_bom_is_read():
    raw = "\ufeffNombre completo;Correo\nJosé Núñez;jose@example.com\n".encode()
    result = parse_holder_csv(decode_csv_bytes(raw))
    assert result.errors == []
    assert result.rows[0]["full_name"] == "José Núñez"


def test_windows_1252_is_read():
    raw = "Nombre completo;Correo\nJosé Núñez;jose@example.com\n".encode("cp1252")
    assert decode_csv_bytes(raw).startswith("Nombre completo")
    result = parse_holder_csv(decode_csv_bytes(raw))
    assert result.rows[0]["full_name"] == "José Núñez"


def test_bad_rows_are_reported_with_their_line_in_the_file_and_nothing_is_dropped():
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
    assert [r["full_name"] for r in result.rows] == ["Ana", "Eve"]
    assert [(e.line, e.field) for e in result.errors] == [
        (4, "email"),
        (5, "phone"),
        (7, "full_name"),
    ]
    assert str(result.errors[0]) == "Line 4: Email: Enter a valid email address."
    # Every data row is either imported or reported.
    assert result.data_rows == 5
    assert len(result.rows) + len({e.line for e in result.errors}) == result.data_rows


def test_unknown_columns_are_one_warning():
    result = parse_holder_csv(lines("name,email,table,shoe size", "Ana,ana@example.com,12,38"))
    assert result.errors == []
    assert len(result.rows) == 1
    assert result.warnings == [
        "These columns were not recognised and were not imported: 'table', 'shoe size'."
    ]


def test_a_row_with_more_values_than_columns_is_reported():
    result = parse_holder_csv(lines("name,email", "Pérez, Ana,ana@example.com"))
    assert result.rows == []
    assert result.errors[0].line == 2
    assert "3 values for 2 columns" in result.errors[0].message


def test_without_an_email_column_nothing_is_imported_and_the_header_is_blamed():
    result = parse_holder_csv(lines("name,phone", "Ana,600123456", "Bo,600123457"))
    assert result.rows == []
    assert result.errors[0].line == 1
    assert "No email column" in result.errors[0].message
    assert "None of the 2 rows were imported" in result.errors[-1].message


def test_document_types_are_inferred_from_the_numbers_shape():
    result = parse_holder_csv(
        lines(
            "name,email,documento",
            "Ana,ana@example.com,12345678Z",
            "Bo,bo@example.com,X1234567L",
            "Cy,cy@example.com,AB123456",
        )
    )
    assert [(r["document_type"], r["document_number"]) for r in result.rows] == [
        ("dni", "12345678Z"),
        ("nie", "X1234567L"),
    ]
    # A number of no recognisable shape needs its type: reported, not guessed.
    assert [(e.line, e.field) for e in result.errors] == [(4, "document_type")]


def test_supplement_columns_are_not_guessed():
    f.SupplementFactory(supplement_id="drink")
    result = parse_holder_csv(lines("name,email,supplements", "Ana,ana@example.com,drink"))
    assert result.rows[0]["supplements"] == []
    assert "'supplements'" in result.warnings[0]


# --- CsvImportForm ----------------------------------------------------------------------------


def test_pasted_text_is_parsed():
    form = CsvImportForm(
        data={"csv_text": "name,email\nAna,ana@example.com\n", "csv_mode": "append"}
    )
    assert form.is_valid(), form.errors
    assert len(form.cleaned_data["result"].rows) == 1


def test_an_uploaded_file_is_decoded_and_parsed():
    upload = SimpleUploadedFile(
        "guests.csv", "\ufeffnombre;correo\nJosé;jose@example.com\n".encode(), "text/csv"
    )
    form = CsvImportForm(data={"csv_mode": "replace"}, files={"csv_file": upload})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["result"].rows[0]["full_name"] == "José"


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
    assert "201 holders" in form.non_field_errors()[0]

    text = "name,email\n" + "".join(f"Guest {i},g{i}@example.com\n" for i in range(200))
    assert CsvImportForm(data={"csv_text": text, "csv_mode": "replace"}).is_valid()


def test_files_over_1_mb_are_refused():
    upload = SimpleUploadedFile("big.csv", b"name,email\n" + b"x" * (1024 * 1024))
    form = CsvImportForm(data={"csv_mode": "replace"}, files={"csv_file": upload})
    assert not form.is_valid()
    assert "over 1 MB" in form.non_field_errors()[0]
