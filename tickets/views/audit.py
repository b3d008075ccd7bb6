"""The audit log page: admins filter and read it (it cannot be changed from anywhere)."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tickets import roles
from tickets.forms.audit import AuditLogFilterForm
from tickets.selectors import audit as audit_selectors


@permission_required(roles.VIEW_AUDIT_LOG, raise_exception=True)
def audit_log(request: HttpRequest) -> HttpResponse:
    form = AuditLogFilterForm(data=request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = audit_selectors.audit_entries(**{k: v for k, v in filters.items() if v})
    page = Paginator(entries.select_related(None), audit_selectors.AUDIT_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tickets/audit/log.html",
        {
            "form": form,
            "page": page,
            "views": [audit_selectors.describe(entry) for entry in page.object_list],
            "query": query.urlencode(),
            "filtered": any(request.GET.get(name) for name in form.fields),
        },
    )
