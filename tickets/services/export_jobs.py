"""Exports too large to build while the person waits, prepared by the worker.

An XLSX workbook is written whole before its first byte can be sent (a zip's directory comes
last), so a large one would outlive the web server's timeout. Past `COMPS_XLSX_INLINE_LIMIT`
rows the export becomes an `ExportJob`: the worker (`tasks.build_export`) re-runs the search as
its owner, writes the workbook with the search's own writer (`exports.write_xlsx`, constant
memory) into `COMPS_EXPORT_DIR` under a random name, and the owner downloads it once
(`take_for_download`): the file is deleted as it is handed over. Files nobody fetched are deleted
after `COMPS_EXPORT_TTL_HOURS` (`expire_unfetched`), and a job whose worker died is failed
(`reap_stale_export_jobs`), both from the scheduler (`services.maintenance`).

A search by document number is kept as the number's keyed digest, never the number (as saved
searches keep it), and the stored search is emptied once the job ends: what stays on the job
and in the audit log is the masked filter (`exports.audit_filter`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import secrets
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import Model, Q
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets import tasks
from tickets.models import Event, ExportJob, ExportJobState, Reason
from tickets.selectors import search as search_selectors
from tickets.services import audit, exports
from tickets.services.heartbeat import Heartbeat, alive_task_ids
from tickets.text import document_digest

logger = logging.getLogger(__name__)

BACKGROUND_FORMAT = "xlsx"  # CSV streams row by row, however large
# The key under which a document number typed in the search box travels, as its digest.
BOX_DOCUMENT_DIGEST = "q_document_digest"
_ACTIVE = (ExportJobState.QUEUED, ExportJobState.RUNNING)


class ExportUnavailable(exports.ExportError):
    """An export that cannot be downloaded (not ready, already fetched, expired, failed)."""


def ttl_hours() -> int:
    """How long an unfetched file is kept, in whole hours (what the pages say)."""
    return max(1, round(settings.COMPS_EXPORT_TTL_HOURS))


# --- Where the files go -------------------------------------------------------------------------


def export_directory() -> Path:
    """COMPS_EXPORT_DIR, created (readable by this user only) if missing."""
    directory = Path(settings.COMPS_EXPORT_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _file_of(job: ExportJob) -> Path | None:
    # The name is ours (random hex), but a row is never trusted to point outside the directory.
    if not job.file_name or Path(job.file_name).name != job.file_name:
        return None
    return Path(settings.COMPS_EXPORT_DIR) / job.file_name


def _delete_file(job: ExportJob) -> None:
    path = _file_of(job)
    if path is not None:
        path.unlink(missing_ok=True)


# --- The search, kept for the worker ------------------------------------------------------------


def stored_filters(filters: search_selectors.TicketSearchFilters) -> dict[str, Any]:
    """`filters` as JSON the worker turns back into the same search (`filters_from_stored`): only
    those set; objects by their id. A search box holding some holder's full document number
    keeps that number's digest instead (`BOX_DOCUMENT_DIGEST`), never the number."""
    stored: dict[str, Any] = {}
    for item in fields(filters):
        value = getattr(filters, item.name)
        if value is None or value == "" or value == item.default:
            continue
        if isinstance(value, Model):
            value = value.pk
        elif isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        stored[item.name] = value
    if "q" in stored and search_selectors.is_document_number(stored["q"]):
        stored[BOX_DOCUMENT_DIGEST] = document_digest(stored.pop("q"))
    return stored


_MODELS: dict[str, Any] = {"event": Event, "reason": Reason}
_DATES = ("issued_from", "issued_to", "night_from", "night_to")


def filters_from_stored(
    stored: dict[str, Any],
) -> tuple[search_selectors.TicketSearchFilters, str]:
    """The search `stored_filters` kept, and the digest of a document number that was typed in
    its search box (or ""). ExportError when something it filtered by no longer exists."""
    values = dict(stored)
    box_digest = str(values.pop(BOX_DOCUMENT_DIGEST, "") or "")
    for name, model in {**_MODELS, "issued_by": get_user_model()}.items():
        if name in values:
            found = model.objects.filter(pk=values[name]).first()
            if found is None:
                raise exports.ExportError(
                    _("Something this export was filtered by (%(filter)s) no longer exists.")
                    % {"filter": name}
                )
            values[name] = found
    for name in _DATES:
        if name in values:
            values[name] = dt.date.fromisoformat(values[name])
    if "attribution" in values:
        kind, pk = values["attribution"]
        values["attribution"] = (kind, pk)
    return search_selectors.TicketSearchFilters(**values), box_digest


def _job_tickets(job: ExportJob) -> Any:
    filters, box_digest = filters_from_stored(job.filters)
    tickets = search_selectors.search_tickets(user=job.owner, filters=filters)
    if box_digest:
        # What the search box finds for a full document number: that holder's lines.
        tickets = tickets.filter(line_id__in=search_selectors.lines_with_document(box_digest))
    return tickets


# --- Asking for one -----------------------------------------------------------------------------


def is_large(
    *,
    user: AbstractBaseUser | AnonymousUser,
    filters: search_selectors.TicketSearchFilters,
    fmt: str,
) -> bool:
    """Whether this export is prepared in the background: an XLSX of more rows than
    COMPS_XLSX_INLINE_LIMIT (counted no further than that)."""
    if fmt != BACKGROUND_FORMAT:
        return False
    limit = settings.COMPS_XLSX_INLINE_LIMIT
    tickets = search_selectors.search_tickets(user=user, filters=filters)
    return search_selectors.count_up_to(tickets, bound=limit) > limit


def request_export(
    *,
    user: AbstractBaseUser,
    filters: search_selectors.TicketSearchFilters,
    columns: list[str] | None,
    fmt: str,
    include_documents: bool = False,
) -> ExportJob:
    """Queue the export of the tickets the search page shows `user` for `filters`, to be built
    by the worker in the current language. ExportError if it cannot be made as asked."""
    if not search_selectors.can_search_tickets(user):
        raise exports.ExportError(_("You are not allowed to export tickets."))
    chosen = exports.check_export(
        user=user, columns=columns, fmt=fmt, include_documents=include_documents
    )
    if fmt != BACKGROUND_FORMAT:
        raise exports.ExportError(
            _("Only Excel (XLSX) exports are prepared in the background; a CSV downloads at once.")
        )
    with transaction.atomic():
        job = ExportJob.objects.create(
            owner=user,
            format=fmt,
            filters=stored_filters(filters),
            columns=chosen,
            logged_filter=exports.audit_filter(filters),
            language=get_language() or settings.LANGUAGE_CODE,
        )
        tasks.build_export.enqueue(job.pk)
    return job


# --- Building it (the worker) -------------------------------------------------------------------


def build_export(*, job_id: int, task_id: str | None = None) -> None:
    """Build the file of a queued job (`tasks.build_export`). Safe to run twice: only a queued
    job is claimed. A build that fails leaves no file and says why on the job."""
    now = timezone.now()
    claimed = ExportJob.objects.filter(pk=job_id, state=ExportJobState.QUEUED).update(
        state=ExportJobState.RUNNING, started_at=now, task_id=str(task_id or "")
    )
    if not claimed:
        return
    job = ExportJob.objects.select_related("owner").get(pk=job_id)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        try:
            _build(job, Heartbeat(task_id))
        except exports.ExportError as error:
            _fail(job, str(error))
        except Exception:
            logger.exception("Export %s could not be prepared.", job.pk)
            _fail(
                job,
                _(
                    "The export could not be prepared (the server could not write it). "
                    "Try again; if it keeps failing, tell an admin."
                ),
            )


def _build(job: ExportJob, heartbeat: Heartbeat) -> None:
    if not job.owner.is_active or not search_selectors.can_search_tickets(job.owner):
        raise exports.ExportError(_("You are no longer allowed to export tickets."))
    tickets = _job_tickets(job)
    job.file_name = f"{secrets.token_hex(16)}.xlsx"
    path = export_directory() / job.file_name
    # Named on the job before it exists: a worker killed while writing leaves a file the reaper
    # can find and delete.
    ExportJob.objects.filter(pk=job.pk).update(file_name=job.file_name)
    # Created empty, private to this user, before the writer fills it.
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    try:
        row_count = exports.write_xlsx(
            path=path,
            queryset=tickets,
            columns=job.columns,
            progress=lambda _rows: heartbeat.beat(),
        )
        finished = timezone.now()
        with transaction.atomic():
            done = ExportJob.objects.filter(pk=job.pk, state=ExportJobState.RUNNING).update(
                state=ExportJobState.READY,
                file_name=job.file_name,
                row_count=row_count,
                size=path.stat().st_size,
                finished_at=finished,
                expires_at=finished + dt.timedelta(hours=settings.COMPS_EXPORT_TTL_HOURS),
                filters={},  # not needed any more: the masked `logged_filter` stays
            )
            if done:
                audit.record(
                    action="tickets.export_prepared",
                    actor=job.owner,
                    target=job,
                    data={
                        **_audit_data(job),
                        "row_count": row_count,
                        "size": path.stat().st_size,
                    },
                )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if not done:  # reaped while it was being built: nobody will fetch it
        path.unlink(missing_ok=True)


def _fail(job: ExportJob, error: str) -> None:
    ExportJob.objects.filter(pk=job.pk, state=ExportJobState.RUNNING).update(
        state=ExportJobState.FAILED, finished_at=timezone.now(), error=error, filters={}
    )


def _audit_data(job: ExportJob) -> dict[str, Any]:
    return {
        "job": job.pk,
        "filter": job.logged_filter,
        "columns": job.columns,
        "format": job.format,
        "documents": exports.DOCUMENT_COLUMN in job.columns,
    }


# --- Handing it over ----------------------------------------------------------------------------


@dataclass
class Download:
    file: BinaryIO  # open, already unlinked from the directory: gone once closed
    filename: str
    content_type: str
    size: int


def unavailable_reason(job: ExportJob) -> str:
    """Why `job` cannot be downloaded now, for its owner ("" when it can)."""
    if job.state in _ACTIVE:
        return _("This export is still being prepared.")
    if job.state == ExportJobState.FAILED:
        return job.error or _("This export could not be prepared.")
    if job.state == ExportJobState.EXPIRED and job.fetched_at is not None:
        return _(
            "You already downloaded this export, and it was then deleted from the server. "
            "Export the search again for a new copy."
        )
    if job.state == ExportJobState.EXPIRED:
        return _(
            "This export was not downloaded in time and was deleted from the server. Export the "
            "search again for a new copy."
        )
    return ""


def take_for_download(
    *, job: ExportJob, user: AbstractBaseUser, request: HttpRequest | None = None
) -> Download:
    """The file of `job`, once: it is deleted from the directory as it is handed over (the open
    file stays readable until the response closes it) and the job becomes expired. Audited as
    the inline export is (`tickets.exported`). ExportUnavailable says why when it cannot be."""
    if job.owner_id != user.pk:
        raise ExportUnavailable(_("This export is not yours."))
    reason = unavailable_reason(job)
    if reason:
        raise ExportUnavailable(reason)
    path = _file_of(job)
    try:
        handle = open(path, "rb") if path is not None else None  # noqa: SIM115 (the response closes it)
    except FileNotFoundError:
        handle = None
    now = timezone.now()
    if handle is None:
        ExportJob.objects.filter(pk=job.pk, state=ExportJobState.READY).update(
            state=ExportJobState.EXPIRED, error=_("The file was missing on the server.")
        )
        raise ExportUnavailable(
            _("This export's file is no longer on the server. Export the search again.")
        )
    try:
        with transaction.atomic():
            # Claimed by one request only: a second click (or a second tab) finds it fetched.
            claimed = ExportJob.objects.filter(pk=job.pk, state=ExportJobState.READY).update(
                state=ExportJobState.EXPIRED, fetched_at=now
            )
            if not claimed:
                raise ExportUnavailable(
                    _(
                        "You already downloaded this export, and it was then deleted from the "
                        "server. Export the search again for a new copy."
                    )
                )
            audit.record(
                action="tickets.exported",
                actor=user,
                data={**_audit_data(job), "row_count": job.row_count},
                request=request,
            )
        size = os.fstat(handle.fileno()).st_size
        path.unlink(missing_ok=True)
    except BaseException:
        handle.close()
        raise
    return Download(
        file=handle,
        filename=exports.export_filename(job.format, now=job.created_at),
        content_type=exports.FORMATS[job.format][0],
        size=size,
    )


# --- The scheduler's steps ----------------------------------------------------------------------


def expire_unfetched(*, now: dt.datetime) -> int:
    """Delete the files of ready exports nobody fetched before their expiry; the jobs say so.
    Files of ours no ready job names (a build cut short before it could say which) go too,
    once older than any export may live."""
    expired = 0
    for job in ExportJob.objects.filter(state=ExportJobState.READY, expires_at__lte=now):
        if ExportJob.objects.filter(pk=job.pk, state=ExportJobState.READY).update(
            state=ExportJobState.EXPIRED
        ):
            _delete_file(job)
            expired += 1
    _delete_orphans(now=now)
    return expired


_OUR_FILE = re.compile(r"[0-9a-f]{32}\.xlsx")


def _delete_orphans(*, now: dt.datetime) -> None:
    directory = Path(settings.COMPS_EXPORT_DIR)
    if not directory.is_dir():
        return
    oldest = now - dt.timedelta(
        hours=settings.COMPS_EXPORT_TTL_HOURS, seconds=settings.COMPS_STALE_TASK_SECONDS
    )
    in_use = set(
        ExportJob.objects.filter(state__in=[*_ACTIVE, ExportJobState.READY]).values_list(
            "file_name", flat=True
        )
    )
    for path in directory.iterdir():
        if not _OUR_FILE.fullmatch(path.name) or path.name in in_use:
            continue
        modified = dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC)
        if modified < oldest:
            path.unlink(missing_ok=True)


def _build_task_waiting(job: ExportJob) -> bool:
    task = tasks.build_export
    path = f"{task.func.__module__}.{task.func.__name__}"
    return DBTaskResult.objects.filter(
        status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
        task_path=path,
        args_kwargs={"args": [job.pk], "kwargs": {}},
    ).exists()


def reap_stale_export_jobs(*, now: dt.datetime) -> int:
    """Fail the jobs whose worker died: running, started before the stale limit and silent since
    (a long build beats), or queued that long with no task left to build them. Their partial
    file is deleted."""
    cutoff = now - dt.timedelta(seconds=settings.COMPS_STALE_TASK_SECONDS)
    alive = {
        str(task_id) for task_id in alive_task_ids(since=cutoff).values_list("task_id", flat=True)
    }
    candidates = ExportJob.objects.filter(
        Q(state=ExportJobState.RUNNING, started_at__lt=cutoff)
        | Q(state=ExportJobState.QUEUED, created_at__lt=cutoff)
    )
    reaped = 0
    for job in candidates:
        if job.state == ExportJobState.RUNNING and job.task_id in alive:
            continue
        if job.state == ExportJobState.QUEUED and _build_task_waiting(job):
            continue
        with translation.override(job.language or settings.LANGUAGE_CODE):
            error = _("The worker preparing this export stopped without finishing it. Try again.")
        if ExportJob.objects.filter(pk=job.pk, state=job.state).update(
            state=ExportJobState.FAILED, finished_at=now, error=error, filters={}
        ):
            _delete_file(job)
            reaped += 1
    return reaped
