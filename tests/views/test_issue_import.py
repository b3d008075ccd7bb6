"""The import into the issuing form's rows: pasted or uploaded lists, with or without a header,
bad rows kept in place, the mapping step for unknown headers, and the size limits."""

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.views.issue_support import form_data, input_value

pytestmark = pytest.mark.django_db


def row_html(html, index):
    """The markup of holder row `index` (from its card to the next)."""
    cards = html.split('<div class="holder-row')
    return cards[index + 1]


EMPTY = {"full_name": "", "email": ""}
BO = {"full_name": "Bo Li", "email": "bo@example.com"}
CSV = "nombre;apellidos;correo;teléfono\nAna;Pérez;ANA@example.com;600123456\n\nBo;;bo@;\n"


def post_import(client, catalogue, rows=(EMPTY,), htmx=True, **fields):
    data = form_data(catalogue, list(rows), **{"csv_mode": "replace", **fields})
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(reverse("issue-import"), data, **extra)


# --- Bad rows are kept, with their values and errors ---------------------------------------------


def test_a_bad_line_becomes_a_row_with_its_values_and_error_not_dropped(issuer_client, catalogue):
    response = post_import(issuer_client, catalogue, csv_text=CSV)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith("<section") or 'id="holders-section"' in html[:200]
    assert 'name="holders-TOTAL_FORMS" value="2"' in html
    assert input_value(html, "holders-0-full_name") == "Ana Pérez"
    assert input_value(html, "holders-0-phone") == "+34600123456"
    # The bad line is row 2, as written, with its error on the field.
    assert input_value(html, "holders-1-full_name") == "Bo"
    assert input_value(html, "holders-1-email") == "bo@"
    bad = row_html(html, 1)
    assert "border-danger" in bad
    assert 'aria-invalid="true"' in bad
    assert "Enter a valid email address." in bad
    assert "border-danger" not in row_html(html, 0)
    # The report names it and points at it.
    assert "Imported 2 holders into the rows." in html
    assert "One of them has a problem" in html
    assert 'href="#id_holders-1-full_name"' in html
    assert "Holder 2 (line 4)" in html


def test_a_value_the_import_cannot_read_is_said_on_the_row_in_the_files_words(
    issuer_client, catalogue
):
    text = "name,email,sexo,birthday\nAna,ana@example.com,x,05/17/1990\n"
    html = post_import(issuer_client, catalogue, csv_text=text).content.decode()
    row = row_html(html, 0)
    assert input_value(html, "holders-0-full_name") == "Ana"
    assert "Gender: &#x27;x&#x27; is not understood" in row
    assert "&#x27;05/17/1990&#x27; is not a date" in row


def test_in_append_mode_bad_rows_are_numbered_after_the_kept_ones(issuer_client, catalogue):
    html = post_import(
        issuer_client, catalogue, rows=(BO, EMPTY), csv_text=CSV, csv_mode="append"
    ).content.decode()
    assert 'name="holders-TOTAL_FORMS" value="3"' in html
    assert input_value(html, "holders-0-full_name") == "Bo Li"
    assert input_value(html, "holders-2-email") == "bo@"
    assert "Holder 3 (line 4)" in html
    assert "border-danger" in row_html(html, 2)
    assert "border-danger" not in row_html(html, 0)


def test_a_bad_row_fixed_in_place_goes_to_review_with_everyone(issuer_client, catalogue):
    """The imported rows are ordinary rows: fixing the bad one and submitting reviews all."""
    html = post_import(issuer_client, catalogue, csv_text=CSV).content.decode()
    rows = [
        {"full_name": input_value(html, "holders-0-full_name"), "email": "ana@example.com"},
        {"full_name": "Bo", "email": "bo@example.com"},
    ]
    data = form_data(catalogue, rows)
    response = issuer_client.post(reverse("issue-new"), data)
    assert response.status_code == 302
    review = issuer_client.get(response["Location"]).content.decode()
    assert "Ana Pérez" in review
    assert "bo@example.com" in review


def test_without_javascript_the_whole_form_comes_back_with_the_bad_row(issuer_client, catalogue):
    data = form_data(catalogue, [EMPTY], csv_text=CSV, csv_mode="replace")
    response = issuer_client.post(reverse("issue-import"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" in html
    assert f'name="idempotency_key" value="{data["idempotency_key"]}"' in html
    assert f'<option value="{catalogue["rate"].pk}" selected>' in html
    assert input_value(html, "holders-0-full_name") == "Ana Pérez"
    assert input_value(html, "holders-1-email") == "bo@"
    assert "Enter a valid email address." in html


def test_an_import_that_would_pass_200_holders_imports_nothing(issuer_client, catalogue):
    typed = [{"full_name": f"Guest {i}", "email": f"g{i}@example.com"} for i in range(150)]
    csv_text = "name,email\n" + "".join(f"New {i},n{i}@example.com\n" for i in range(60))
    html = post_import(
        issuer_client, catalogue, rows=typed, csv_text=csv_text, csv_mode="append"
    ).content.decode()
    assert "That would make 210 holders" in html
    assert 'name="holders-TOTAL_FORMS" value="150"' in html


# --- Lists without a header ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Ana Pérez <ana@example.com>\nBo Li <bo@example.com>\n",
        "Ana Pérez, ana@example.com\nBo Li, bo@example.com\n",
        "Ana Pérez\tana@example.com\nBo Li\tbo@example.com\n",
        "Ana Pérez;ana@example.com;600123456\nBo Li;bo@example.com;\n",
        "ana@example.com, Ana Pérez\nbo@example.com, Bo Li\n",
    ],
)
def test_a_list_without_a_header_imports_its_first_guest_too(issuer_client, catalogue, text):
    html = post_import(issuer_client, catalogue, csv_text=text).content.decode()
    assert 'name="holders-TOTAL_FORMS" value="2"' in html
    assert input_value(html, "holders-0-full_name") == "Ana Pérez"
    assert input_value(html, "holders-0-email") == "ana@example.com"
    assert input_value(html, "holders-1-full_name") == "Bo Li"
    assert "The list has no header row" in html
    assert "No name column" not in html


# --- Unknown headers: the mapping step -----------------------------------------------------------


UNKNOWN = (
    "Invitado Nombre;Mail 2;Tlf;DNI del invitado\nAna Pérez;ana@example.com;600123456;12345678Z\n"
)


def test_an_unknown_header_asks_what_each_column_holds_and_keeps_the_rows(issuer_client, catalogue):
    html = post_import(issuer_client, catalogue, rows=(BO,), csv_text=UNKNOWN).content.decode()
    assert "What does each column hold?" in html
    # The typed rows are untouched (even in replace mode): nothing was imported yet.
    assert 'name="holders-TOTAL_FORMS" value="1"' in html
    assert input_value(html, "holders-0-full_name") == "Bo Li"
    # One select per column, a guess preselected from the first values.
    assert re.search(r'name="csv_header_key" value="[0-9a-f]{16}"', html)
    for index, title in enumerate(["Invitado Nombre", "Mail 2", "Tlf", "DNI del invitado"]):
        assert f'name="csv_column-{index}"' in html
        assert f">{title}</label>" in html
    assert re.search(r'name="csv_column-1".*?<option value="email" selected>', html, re.S)
    # Samples never show a whole document number.
    assert "12345678Z" not in html
    assert "First value: Ana Pérez" in html


def test_the_chosen_columns_import_the_list(issuer_client, catalogue):
    html = post_import(issuer_client, catalogue, csv_text=UNKNOWN).content.decode()
    key = re.search(r'name="csv_header_key" value="([0-9a-f]+)"', html).group(1)
    chosen = {
        "csv_header_key": key,
        "csv_column-0": "full_name",
        "csv_column-1": "email",
        "csv_column-2": "phone",
        "csv_column-3": "document_number",
    }
    html = post_import(issuer_client, catalogue, csv_text=UNKNOWN, **chosen).content.decode()
    assert "What does each column hold?" not in html
    assert input_value(html, "holders-0-full_name") == "Ana Pérez"
    assert input_value(html, "holders-0-email") == "ana@example.com"
    assert input_value(html, "holders-0-phone") == "+34600123456"
    assert "Imported one holder into the rows." in html


def test_a_mapping_without_an_email_column_asks_again(issuer_client, catalogue):
    html = post_import(issuer_client, catalogue, csv_text=UNKNOWN).content.decode()
    key = re.search(r'name="csv_header_key" value="([0-9a-f]+)"', html).group(1)
    chosen = {"csv_header_key": key, "csv_column-0": "full_name", "csv_column-1": ""}
    html = post_import(issuer_client, catalogue, csv_text=UNKNOWN, **chosen).content.decode()
    assert "What does each column hold?" in html
    assert "No email column" in html
    assert re.search(r'name="csv_column-0".*?<option value="full_name" selected>', html, re.S)


def test_a_mapping_made_for_another_header_is_not_applied(issuer_client, catalogue):
    chosen = {"csv_header_key": "0" * 16, "csv_column-0": "full_name", "csv_column-1": "email"}
    html = post_import(issuer_client, catalogue, csv_text=UNKNOWN, **chosen).content.decode()
    assert "What does each column hold?" in html


def test_without_javascript_an_uploaded_file_to_map_comes_back_as_text(issuer_client, catalogue):
    upload = SimpleUploadedFile("guests.csv", UNKNOWN.encode("utf-16"), "text/csv")
    data = form_data(catalogue, [EMPTY], csv_mode="replace", csv_file=upload)
    html = issuer_client.post(reverse("issue-import"), data).content.decode()
    assert "What does each column hold?" in html
    # The browser forgets the file: the text read is in the text box for the next import.
    assert "Invitado Nombre;Mail 2;Tlf" in html.split('name="csv_text"', 1)[1][:300]


# --- Sizes and encodings -------------------------------------------------------------------------


def test_a_utf16_file_as_excel_writes_it_imports(issuer_client, catalogue):
    text = "Nombre completo\tCorreo\r\nJosé Núñez\tjose@example.com\r\n"
    upload = SimpleUploadedFile("unicode.txt", text.encode("utf-16"), "text/plain")
    data = form_data(catalogue, [EMPTY], csv_mode="replace", csv_file=upload)
    html = issuer_client.post(
        reverse("issue-import"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert input_value(html, "holders-0-full_name") == "José Núñez"
    assert "No name column" not in html


def test_a_50000_row_file_is_refused_with_the_limit_without_reading_it_all(
    issuer_client, catalogue
):
    text = "name,email\n" + "".join(f"G {i},g{i}@example.com\n" for i in range(50_000))
    upload = SimpleUploadedFile("big.csv", text.encode()[: 1024 * 1024 - 1], "text/csv")
    data = form_data(catalogue, [BO], csv_mode="replace", csv_file=upload)
    html = issuer_client.post(
        reverse("issue-import"), data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "more than 200 holders" in html
    assert input_value(html, "holders-0-full_name") == "Bo Li"  # nothing changed


def test_a_paste_beyond_the_request_limit_gets_the_imports_own_message(
    issuer_client, catalogue, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    text = "name,email\n" + "x" * 60_000
    response = post_import(issuer_client, catalogue, csv_text=text)
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps only 2xx answers
    assert response["HX-Retarget"] == "#import-report"
    assert response["HX-Reswap"] == "innerHTML"
    assert "The list is too large to import; nothing was imported." in html
    assert "Bad Request" not in html


def test_without_javascript_a_paste_beyond_the_limit_gets_a_page_that_says_so(
    issuer_client, catalogue, settings
):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    response = post_import(issuer_client, catalogue, htmx=False, csv_text="x" * 60_000)
    html = response.content.decode()
    assert response.status_code == 413
    assert "<html" in html
    assert "The list is too large to import" in html
    assert "Back button" in html


def test_other_oversized_posts_keep_djangos_400(issuer_client, catalogue, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 50_000
    data = form_data(catalogue, [{"full_name": "x" * 60_000, "email": "a@example.com"}])
    response = issuer_client.post(reverse("issue-new"), data)
    assert response.status_code == 400
    assert "too large to import" not in response.content.decode()


# --- In Spanish ----------------------------------------------------------------------------------


def test_the_report_and_the_row_errors_speak_spanish(issuer_client, catalogue):
    data = form_data(catalogue, [EMPTY], csv_text=CSV, csv_mode="replace")
    html = issuer_client.post(
        reverse("issue-import"), data, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Se han importado 2 titulares en las filas." in html
    assert "Titular 2 (línea 4)" in html


def test_the_mapping_step_speaks_spanish(issuer_client, catalogue):
    data = form_data(catalogue, [EMPTY], csv_text=UNKNOWN, csv_mode="replace")
    html = issuer_client.post(
        reverse("issue-import"), data, HTTP_HX_REQUEST="true", HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "¿Qué contiene cada columna?" in html
    assert "Importar con estas columnas" in html
    assert "Ignorar esta columna" in html
