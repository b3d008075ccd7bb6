"""Large exports prepared by the worker: built with the search's own writer in constant memory,
handed over once, deleted after the TTL, failed when the build or its worker fails, and a
document number never kept in clear."""

import datetime as dt
import json
import os
import re
import stat
import uuid

import pytest
import time_machine
from django.db import connection
from django.utils import timezone, translation

from tests import factories as f
from tests.export_job_support import ticket, use_export_dir
from tests.fixtures.worker import drain_tasks
from tests.xlsx_support import open_workbook, sheet_rows
from tickets.models import AuditEntry, ExportJob, ExportJobState, LineState
from tickets.selectors.search import TicketSearchFilters
from tickets.services import export_jobs, exports
from tickets.services.heartbeat import Heartbeat
from tickets.services.maintenance import run_maintenance
from tickets.text import document_digest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

DOCUMENT = "12345678Z"


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    return use_export_dir(settings, tmp_path)


@pytest.fixture
def vip_tickets():
    issuance = f.IssuanceFactory()
    ticket(issuance, rate_name="Guest list")
    return [ticket(issuance, rate_name="VIP") for _ in range(5)]


def queue(user, **filters):
    return export_jobs.request_export(
        user=user,
        filters=TicketSearchFilters(**filters),
        columns=["code", "holder", "rate"],
        fmt="xlsx",
    )


def built(job):
    drain_tasks()
    job.refresh_from_db()
    return job


def test_a_large_xlsx_is_large_and_a_csv_never_is(vip_tickets):
    manager = f.manager()
    vip = TicketSearchFilters(rate="VIP")
    assert export_jobs.is_large(user=manager, filters=vip, fmt="xlsx")  # 5 rows > 3
    assert not export_jobs.is_large(user=manager, filters=vip, fmt="csv")
    few = TicketSearchFilters(rate="Guest list")
    assert not export_jobs.is_large(user=manager, filters=few, fmt="xlsx")


def test_the_worker_builds_the_file_of_exactly_the_search(vip_tickets, export_dir):
    manager = f.manager()
    job = queue(manager, rate="VIP", sort="-code")
    assert job.state == ExportJobState.QUEUED
    assert job.filters == {"rate": "VIP", "sort": "-code"}

    job = built(job)

    assert job.state == ExportJobState.READY
    assert job.row_count == 5
    assert job.filters == {}  # the search is not kept once built; the masked filter is
    assert job.logged_filter == {"rate": "VIP", "sort": "-code"}
    assert re.fullmatch(r"[0-9a-f]{32}\.xlsx", job.file_name)
    path = export_dir / job.file_name
    assert path.stat().st_size == job.size
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(export_dir.stat().st_mode) == 0o700
    assert job.expires_at == job.finished_at + dt.timedelta(hours=24)
    expected = [[t.code, t.name, "VIP"] for t in sorted(vip_tickets, key=lambda t: t.code)[::-1]]
    assert sheet_rows(path) == [["Ticket code", "Holder", "Rate"], *expected]
    entry = AuditEntry.objects.get(action="tickets.export_prepared")
    assert entry.data["row_count"] == 5
    assert entry.data["job"] == job.pk
    assert entry.data["filter"] == {"rate": "VIP", "sort": "-code"}
    assert entry.actor == manager
    assert not AuditEntry.objects.filter(action="tickets.exported").exists()  # not yet fetched


def test_the_writer_is_in_constant_memory_mode(vip_tickets, export_dir):
    assert exports.XLSX_OPTIONS["constant_memory"] is True
    job = built(queue(f.manager(), rate="VIP"))
    archive = open_workbook(export_dir / job.file_name)
    # Constant memory writes each string inline in its row: no shared-strings table, which
    # xlsxwriter can only write at the end, holding every string of the sheet until then.
    assert "xl/sharedStrings.xml" not in archive.namelist()
    assert 't="inlineStr"' in archive.read("xl/worksheets/sheet1.xml").decode()


def test_the_headers_are_in_the_language_of_the_person_who_asked(vip_tickets, export_dir):
    with translation.override("es"):
        job = queue(f.manager(), rate="VIP")
    job = built(job)
    headers = sheet_rows(export_dir / job.file_name)[0]
    assert headers == ["Código de la entrada", "Titular", "Tarifa"]


def test_building_twice_builds_once(vip_tickets, export_dir):
    job = built(queue(f.manager(), rate="VIP"))
    export_jobs.build_export(job_id=job.pk)  # a duplicate task finds it claimed
    assert sorted(p.name for p in export_dir.iterdir()) == [job.file_name]
    assert AuditEntry.objects.filter(action="tickets.export_prepared").count() == 1


def test_the_file_is_handed_over_once_then_deleted(vip_tickets, export_dir):
    manager = f.manager()
    job = built(queue(manager, rate="VIP"))
    on_disk = (export_dir / job.file_name).read_bytes()

    download = export_jobs.take_for_download(job=job, user=manager)

    assert not (export_dir / job.file_name).exists()  # gone from the directory at once...
    with download.file:
        assert download.file.read() == on_disk  # ...yet the open file reads whole
    assert download.filename.startswith("comps-tickets-")
    assert download.filename.endswith(".xlsx")
    job.refresh_from_db()
    assert job.state == ExportJobState.EXPIRED
    assert job.fetched_at is not None
    fetched = AuditEntry.objects.get(action="tickets.exported")
    assert fetched.data["job"] == job.pk
    assert fetched.data["row_count"] == 5
    with pytest.raises(export_jobs.ExportUnavailable, match="already downloaded"):
        export_jobs.take_for_download(job=job, user=manager)


def test_a_stale_copy_of_the_job_cannot_fetch_it_twice(vip_tickets):
    manager = f.manager()
    job = built(queue(manager, rate="VIP"))
    second_tab = ExportJob.objects.get(pk=job.pk)  # read while still ready
    export_jobs.take_for_download(job=job, user=manager).file.close()
    with pytest.raises(export_jobs.ExportUnavailable):
        export_jobs.take_for_download(job=second_tab, user=manager)
    assert AuditEntry.objects.filter(action="tickets.exported").count() == 1


def test_someone_else_cannot_take_it(vip_tickets, export_dir):
    job = built(queue(f.manager(), rate="VIP"))
    with pytest.raises(export_jobs.ExportUnavailable):
        export_jobs.take_for_download(job=job, user=f.manager())
    assert (export_dir / job.file_name).exists()
    job.refresh_from_db()
    assert job.state == ExportJobState.READY


def test_a_file_nobody_fetched_is_deleted_after_the_ttl(vip_tickets, export_dir):
    job = built(queue(f.manager(), rate="VIP"))
    path = export_dir / job.file_name

    with time_machine.travel(job.finished_at + dt.timedelta(hours=23), tick=False):
        run_maintenance()
    job.refresh_from_db()
    assert job.state == ExportJobState.READY
    assert path.exists()

    with time_machine.travel(job.finished_at + dt.timedelta(hours=24, minutes=1), tick=False):
        report = run_maintenance()
    assert report.exports_expired == 1
    job.refresh_from_db()
    assert job.state == ExportJobState.EXPIRED
    assert job.fetched_at is None
    assert not path.exists()
    with pytest.raises(export_jobs.ExportUnavailable, match="not downloaded in time"):
        export_jobs.take_for_download(job=job, user=job.owner)


def test_a_build_that_cannot_write_fails_and_says_why(vip_tickets, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    settings.COMPS_EXPORT_DIR = blocker / "exports"  # cannot be created under a file
    job = built(queue(f.manager(), rate="VIP"))
    assert job.state == ExportJobState.FAILED
    assert "could not be prepared" in job.error
    assert job.finished_at is not None
    assert job.filters == {}
    assert not AuditEntry.objects.filter(action="tickets.export_prepared").exists()
    with pytest.raises(export_jobs.ExportUnavailable, match="could not be prepared"):
        export_jobs.take_for_download(job=job, user=job.owner)


def test_a_filter_gone_before_the_build_fails_it_with_a_reason(vip_tickets, export_dir):
    event = f.EventFactory()
    job = queue(f.manager(), event=event)
    event.delete()
    job = built(job)
    assert job.state == ExportJobState.FAILED
    assert "no longer exists" in job.error
    assert not export_dir.exists() or list(export_dir.iterdir()) == []


def test_a_job_whose_worker_died_is_failed_and_its_file_deleted(vip_tickets, export_dir):
    job = queue(f.manager(), rate="VIP")
    export_dir.mkdir(parents=True)
    partial = export_dir / f"{uuid.uuid4().hex}.xlsx"
    partial.write_bytes(b"PK")
    long_ago = timezone.now() - dt.timedelta(hours=1)
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJobState.RUNNING,
        started_at=long_ago,
        task_id=str(uuid.uuid4()),
        file_name=partial.name,
    )

    report = run_maintenance()

    assert report.stale_exports == 1
    job.refresh_from_db()
    assert job.state == ExportJobState.FAILED
    assert "stopped without finishing" in job.error
    assert not partial.exists()


def test_a_long_build_that_shows_signs_of_life_is_left_alone(vip_tickets):
    job = queue(f.manager(), rate="VIP")
    task_id = uuid.uuid4()
    ExportJob.objects.filter(pk=job.pk).update(
        state=ExportJobState.RUNNING,
        started_at=timezone.now() - dt.timedelta(hours=1),
        task_id=str(task_id),
    )
    Heartbeat(task_id).beat()
    assert run_maintenance().stale_exports == 0
    job.refresh_from_db()
    assert job.state == ExportJobState.RUNNING


def test_a_queued_job_whose_task_was_lost_is_failed(vip_tickets):
    job = ExportJob.objects.create(owner=f.manager(), format="xlsx", columns=["code"])
    ExportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(hours=1))
    waiting = queue(f.manager(), rate="VIP")  # its task is still waiting for a worker
    ExportJob.objects.filter(pk=waiting.pk).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert run_maintenance().stale_exports == 1
    job.refresh_from_db()
    waiting.refresh_from_db()
    assert job.state == ExportJobState.FAILED
    assert waiting.state == ExportJobState.QUEUED


def _everything_stored() -> str:
    """Every row of the job and audit tables, as the database holds them."""
    with connection.cursor() as cursor:
        dumped = []
        for table in ("tickets_exportjob", "tickets_auditentry"):
            cursor.execute(f"SELECT * FROM {table}")
            dumped.extend(json.dumps(row, default=str) for row in cursor.fetchall())
    return "\n".join(dumped)


def test_a_document_number_is_never_stored_in_clear(export_dir):
    line = f.IssuanceLineFactory(
        state=LineState.CONFIRMED,
        document_type="dni",
        document_number=DOCUMENT,
        document_digest=document_digest(DOCUMENT),
    )
    holder = f.IssuedTicketFactory(line=line, name="Dora Canary")
    for _ in range(4):
        f.IssuedTicketFactory(line=f.IssuanceLineFactory(state=LineState.CONFIRMED))
    manager = f.manager()
    # Typed in the search box, and searched by the posted form (its digest): both kinds.
    for filters in ({"q": DOCUMENT}, {"document_digest": document_digest(DOCUMENT)}):
        job = export_jobs.request_export(
            user=manager, filters=TicketSearchFilters(**filters), columns=["code"], fmt="xlsx"
        )
        assert "12345678" not in json.dumps(job.filters)
        job = built(job)
        assert job.state == ExportJobState.READY, job.error
        assert sheet_rows(export_dir / job.file_name) == [["Ticket code"], [holder.code]]
        assert "12345678" not in job.file_name
        assert "12345678" not in export_jobs.take_for_download(job=job, user=manager).filename
    stored = _everything_stored()
    assert "12345678" not in stored.upper()
    # Not even its digest once built (it would link the export to the holder's other searches).
    assert document_digest(DOCUMENT) not in stored
    assert ExportJob.objects.filter(state=ExportJobState.EXPIRED).count() == 2


def test_stray_files_of_ours_are_deleted_once_older_than_any_export_lives(export_dir):
    export_dir.mkdir(parents=True)
    old, recent = (export_dir / f"{uuid.uuid4().hex}.xlsx" for _ in range(2))
    not_ours = export_dir / "README.txt"
    for path in (old, recent, not_ours):
        path.write_bytes(b"PK")
    two_days_ago = (timezone.now() - dt.timedelta(days=2)).timestamp()
    for path in (old, not_ours):
        os.utime(path, (two_days_ago, two_days_ago))

    run_maintenance()

    assert not old.exists()
    assert recent.exists()
    assert not_ours.exists()
