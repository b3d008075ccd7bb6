"""A large XLSX export is offered for preparation in the background, prepared by the worker,
shown on a page that asks for its state until it is ready, downloaded once, and seen by its
owner only; CSV and small XLSX exports still stream at once."""

import re

import pytest
from django.urls import reverse

from tests import factories as f
from tests.export_job_support import ticket, use_export_dir
from tests.fixtures.worker import drain_tasks
from tests.xlsx_support import sheet_rows
from tickets.models import AuditEntry, ExportJob, ExportJobState, LineState
from tickets.text import document_digest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

EXPORT = "/tickets/export/"
DOCUMENT = "12345678Z"


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    return use_export_dir(settings, tmp_path)


@pytest.fixture
def tickets():
    issuance = f.IssuanceFactory()
    return [ticket(issuance, rate_name="VIP") for _ in range(5)]


def hidden_fields(page: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page))


def ask_for_large_export(client, params):
    """The export link, then the offer's button: the job's page."""
    offer = client.get(EXPORT, {"format": "xlsx", **params})
    assert offer.status_code == 200
    assert not offer.streaming
    page = offer.content.decode()
    assert 'data-testid="export-offer"' in page
    assert reverse("export-job-create") in page
    fields = hidden_fields(page)
    fields.pop("csrfmiddlewaretoken", None)
    response = client.post(reverse("export-job-create"), fields)
    assert response.status_code == 302
    return response


def test_a_large_xlsx_becomes_a_job_ready_to_download_once(client, tickets, export_dir):
    manager = f.manager()
    client.force_login(manager)

    response = ask_for_large_export(client, {"rate": "VIP", "sort": "code", "columns": "code,rate"})

    job = ExportJob.objects.get()
    assert response["Location"] == reverse("export-job-detail", args=[job.pk])
    assert job.owner == manager
    assert job.state == ExportJobState.QUEUED
    assert job.columns == ["code", "rate"]
    assert job.filters == {"rate": "VIP", "sort": "code"}
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "no-store" in page["Cache-Control"]
    text = page.content.decode()
    assert 'data-testid="export-preparing"' in text
    assert "Rate name: VIP" in text  # what the export is of, as the search form says it
    assert "Ticket code, Rate" in text
    assert f'hx-get="{reverse("export-job-status", args=[job.pk])}"' in text  # polling

    drain_tasks()

    status = client.get(reverse("export-job-status", args=[job.pk])).content.decode()
    assert "hx-get" not in status  # ready: the polling stops
    download_url = reverse("export-job-download", args=[job.pk])
    assert download_url in status
    assert "5 tickets" in status

    download = client.get(download_url)
    assert download.status_code == 200
    assert download.streaming
    assert "no-store" in download["Cache-Control"]
    assert download["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert download["Content-Disposition"].startswith('attachment; filename="comps-tickets-')
    content = b"".join(download.streaming_content)
    assert sheet_rows(content) == [
        ["Ticket code", "Rate"],
        *([t.code, "VIP"] for t in sorted(tickets, key=lambda t: t.code)),
    ]
    assert list(export_dir.iterdir()) == []  # deleted once handed over
    assert AuditEntry.objects.filter(action="tickets.exported").count() == 1

    again = client.get(download_url)
    assert again.status_code == 410
    assert "already downloaded" in again.content.decode()
    assert AuditEntry.objects.filter(action="tickets.exported").count() == 1
    listing = client.get(reverse("export-job-list")).content.decode()
    assert reverse("export-job-detail", args=[job.pk]) in listing
    assert download_url not in listing  # expired: nothing to download


def test_a_small_xlsx_and_any_csv_still_stream_at_once(client, tickets):
    client.force_login(f.manager())
    small = client.get(EXPORT, {"format": "xlsx", "q": tickets[0].code})
    assert small.status_code == 200
    assert small.streaming
    large_csv = client.get(EXPORT, {"format": "csv"})
    assert large_csv.streaming
    assert len(b"".join(large_csv.streaming_content).splitlines()) == 6
    assert not ExportJob.objects.exists()


def test_the_job_is_asked_for_by_post_only(client, tickets):
    client.force_login(f.manager())
    assert client.get(reverse("export-job-create"), {"format": "xlsx"}).status_code == 405
    assert not ExportJob.objects.exists()


def test_bad_parameters_are_a_400_and_no_job(client, tickets):
    client.force_login(f.issuer())
    create = reverse("export-job-create")
    response = client.post(create, {"format": "xlsx", "documents": "1"})
    assert response.status_code == 400
    assert "not allowed to export document numbers" in response.content.decode()
    assert client.post(create, {"format": "xlsx", "sort": "nonsense"}).status_code == 400
    csv = client.post(create, {"format": "csv"})
    assert csv.status_code == 400
    assert "CSV downloads at once" in csv.content.decode()
    assert not ExportJob.objects.exists()


def test_another_person_can_neither_see_nor_fetch_it(client, tickets):
    issuer = tickets[0].line.issuance.created_by
    client.force_login(issuer)
    ask_for_large_export(client, {})
    drain_tasks()
    job = ExportJob.objects.get()
    assert job.state == ExportJobState.READY
    assert job.row_count == 5  # the issuer's own tickets

    for someone_else in (f.manager(), f.admin(), f.issuer()):
        client.force_login(someone_else)
        for name in ("export-job-detail", "export-job-status", "export-job-download"):
            assert client.get(reverse(name, args=[job.pk])).status_code == 404
        listing = client.get(reverse("export-job-list")).content.decode()
        assert reverse("export-job-detail", args=[job.pk]) not in listing
    job.refresh_from_db()
    assert job.state == ExportJobState.READY
    assert not AuditEntry.objects.filter(action="tickets.exported").exists()


def test_a_failed_build_shows_failed_with_a_message(client, tickets, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    settings.COMPS_EXPORT_DIR = blocker / "exports"
    client.force_login(f.manager())
    location = ask_for_large_export(client, {})["Location"]
    drain_tasks()
    page = client.get(location).content.decode()
    assert 'data-testid="export-unavailable"' in page
    assert "could not be prepared" in page
    assert "hx-get" not in page
    job = ExportJob.objects.get()
    download = client.get(reverse("export-job-download", args=[job.pk]))
    assert download.status_code == 410
    assert "could not be prepared" in download.content.decode()


def test_a_search_by_document_number_is_exported_without_the_number(client, export_dir):
    line = f.IssuanceLineFactory(
        state=LineState.CONFIRMED,
        document_type="dni",
        document_number=DOCUMENT,
        document_digest=document_digest(DOCUMENT),
    )
    holder = f.IssuedTicketFactory(line=line, name="Dora Canary")
    for _ in range(4):  # their other tickets: more than the inline limit in all
        f.IssuedTicketFactory(
            line=f.IssuanceLineFactory(
                state=LineState.CONFIRMED,
                document_number=DOCUMENT,
                document_digest=document_digest(DOCUMENT),
            )
        )
    f.IssuedTicketFactory()  # someone else
    client.force_login(f.manager())
    found = client.post(reverse("ticket-search-document"), {"document": DOCUMENT})
    token = re.search(r"doc=([^&]+)", found["Location"]).group(1)

    location = ask_for_large_export(client, {"doc": token, "columns": "code,holder"})["Location"]
    drain_tasks()

    job = ExportJob.objects.get()
    assert job.state == ExportJobState.READY, job.error
    assert job.row_count == 5
    assert "12345678" not in location
    assert "12345678" not in job.file_name
    assert "12345678" not in client.get(location).content.decode()
    for value in ExportJob.objects.values_list().get():
        assert "12345678" not in str(value).upper()
        assert document_digest(DOCUMENT) not in str(value)
    download = client.get(reverse("export-job-download", args=[job.pk]))
    assert "12345678" not in download["Content-Disposition"]
    rows = sheet_rows(b"".join(download.streaming_content))
    assert rows[0] == ["Ticket code", "Holder"]
    assert holder.code in {row[0] for row in rows[1:]}
    assert len(rows) == 6


def test_the_pages_speak_spanish(client, tickets):
    client.force_login(f.manager())
    spanish = {"HTTP_ACCEPT_LANGUAGE": "es"}
    offer = client.get(EXPORT, {"format": "xlsx"}, **spanish).content.decode()
    assert "Preparar la exportación" in offer
    fields = hidden_fields(offer)
    fields.pop("csrfmiddlewaretoken", None)
    location = client.post(reverse("export-job-create"), fields, **spanish)["Location"]
    assert "Tu exportación se está preparando" in client.get(location, **spanish).content.decode()
    drain_tasks()
    ready = client.get(location, **spanish).content.decode()
    assert "Descargar la exportación (Excel)" in ready
    assert "Código de la entrada" in ready  # the columns, as the file's headers say them
    assert "Lista" in ready  # the state
