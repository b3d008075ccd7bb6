"""Exporting the ticket search: `GET /tickets/export/?<search params>&format=csv|csv-es|xlsx
&columns=a,b,c&documents=1`, streamed. A search by document number exports by its session token
(`doc=<token>`), never the number. The tickets are exactly what the search page shows for the
same parameters (same form, same filter, same order, every page); issuers export only their own.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tickets import document_searches
from tickets.forms.search import TicketSearchForm, requested_columns
from tickets.selectors import search as search_selectors
from tickets.services import exports as export_service


def _bad_request(reason: str) -> HttpResponse:
    return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")


def _search_problems(form: TicketSearchForm) -> str:
    problems = "; ".join(
        f"{(form.fields[name].label if name in form.fields else None) or name}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )
    return _("The search cannot be exported as it stands (%(problems)s).") % {"problems": problems}


@require_GET
def ticket_export(request: HttpRequest) -> HttpResponse:
    # Whoever may search may export what the search shows.
    if not search_selectors.can_search_tickets(request.user):
        raise PermissionDenied
    form = TicketSearchForm.from_query(
        request.GET, document_tokens=document_searches.tokens(request.session)
    )
    columns = requested_columns(request.GET)
    fmt = request.GET.get("format", "csv").strip().lower()
    include_documents = request.GET.get("documents", "") in ("1", "true", "yes", "on")
    try:
        # A bad format or column is said before a bad filter.
        export_service.check_export(
            user=request.user, columns=columns, fmt=fmt, include_documents=include_documents
        )
        if not form.is_valid():
            return _bad_request(_search_problems(form))
        export = export_service.start_export(
            user=request.user,
            filters=form.filters(),
            columns=columns,
            fmt=fmt,
            include_documents=include_documents,
            request=request,
        )
    except export_service.ExportError as exc:
        return _bad_request(str(exc))
    response = StreamingHttpResponse(export.stream, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Export-Rows"] = str(export.row_count)
    patch_cache_control(response, private=True, no_store=True)
    return response
