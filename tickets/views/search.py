"""Finding tickets: the search page (every filter in the URL, so a search can be bookmarked),
saved searches, and the page of one ticket.

The view validates the search's parameters (`TicketSearchForm`) and hands the typed filters to
`search_selectors.search_tickets`. Tickets come from there or `search_selectors.tickets_visible_to`,
so an issuer gets a 404 for a ticket of someone else's issuance, never a 403 that would confirm it
exists.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tickets import roles
from tickets.forms.search import (
    COLUMNS_PARAM,
    PARAMS,
    SavedSearchForm,
    TicketSearchForm,
    requested_columns,
)
from tickets.models import IssuedTicket
from tickets.redaction import mask_document, redact
from tickets.selectors import issuances as issuance_selectors
from tickets.selectors import search as search_selectors
from tickets.services import search as search_service
from tickets.services.exports import DEFAULT_COLUMNS, DOCUMENT_COLUMN, EXPORT_COLUMNS

TICKETS_PER_PAGE = 50
# Past any real result, and small enough for an OFFSET both databases take (a huge ?page= gave
# SQLite a "datatype mismatch").
MAX_PAGE = 1_000_000


def _require_search_permission(request: HttpRequest) -> None:
    if not search_selectors.can_search_tickets(request.user):
        raise PermissionDenied


@dataclass(frozen=True)
class TicketPage:
    """One page of results without a COUNT: one row more than a page is fetched, to know
    whether another page follows."""

    number: int
    object_list: list[IssuedTicket]
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def start_index(self) -> int:
        return (self.number - 1) * TICKETS_PER_PAGE + 1 if self.object_list else 0


def _page(tickets: Any, raw_number: str | None) -> TicketPage:
    try:
        number = min(max(int(raw_number or 1), 1), MAX_PAGE)
    except ValueError:
        number = 1
    offset = (number - 1) * TICKETS_PER_PAGE
    rows = search_selectors.ticket_listing(tickets, offset=offset, limit=TICKETS_PER_PAGE + 1)
    return TicketPage(
        number=number, object_list=rows[:TICKETS_PER_PAGE], has_next=len(rows) > TICKETS_PER_PAGE
    )


def _selected_columns(params: QueryDict) -> list[str]:
    chosen = requested_columns(params)
    return [c for c in chosen if c in EXPORT_COLUMNS] or list(DEFAULT_COLUMNS)


def _query_string(params: QueryDict, **changes: object) -> str:
    """The search's own parameters (no strangers), with `changes` applied; empty ones dropped."""
    values = {key: params.get(key, "") for key in PARAMS}
    if params.getlist(COLUMNS_PARAM):
        values[COLUMNS_PARAM] = ",".join(_selected_columns(params))
    values.update({key: "" if value is None else str(value) for key, value in changes.items()})
    if "page" not in changes and params.get("page"):
        values["page"] = params["page"]
    return urlencode({key: value for key, value in values.items() if value})


def _sort_links(params: QueryDict, current: str) -> dict[str, dict[str, str]]:
    """For every sortable column: the URL that sorts by it (reversed when it is the current
    sort) and the arrow to show; sorting starts again at page 1."""
    links = {}
    for key in search_selectors.SORT_FIELDS:
        if current == key:
            target, arrow = f"-{key}", "▲"
        elif current == f"-{key}":
            target, arrow = key, "▼"
        else:
            target, arrow = key, ""
        links[key] = {"url": "?" + _query_string(params, sort=target, page=None), "arrow": arrow}
    return links


@require_GET
def ticket_search(request: HttpRequest) -> HttpResponse:
    _require_search_permission(request)
    form = TicketSearchForm.from_query(request.GET)
    # A search that does not validate lists nothing: a bad URL shows a message, never everything.
    page, sort = None, search_selectors.DEFAULT_SORT
    if form.is_valid():
        filters = form.filters()
        tickets = search_selectors.search_tickets(user=request.user, filters=filters)
        page, sort = _page(tickets, request.GET.get("page")), filters.sort
    return render(
        request,
        "tickets/search/search.html",
        {
            "form": form,
            "page": page,
            "sees_all": issuance_selectors.can_see_all_issuances(request.user),
            "sort_links": _sort_links(request.GET, sort),
            "query_string": _query_string(request.GET, page=None),
            "previous_url": "?" + _query_string(request.GET, page=page.number - 1) if page else "",
            "next_url": "?" + _query_string(request.GET, page=page.number + 1) if page else "",
            "saved_searches": search_selectors.saved_searches_of(request.user),
            "export_columns": _export_column_choices(request),
            "searched": any(request.GET.get(key) for key in PARAMS),
        },
    )


def _export_column_choices(request: HttpRequest) -> list[tuple[str, str, bool]]:
    """(key, header, checked) for the columns this user may export."""
    selected = _selected_columns(request.GET)
    hidden = set()
    if not request.user.has_perm(roles.VIEW_DOCUMENT_NUMBERS):
        hidden.add(DOCUMENT_COLUMN)
    if not issuance_selectors.can_see_all_issuances(request.user):
        hidden.add("issued_by")  # always themselves
    return [
        (key, column.header, key in selected)
        for key, column in EXPORT_COLUMNS.items()
        if key not in hidden
    ]


@require_POST
def saved_search_save(request: HttpRequest) -> HttpResponse:
    _require_search_permission(request)
    form = SavedSearchForm(request.POST)
    valid = form.is_valid()
    # Back to the same search, saved or not (a query that did not validate is dropped).
    query_string = _query_string(QueryDict(form.cleaned_data.get("query", "")), page=None)
    if not valid:
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(_search_url(query_string))
    name = form.cleaned_data["name"]
    created = search_service.save_search(owner=request.user, name=name, query=query_string)
    messages.success(request, f"Saved the search “{name}”." if created else f"Updated “{name}”.")
    return redirect(_search_url(query_string))


@require_POST
def saved_search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_search_permission(request)
    saved = get_object_or_404(search_selectors.saved_searches_of(request.user), pk=pk)
    search_service.delete_saved_search(saved_search=saved)
    messages.success(request, f"Deleted the saved search “{saved.name}”.")
    return redirect("ticket-search")


def _search_url(query_string: str) -> str:
    url = reverse("ticket-search")
    return f"{url}?{query_string}" if query_string else url


def _detail(request: HttpRequest, pk: int, *, document_number: str | None = None) -> HttpResponse:
    ticket = get_object_or_404(search_selectors.tickets_visible_to(request.user), pk=pk)
    line = ticket.line
    stored_number = line.document_number if line is not None else ""
    raw = json.dumps(redact(ticket.raw), indent=2, ensure_ascii=False, sort_keys=True)
    context = {
        "ticket": ticket,
        "line": line,
        "document_masked": mask_document(stored_number),
        "document_number": document_number,
        "may_reveal": bool(stored_number) and request.user.has_perm(roles.VIEW_DOCUMENT_NUMBERS),
        "raw_json": raw,
        "sees_all": issuance_selectors.can_see_all_issuances(request.user),
        **search_selectors.ticket_detail_context(ticket),
    }
    return render(request, "tickets/search/detail.html", context)


@require_GET
def ticket_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_search_permission(request)
    return _detail(request, pk)


@require_POST
@never_cache
def ticket_document_reveal(request: HttpRequest, pk: int) -> HttpResponse:
    """Shows the full document number once, in this response only, and audits that it was."""
    _require_search_permission(request)
    ticket = get_object_or_404(search_selectors.tickets_visible_to(request.user), pk=pk)
    number = search_service.reveal_document_number(
        ticket=ticket, user=request.user, request=request
    )
    return _detail(request, pk, document_number=number)
