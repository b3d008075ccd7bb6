"""Exports prepared in the background: asking for one (posted from the page `ticket_export` shows
for a large XLSX), its page (htmx asks for its state until it is ready), the list of one's
recent exports, and the download, once. Everyone sees only their own exports: another person's
is a 404, as if it did not exist.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.translation import pgettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tickets.forms.search import DocumentSearchForm, TicketSearchForm
from tickets.models import ExportJob
from tickets.selectors import export_jobs as export_job_selectors
from tickets.selectors import search as search_selectors
from tickets.services import export_jobs as export_job_service
from tickets.services import exports as export_service
from tickets.views.exports import bad_request, check_export_request, export_request


def _require_export_permission(request: HttpRequest) -> None:
    if not search_selectors.can_search_tickets(request.user):
        raise PermissionDenied


def _own_job(request: HttpRequest, pk: int) -> ExportJob:
    _require_export_permission(request)
    return get_object_or_404(export_job_selectors.export_jobs_of(request.user), pk=pk)


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_POST
def export_job_create(request: HttpRequest) -> HttpResponse:
    asked = export_request(request, request.POST)
    problem = check_export_request(request, asked)
    if problem is not None:
        return problem
    try:
        job = export_job_service.request_export(
            user=request.user,
            filters=asked.form.filters(),
            columns=asked.columns,
            fmt=asked.fmt,
            include_documents=asked.include_documents,
        )
    except export_service.ExportError as exc:
        return bad_request(str(exc))
    return redirect("export-job-detail", pk=job.pk)


@require_GET
@never_cache
def export_job_list(request: HttpRequest) -> HttpResponse:
    _require_export_permission(request)
    jobs = export_job_selectors.recent_export_jobs_of(request.user)
    return _private(
        render(
            request,
            "tickets/export_jobs/list.html",
            {"jobs": jobs, "ttl_hours": export_job_service.ttl_hours()},
        )
    )


def _filter_labels(job: ExportJob) -> list[tuple[str, str]]:
    """The export's filter as the search form names its fields (values as the address has
    them; a document number masked, see `exports.audit_filter`)."""
    labels: dict[str, object] = {
        name: field.label for name, field in TicketSearchForm.base_fields.items() if field.label
    }
    labels["sort"] = pgettext("search", "Sorted by")
    labels["document"] = DocumentSearchForm.base_fields["document"].label
    return [(str(labels.get(name, name)), str(value)) for name, value in job.logged_filter.items()]


def _job_context(job: ExportJob, *, message: str = "") -> dict[str, object]:
    return {
        "job": job,
        "filter_labels": _filter_labels(job),
        "column_headers": [
            str(export_service.EXPORT_COLUMNS[key].header)
            for key in job.columns
            if key in export_service.EXPORT_COLUMNS
        ],
        "polling": not export_job_selectors.is_settled(job),
        "reason": message or export_job_service.unavailable_reason(job),
    }


@require_GET
@never_cache
def export_job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _own_job(request, pk)
    return _private(render(request, "tickets/export_jobs/detail.html", _job_context(job)))


@require_GET
@never_cache
def export_job_status(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the export's page that htmx re-fetches until the export is ready or failed."""
    job = _own_job(request, pk)
    return _private(render(request, "tickets/export_jobs/_status.html", _job_context(job)))


@require_GET
@never_cache
def export_job_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The file, streamed once; then it is gone, and the export's page says so."""
    job = _own_job(request, pk)
    try:
        download = export_job_service.take_for_download(job=job, user=request.user, request=request)
    except export_job_service.ExportUnavailable as exc:
        job.refresh_from_db()
        context = _job_context(job, message=str(exc))
        return _private(render(request, "tickets/export_jobs/detail.html", context, status=410))
    response = FileResponse(
        download.file,
        as_attachment=True,
        filename=download.filename,
        content_type=download.content_type,
    )
    return _private(response)
