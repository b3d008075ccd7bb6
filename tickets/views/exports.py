"""Exporting the ticket search: `GET /tickets/export/?<search params>&format=csv|csv-es|xlsx
&columns=a,b,c&documents=1`, streamed. A search by document number exports by its session token
(`doc=<token>`), never the number. The tickets are exactly what the search page shows for the
same parameters (same form, same filter, same order, every page); issuers export only their own.

An XLSX of more rows than COMPS_XLSX_INLINE_LIMIT cannot be built within a request: the answer is
then a page offering to prepare it in the background (`views.export_jobs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tickets import document_searches
from tickets.forms.search import COLUMNS_PARAM, PARAMS, TicketSearchForm, requested_columns
from tickets.selectors import search as search_selectors
from tickets.services import export_jobs as export_job_service
from tickets.services import exports as export_service

# What an export's address carries besides the search's own parameters.
EXPORT_PARAMS = (COLUMNS_PARAM, "format", "documents")


def bad_request(reason: str) -> HttpResponse:
    return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")


def search_problems(form: TicketSearchForm) -> str:
    problems = "; ".join(
        f"{(form.fields[name].label if name in form.fields else None) or name}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )
    return _("The search cannot be exported as it stands (%(problems)s).") % {"problems": problems}


@dataclass
class ExportRequest:
    """An export as asked in a request's parameters (a GET's, or a POST's)."""

    form: TicketSearchForm
    columns: list[str]
    fmt: str
    include_documents: bool


def export_request(request: HttpRequest, params: QueryDict) -> ExportRequest:
    """Whoever may search may export what the search shows."""
    if not search_selectors.can_search_tickets(request.user):
        raise PermissionDenied
    return ExportRequest(
        form=TicketSearchForm.from_query(
            params, document_tokens=document_searches.tokens(request.session)
        ),
        columns=requested_columns(params),
        fmt=params.get("format", "csv").strip().lower(),
        include_documents=params.get("documents", "") in ("1", "true", "yes", "on"),
    )


def check_export_request(request: HttpRequest, asked: ExportRequest) -> HttpResponse | None:
    """A 400 saying what is wrong with the export asked for, or None. A bad format or column is
    said before a bad filter."""
    try:
        export_service.check_export(
            user=request.user,
            columns=asked.columns,
            fmt=asked.fmt,
            include_documents=asked.include_documents,
        )
    except export_service.ExportError as exc:
        return bad_request(str(exc))
    if not asked.form.is_valid():
        return bad_request(search_problems(asked.form))
    return None


@require_GET
def ticket_export(request: HttpRequest) -> HttpResponse:
    asked = export_request(request, request.GET)
    problem = check_export_request(request, asked)
    if problem is not None:
        return problem
    filters = asked.form.filters()
    if export_job_service.is_large(user=request.user, filters=filters, fmt=asked.fmt):
        return _offer_background_export(request)
    try:
        export = export_service.start_export(
            user=request.user,
            filters=filters,
            columns=asked.columns,
            fmt=asked.fmt,
            include_documents=asked.include_documents,
            request=request,
        )
    except export_service.ExportError as exc:
        return bad_request(str(exc))
    response = StreamingHttpResponse(export.stream, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Export-Rows"] = str(export.row_count)
    patch_cache_control(response, private=True, no_store=True)
    return response


def _offer_background_export(request: HttpRequest) -> HttpResponse:
    """The page that offers to prepare a large XLSX in the background: a form posting the same
    parameters (a document search by its session token, as the address had it)."""
    hidden = [
        (name, value)
        for name in (*PARAMS, *EXPORT_PARAMS)
        for value in request.GET.getlist(name)
        if value
    ]
    response = render(
        request,
        "tickets/export_jobs/offer.html",
        {
            "hidden": hidden,
            "limit": settings.COMPS_XLSX_INLINE_LIMIT,
            "ttl_hours": export_job_service.ttl_hours(),
        },
    )
    patch_cache_control(response, private=True, no_store=True)
    return response
