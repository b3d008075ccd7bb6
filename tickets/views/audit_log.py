"""The audit log page: admins filter and read it (it cannot be changed from anywhere)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import roles, selectors
from tickets.admin_forms import AuditLogFilterForm


@permission_required(roles.VIEW_AUDIT_LOG, raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditLogFilterForm(data=request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_entries(**{k: v for k, v in filters.items() if v})
    page = Paginator(entries.select_related(None), selectors.AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tickets/admin/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
