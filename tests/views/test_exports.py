"""GET /tickets/export/: a streamed download of exactly the search, or a 400 that says why."""

import csv
import io
import zipfile

import pytest
from django.urls import reverse

from tests import factories as f
from tests.export_job_support import ticket
from tickets.models import AuditEntry

pytestmark = pytest.mark.django_db

URL = "/tickets/export/"


def csv_of(response):
    assert response.streaming
    data = b"".join(response.streaming_content).decode("utf-8")
    return list(csv.reader(io.StringIO(data.removeprefix("\ufeff"))))


def test_the_url_is_named():
    assert reverse("ticket-export") == URL


def test_a_manager_downloads_the_filtered_search_as_csv(client):
    manager = f.manager()
    issuance = f.IssuanceFactory()
    vip = [ticket(issuance, rate_name="VIP") for _ in range(3)]
    ticket(issuance, rate_name="Guest list")
    client.force_login(manager)

    response = client.get(URL, {"rate": "VIP", "sort": "-code", "columns": "code,holder,rate"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="comps-tickets-')
    assert response["Content-Disposition"].endswith('.csv"')
    assert "no-store" in response["Cache-Control"]
    rows = csv_of(response)
    assert rows[0] == ["Ticket code", "Holder", "Rate"]
    assert rows[1:] == [[t.code, t.name, "VIP"] for t in sorted(vip, key=lambda t: t.code)[::-1]]
    entry = AuditEntry.objects.get(action="tickets.exported")
    assert entry.data["filter"] == {"rate": "VIP", "sort": "-code"}
    assert entry.data["row_count"] == 3
    assert entry.ip_address == "127.0.0.1"


def test_xlsx_download(client):
    ticket(f.IssuanceFactory(), name="Zoë")
    client.force_login(f.manager())
    response = client.get(URL, {"format": "xlsx", "columns": ["code", "holder"]})
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert response["Content-Disposition"].endswith('.xlsx"')
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "Zoë" in archive.read("xl/worksheets/sheet1.xml").decode()


def test_an_issuer_exports_only_their_own_tickets(client):
    issuer = f.issuer()
    mine = ticket(f.IssuanceFactory(created_by=issuer))
    ticket(f.IssuanceFactory())
    client.force_login(issuer)
    rows = csv_of(client.get(URL, {"columns": "code"}))
    assert rows[1:] == [[mine.code]]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"format": "pdf"}, "Unknown export format"),
        ({"columns": "code,secret_sauce"}, "Unknown export column"),
        ({"issued_from": "not-a-date"}, "cannot be exported"),
        ({"documents": "1"}, "not allowed to export document numbers"),
        ({"columns": "code,document_number"}, "not allowed to export document numbers"),
    ],
)
def test_bad_parameters_are_a_400_with_a_reason(client, params, message):
    client.force_login(f.issuer())
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEntry.objects.filter(action="tickets.exported").exists()


def test_a_bad_filter_is_a_400_that_names_the_parameter(client):
    client.force_login(f.manager())
    response = client.get(URL, {"issued_from": "yesterday", "sort": "password"})
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    reason = response.content.decode()
    assert reason.startswith("The search cannot be exported as it stands (Issued from: ")
    assert "sort: Cannot sort by “password”." in reason
    assert not AuditEntry.objects.filter(action="tickets.exported").exists()


def test_documents_for_a_manager_who_may_see_them(client):
    ticket(f.IssuanceFactory())
    client.force_login(f.manager())  # the Manager role holds tickets.view_document_numbers
    rows = csv_of(client.get(URL, {"columns": "code", "documents": "1"}))
    assert rows[0] == ["Ticket code", "Document type", "Document number"]


def test_someone_without_a_role_cannot_export(client):
    client.force_login(f.UserFactory())
    assert client.get(URL).status_code == 403


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code in (302, 403)
    assert not AuditEntry.objects.filter(action="tickets.exported").exists()


def test_the_export_speaks_the_language_of_the_person_exporting(client):
    manager = f.manager()
    issuance = f.IssuanceFactory()
    ticket(issuance, code="C1", is_valid=False, status="cancelled")
    client.force_login(manager)

    response = client.get(URL, {"columns": "code,status"}, HTTP_ACCEPT_LANGUAGE="es")

    rows = csv_of(response)
    assert rows[0] == ["Código de la entrada", "Estado"]
    assert rows[1] == ["C1", "Cancelada"]  # what the search page says, not "cancelled"


def test_the_csv_for_spanish_excel_is_a_format_of_its_own(client):
    manager = f.manager()
    issuance = f.IssuanceFactory()
    ticket(issuance, code="P1", price="12.50")
    client.force_login(manager)

    response = client.get(URL, {"format": "csv-es", "columns": "code,price"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].endswith('.csv"')
    data = b"".join(response.streaming_content)
    assert data.startswith("\ufeff".encode())
    assert data.decode("utf-8").removeprefix("\ufeff").splitlines() == [
        "Ticket code;Price",
        "P1;12,50",
    ]
    assert AuditEntry.objects.get(action="tickets.exported").data["format"] == "csv-es"


def test_an_unknown_format_is_a_400_in_the_language_of_the_person(client):
    client.force_login(f.manager())
    response = client.get(URL, {"format": "pdf"}, HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 400
    assert "Formato de exportación desconocido «pdf»" in response.content.decode()
