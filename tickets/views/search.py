"""Finding tickets: the search page (every filter in the URL, so a search can be bookmarked),
saved searches, and the page of one ticket.

The view validates the search's parameters (`TicketSearchForm`) and hands the typed filters to
`search_selectors.search_tickets`. A search by document number is the exception to "every filter
in the URL": it is posted (`ticket_search_by_document`), its digest is kept in the session under a
short token, and the URL carries `doc=<token>`, so the number is in no address, link, access log
or saved search (which keeps the digest, and gets a fresh token when opened).

Tickets come from `search_selectors.search_tickets` or `search_selectors.tickets_visible_to`, so an
issuer gets a 404 for a ticket of someone else's issuance, never a 403 that would confirm it
exists.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tickets import document_searches, roles
from tickets.forms.search import (
    COLUMNS_PARAM,
    DOCUMENT_TOKEN_PARAM,
    PARAMS,
    DocumentSearchForm,
    SavedSearchForm,
    TicketSearchForm,
    requested_columns,
)
from tickets.models import IssuedTicket
from tickets.redaction import mask_document, redact
from tickets.selectors import issuances as issuance_selectors
from tickets.selectors import search as search_selectors
from tickets.selectors import withdrawals as withdrawal_selectors
from tickets.selectors.deliveries import ticket_deliveries
from tickets.services import search as search_service
from tickets.services.exports import (
    DEFAULT_COLUMNS,
    DOCUMENT_COLUMN,
    EXPORT_COLUMNS,
    FORMAT_LABELS,
    formats_for,
)
from tickets.text import document_digest, normalise_document

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


def _match_count(tickets: Any, page: TicketPage) -> int | None:
    """How many tickets the search finds, exact up to `COUNT_BOUND`, then bound + 1 ("1,000+").

    Counted (a COUNT over a LIMIT subquery) only when the page cannot tell: a page that is not
    full ends the results, so it gives the exact number, and a page past the bound says "more"
    by being there; a rare term, whose scan is the search's slowest, is then not scanned twice.
    None past the last page, where nothing is known."""
    offset = (page.number - 1) * TICKETS_PER_PAGE
    if not page.has_next:
        return offset + len(page.object_list) if page.object_list or page.number == 1 else None
    if offset + len(page.object_list) > search_selectors.COUNT_BOUND:
        return search_selectors.COUNT_BOUND + 1
    return search_selectors.count_up_to(tickets, bound=search_selectors.COUNT_BOUND)


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
    form = TicketSearchForm.from_query(
        request.GET, document_tokens=document_searches.tokens(request.session)
    )
    # A search that does not validate lists nothing: a bad URL shows a message, never everything.
    page, sort = None, search_selectors.DEFAULT_SORT
    if form.is_valid():
        filters = form.filters()
        if search_selectors.is_document_number(filters.q, user=request.user):
            # Typed into the search box without the page's script (a GET): the same search,
            # with the number out of the address before it reaches a link, an export, a saved
            # search or the next log line.
            messages.info(
                request,
                _(
                    "Searched by document number. Document numbers are kept out of the page's "
                    "address: next time, use “Find by document number”."
                ),
            )
            return _search_by_document(request, request.GET, filters.q)
        tickets = search_selectors.search_tickets(user=request.user, filters=filters)
        page, sort = _page(tickets, request.GET.get("page")), filters.sort
        match_count = _match_count(tickets, page)
    else:
        match_count = None
    by_document = form.is_valid() and bool(form.cleaned_data.get(DOCUMENT_TOKEN_PARAM))
    searched = any(request.GET.get(key) for key in PARAMS if key != "sort")
    query_string = _query_string(request.GET, page=None)
    return render(
        request,
        "tickets/search/search.html",
        {
            "form": form,
            "page": page,
            "sees_all": issuance_selectors.can_see_all_issuances(request.user),
            "sort_links": _sort_links(request.GET, sort),
            "query_string": query_string,
            "match_count": match_count,
            "count_bound": search_selectors.COUNT_BOUND,
            "count_capped": match_count is not None and match_count > search_selectors.COUNT_BOUND,
            "chips": _filter_chips(form, request) if form.is_valid() else [],
            "export_formats": [(fmt, FORMAT_LABELS[fmt]) for fmt in formats_for(get_language())],
            "previous_url": "?" + _query_string(request.GET, page=page.number - 1) if page else "",
            "next_url": "?" + _query_string(request.GET, page=page.number + 1) if page else "",
            "saved_searches": search_selectors.saved_searches_of(request.user),
            "export_columns": _export_column_choices(request),
            "searched": searched,
            "document_form": DocumentSearchForm(),
            "document_search": by_document,
            "document_hint": (
                document_searches.hint(request.session, request.GET[DOCUMENT_TOKEN_PARAM])
                if by_document
                else ""
            ),
            "without_document_url": _search_url(
                _query_string(request.GET, **{DOCUMENT_TOKEN_PARAM: None, "page": None})
            ),
        },
    )


@require_POST
def ticket_search_by_document(request: HttpRequest) -> HttpResponse:
    """Find tickets by a holder's full document number, posted: the number is turned into its
    digest at once and the results page carries only a session token for it."""
    _require_search_permission(request)
    if "document" not in request.POST:
        return _posted_search_box(request)
    form = DocumentSearchForm(request.POST)
    if not form.is_valid():
        # The message never repeats what was typed.
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("ticket-search")
    token = document_searches.remember(
        request.session, form.cleaned_data["document"], hint=form.hint()
    )
    return redirect(_search_url(urlencode({DOCUMENT_TOKEN_PARAM: token})))


def _posted_search_box(request: HttpRequest) -> HttpResponse:
    """The search box, posted by the page's script when the term could be a document number:
    a holder's number is searched by token, anything else goes on as the ordinary search, whose
    address may then carry it (it is no one's document number)."""
    params = QueryDict(mutable=True)
    for key in PARAMS:
        if value := request.POST.get(key, ""):
            params[key] = value
    term = params.get("q", "").strip()
    if not search_selectors.is_document_number(term, user=request.user):
        return redirect(_search_url(_query_string(params, page=None)))
    return _search_by_document(request, params, term)


def _search_by_document(request: HttpRequest, params: QueryDict, number: str) -> HttpResponse:
    """The search of `params` with the document number `number` swapped for a session token."""
    token = document_searches.remember(
        request.session, document_digest(number), hint=mask_document(normalise_document(number))
    )
    changes = {"q": None, DOCUMENT_TOKEN_PARAM: token, "page": None}
    return redirect(_search_url(_query_string(params, **changes)))


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
    # A search by document number is kept by the number's digest (the token dies with the
    # session); an expired token cannot be kept and is said so.
    token = QueryDict(query_string).get(DOCUMENT_TOKEN_PARAM, "")
    digest = document_searches.tokens(request.session).get(token, "") if token else ""
    if token and not digest:
        messages.error(
            request,
            _(
                "This search by document number has expired: find the document number again, "
                "then save the search."
            ),
        )
        return redirect(_search_url(query_string))
    created = search_service.save_search(
        owner=request.user, name=name, query=query_string, document_digest=digest
    )
    messages.success(
        request,
        (_("Saved the search “%(name)s”.") if created else _("Updated “%(name)s”."))
        % {"name": name},
    )
    return redirect(_search_url(query_string))


@require_GET
def saved_search_open(request: HttpRequest, pk: int) -> HttpResponse:
    """A saved search, opened: its query on the search page, a document number it searches for
    given a fresh session token (the saved search keeps only the number's digest)."""
    _require_search_permission(request)
    saved = get_object_or_404(search_selectors.saved_searches_of(request.user), pk=pk)
    params = QueryDict(saved.query, mutable=True)
    digest = params.pop(search_service.DOCUMENT_DIGEST_PARAM, [""])[-1]
    params.pop(DOCUMENT_TOKEN_PARAM, None)
    if digest:
        params[DOCUMENT_TOKEN_PARAM] = document_searches.remember(request.session, digest)
    return redirect(_search_url(_query_string(params, page=None)))


@require_POST
def saved_search_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_search_permission(request)
    saved = get_object_or_404(search_selectors.saved_searches_of(request.user), pk=pk)
    search_service.delete_saved_search(saved_search=saved)
    messages.success(request, _("Deleted the saved search “%(name)s”.") % {"name": saved.name})
    return redirect("ticket-search")


@dataclass(frozen=True)
class FilterChip:
    """An active filter, shown above the results: what it is, and the same search without it."""

    label: str
    value: str
    remove_url: str


def _filter_chips(form: TicketSearchForm, request: HttpRequest) -> list[FilterChip]:
    """One chip per filter the search applies (the form validated), each a link to the same
    search without that filter, back on page 1; the sort and the columns are kept."""
    chips = []
    for name in PARAMS:
        if name == "sort" or not request.GET.get(name, "").strip():
            continue
        value = form.cleaned_data.get(name)
        if value is None or value == "":
            continue
        if name == DOCUMENT_TOKEN_PARAM:
            label = _("Document number")
            shown = document_searches.hint(request.session, request.GET[name]) or "•••"
        else:
            label = str(form.fields[name].label or name)
            shown = _chip_value(form, name, value)
        remove_url = _search_url(_query_string(request.GET, **{name: None, "page": None}))
        chips.append(FilterChip(label=label, value=shown, remove_url=remove_url))
    return chips


def _chip_value(form: TicketSearchForm, name: str, value: object) -> str:
    """A filter's value as its field shows it: an option's label, a date in the language."""
    if isinstance(value, dt.date):
        return date_format(value, "j M Y")
    if name == "attribution":
        return dict(form.fields["attribution"].widget.choices).get(form.data.get(name), "")
    if hasattr(value, "pk"):
        return dict(form.fields[name].choices).get(value.pk) or str(value)
    field = form.fields[name]
    if isinstance(field, forms.ChoiceField):
        return str(dict(field.choices).get(value, value))
    return str(value)


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
        "status_label": search_selectors.ticket_status_label(
            ticket.is_valid, ticket.status, withdrawn=ticket.withdrawn_at is not None
        ),
        "deliveries": ticket_deliveries(ticket.pk),
        "tw": withdrawal_selectors.ticket_withdrawal(ticket, request.user),
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
