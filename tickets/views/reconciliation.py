"""Reconciliation pages for managers: the overview per event, one event's runs, the run
history, and the discrepancy queue (filters, adopt, re-check, bulk acknowledge)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from tickets import roles
from tickets.forms.reconciliation import (
    AcknowledgeDiscrepanciesForm,
    DiscrepancyFilterForm,
    StartReconciliationForm,
)
from tickets.models import DiscrepancyKind, DiscrepancyState, Event, RunTrigger
from tickets.selectors import reconciliation as reconciliation_selectors
from tickets.services.reconciliation import discrepancies, runs
from tickets.services.reconciliation.errors import ReconciliationError

ROWS_PER_PAGE = 50
EVENT_RUNS_SHOWN = 20
QUEUE_FILTERS = ("event", "kind", "state")


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_GET
def reconciliation_overview(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tickets/reconciliation/overview.html",
        {
            "events": reconciliation_selectors.reconciliation_overview(),
            "start_form": StartReconciliationForm(),
        },
    )


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_GET
def reconciliation_event(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    counts = reconciliation_selectors.discrepancy_counts(event=event)
    return render(
        request,
        "tickets/reconciliation/event.html",
        {
            "sync": reconciliation_selectors.event_sync(event),
            "kinds": [
                (kind, label, counts.get(kind, 0)) for kind, label in DiscrepancyKind.choices
            ],
            "runs": reconciliation_selectors.reconciliation_runs(event=event)[:EVENT_RUNS_SHOWN],
            "start_form": StartReconciliationForm(),
        },
    )


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_POST
def reconciliation_start(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    form = StartReconciliationForm(request.POST)
    full = form.is_valid() and form.cleaned_data["full"]
    try:
        run = runs.request_run(
            event=event, trigger=RunTrigger.UI, full=full, actor=request.user, request=request
        )
    except ReconciliationError as error:
        messages.error(request, str(error))
    else:
        if run.full:
            text = _("A full reconciliation of %(event)s is queued.")
        else:
            text = _("An incremental reconciliation of %(event)s is queued.")
        messages.success(request, text % {"event": event.name})
    return redirect("reconciliation-event", pk=event.pk)


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_GET
def reconciliation_runs(request: HttpRequest) -> HttpResponse:
    event = None
    if request.GET.get("event", "").isdigit():
        event = Event.objects.filter(pk=int(request.GET["event"])).first()
    page = Paginator(
        reconciliation_selectors.reconciliation_runs(event=event), ROWS_PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/reconciliation/runs.html",
        {"page": page, "event": event, "query": f"event={event.pk}" if event else ""},
    )


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_GET
def discrepancy_queue(request: HttpRequest) -> HttpResponse:
    form = DiscrepancyFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "tickets/reconciliation/queue.html",
            {"form": form, "page": None, "filters": ""},
            status=400,
        )
    params = form.cleaned_data
    rows = reconciliation_selectors.discrepancy_queue(
        event=params["event"], kind=params["kind"], state=params["state"]
    )
    page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    for row in page.object_list:
        row.shown_reason = reconciliation_selectors.settled_reason(row)
        # What staff know a ticket by: its code (the remote id is a technical detail).
        row.shown_code = (row.ticket.code if row.ticket else "") or row.remote_snapshot.get("code")
    return render(
        request,
        "tickets/reconciliation/queue.html",
        {
            "form": form,
            "page": page,
            "filters": _filters(request.GET),
            "filter_items": [(n, request.GET[n]) for n in QUEUE_FILTERS if request.GET.get(n)],
        },
    )


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_POST
def discrepancy_acknowledge(request: HttpRequest) -> HttpResponse:
    form = AcknowledgeDiscrepanciesForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return _back_to_queue(request)
    try:
        count = discrepancies.acknowledge(
            discrepancy_ids=[row.pk for row in form.cleaned_data["discrepancies"]],
            reason=form.cleaned_data["reason"],
            actor=request.user,
            request=request,
        )
    except ReconciliationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            ngettext(
                "%(count)s difference acknowledged.", "%(count)s differences acknowledged.", count
            )
            % {"count": count},
        )
    return _back_to_queue(request)


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_POST
def discrepancy_adopt(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        ticket = discrepancies.adopt(discrepancy_id=pk, actor=request.user, request=request)
    except ReconciliationError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Ticket %(code)s adopted: it is now in Comps' records.")
            % {"code": ticket.code or ticket.remote_id},
        )
    return _back_to_queue(request)


@permission_required(roles.RECONCILE_TICKETS, raise_exception=True)
@require_POST
def discrepancy_recheck(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        row = discrepancies.recheck(discrepancy_id=pk, actor=request.user, request=request)
    except ReconciliationError as error:
        messages.error(request, str(error))
    else:
        if row.state == DiscrepancyState.OPEN:
            messages.warning(request, _("Checked again: Fourvenues still differs."))
        else:
            messages.success(request, _("Checked again: the difference is gone."))
    return _back_to_queue(request)


def _filters(query: QueryDict) -> str:
    """The queue's filters as a query string (only the known ones, so nothing else rides along
    on the redirect after an action)."""
    return urlencode({name: query[name] for name in QUEUE_FILTERS if query.get(name)})


def _back_to_queue(request: HttpRequest) -> HttpResponse:
    filters = _filters(request.POST)
    return redirect(f"{reverse('discrepancy-queue')}{'?' + filters if filters else ''}")
