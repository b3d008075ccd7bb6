"""The door, for managers: an event's door list (a printable page, CSV and PDF) and the door
lookup for a phone (type part of a name, see the guest's comps and whether they came in).

Every answer holds holders' names: none may be kept by a browser or a shared cache.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.cache import patch_cache_control
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from tickets import roles
from tickets.forms.door import DoorLookupForm
from tickets.models import Event
from tickets.selectors import door as door_selectors
from tickets.services import door as door_service


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, private=True, no_cache=True, no_store=True, max_age=0)
    return response


def _event(pk: int) -> Event:
    return get_object_or_404(Event, pk=pk)


@require_GET
@permission_required(roles.VIEW_ALL_ISSUANCES, raise_exception=True)
def door_list(request: HttpRequest, pk: int) -> HttpResponse:
    door = door_selectors.door_list(_event(pk))
    return _private(
        render(
            request,
            "tickets/door/list.html",
            {
                "door": door,
                "csv_format": door_service.csv_format_for(get_language()),
                "reconciled_sentence": door_service.reconciled_sentence(door),
            },
        )
    )


@require_GET
@permission_required(roles.VIEW_ALL_ISSUANCES, raise_exception=True)
def door_list_csv(request: HttpRequest, pk: int) -> HttpResponse:
    fmt = request.GET.get("format", "") or door_service.csv_format_for(get_language())
    if fmt not in door_service.CSV_FORMATS:
        fmt = "csv"
    door = door_selectors.door_list(_event(pk))
    response = StreamingHttpResponse(
        door_service.door_list_csv(door, fmt=fmt), content_type="text/csv; charset=utf-8"
    )
    filename = door_service.door_filename(door, "csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return _private(response)


@require_GET
@permission_required(roles.VIEW_ALL_ISSUANCES, raise_exception=True)
def door_list_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    door = door_selectors.door_list(_event(pk))
    response = HttpResponse(
        door_service.door_list_pdf(door, language=get_language() or "es"),
        content_type="application/pdf",
    )
    filename = door_service.door_filename(door, "pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return _private(response)


@require_GET
@permission_required(roles.VIEW_ALL_ISSUANCES, raise_exception=True)
def door_lookup(request: HttpRequest) -> HttpResponse:
    """The page, or (asked by htmx as the name is typed) only its results."""
    events = door_selectors.lookup_events()
    form = DoorLookupForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    data = form.cleaned_data if form.is_bound and valid else {}
    event = data.get("event") or door_selectors.default_lookup_event(events)
    if event is not None and event not in events:
        events = [event, *events]
    term = data.get("q", "")
    result = door_selectors.door_lookup(event=event, term=term) if event and valid else None
    context = {
        "form": form,
        "events": events,
        "event": event,
        "term": term,
        "result": result,
        "min_length": door_selectors.LOOKUP_MIN_LENGTH,
        "shown": door_selectors.LOOKUP_SHOWN,
    }
    if request.htmx:
        # htmx swaps only 2xx answers: the message about bad input comes back as a 200.
        return _private(render(request, "tickets/door/_lookup_results.html", context))
    status = 200 if valid else 400
    return _private(render(request, "tickets/door/lookup.html", context, status=status))
