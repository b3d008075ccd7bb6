"""Holders' personal data for managers: what each event still holds and when it goes, what was
removed when, and "purge now" for an event whose night is over."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from tickets import roles
from tickets.forms.purge import PurgeEventForm
from tickets.models import Event
from tickets.selectors import purge as purge_selectors
from tickets.services.purge import PurgeError, purge_event

EVENTS_PER_PAGE = 50


@never_cache
@require_GET
@permission_required(roles.PURGE_PERSONAL_DATA, raise_exception=True)
def purge_overview(request: HttpRequest) -> HttpResponse:
    page = Paginator(purge_selectors.events_with_holders(), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    rows = purge_selectors.held_data(list(page.object_list))
    return render(
        request,
        "tickets/purge/overview.html",
        {
            "page": page,
            "rows": rows,
            "days": purge_selectors.purge_after_days(),
            "strays": purge_selectors.stray_tickets_holding_data(),
            "purges": purge_selectors.latest_purges(),
        },
    )


@never_cache
@require_http_methods(["GET", "POST"])
@permission_required(roles.PURGE_PERSONAL_DATA, raise_exception=True)
def purge_event_now(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    form = PurgeEventForm(request.POST if request.method == "POST" else None)
    held = purge_selectors.held_data_of(event)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = purge_event(event=event, actor=request.user, request=request, manual=True)
            except PurgeError as error:
                messages.error(request, str(error))
                return redirect("purge-event", pk=event.pk)
            messages.success(
                request,
                _(
                    "The personal data of %(event)s was removed: %(lines)s lines, "
                    "%(tickets)s tickets."
                )
                % {
                    "event": event.name,
                    "lines": result.counts.lines,
                    "tickets": result.counts.tickets,
                },
            )
            return redirect("purge")
        status = 400
    return render(
        request,
        "tickets/purge/event.html",
        {"event": event, "held": held, "form": form, "days": purge_selectors.purge_after_days()},
        status=status,
    )
