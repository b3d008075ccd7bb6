"""Exporting the ticket search: `GET /tickets/export/?<search params>&format=csv|xlsx
&columns=a,b,c&documents=1`, streamed. The tickets are exactly what the search page shows for the
same parameters (same filter, same order, every page); issuers export only their own.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET

from tickets import selectors
from tickets.filters import requested_columns
from tickets.services import exports as export_service


@require_GET
def ticket_export(request: HttpRequest) -> HttpResponse:
    # Whoever may search may export what the search shows.
    if not selectors.can_search_tickets(request.user):
        raise PermissionDenied
    try:
        export = export_service.start_export(
            user=request.user,
            params=request.GET,
            columns=requested_columns(request.GET),
            fmt=request.GET.get("format", "csv").strip().lower(),
            include_documents=request.GET.get("documents", "") in ("1", "true", "yes", "on"),
            request=request,
        )
    except export_service.ExportError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    response = StreamingHttpResponse(export.stream, content_type=export.content_type)
    response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
    response["X-Export-Rows"] = str(export.row_count)
    patch_cache_control(response, private=True, no_store=True)
    return response
