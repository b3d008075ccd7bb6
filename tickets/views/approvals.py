"""The approvals queue, and deciding: many at once from the queue, one from its issuance page.

The four-eyes rule and "decided once" live in `services.approvals`; these views only parse the
choice and report what the service did.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tickets import roles
from tickets.forms.approvals import APPROVE, ApprovalFilterForm, BulkDecisionForm, DecisionForm
from tickets.models import ApprovalRequest
from tickets.selectors import approvals as approval_selectors
from tickets.selectors import issuances as issuance_selectors
from tickets.services import approvals as approval_service

REQUESTS_PER_PAGE = 50


@require_GET
@never_cache
@permission_required(roles.APPROVE_ISSUANCES, raise_exception=True)
def approval_queue(request: HttpRequest) -> HttpResponse:
    form = ApprovalFilterForm(request.GET)
    if not form.is_valid():
        return render(
            request,
            "tickets/approvals/queue.html",
            {"form": form, "page": None, "rows": [], "query": ""},
            status=400,
        )
    event = form.cleaned_data["event"]
    page = Paginator(approval_selectors.waiting_requests(event=event), REQUESTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "tickets/approvals/queue.html",
        {
            "form": form,
            "page": page,
            "rows": approval_selectors.queue_rows(list(page.object_list)),
            "event": event,
            "query": urlencode({"event": event.pk} if event else {}),
        },
    )


def _back_to_queue(request: HttpRequest) -> HttpResponse:
    event = request.POST.get("event", "")
    query = f"?{urlencode({'event': event})}" if event.isdigit() else ""
    return redirect(reverse("approval-queue") + query)


def _report(request: HttpRequest, decisions: approval_service.Decisions, decision: str) -> None:
    count = len(decisions.decided)
    if decision == APPROVE:
        text = ngettext(
            "%(count)s request approved: its comps are being sent.",
            "%(count)s requests approved: their comps are being sent.",
            count,
        )
    else:
        text = ngettext("%(count)s request rejected.", "%(count)s requests rejected.", count)
    messages.success(request, text % {"count": count})
    for _approval, why in decisions.refused:
        messages.warning(request, why)


def _decide(
    request: HttpRequest, approvals: list[ApprovalRequest], decision: str, reason: str
) -> None:
    decide = approval_service.approve if decision == APPROVE else approval_service.reject
    try:
        decisions = decide(requests=approvals, user=request.user, reason=reason, request=request)
    except approval_service.ApprovalError as error:
        messages.error(request, str(error))  # with every refused request's reason
    else:
        _report(request, decisions, decision)


def _form_errors(request: HttpRequest, form: DecisionForm) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@permission_required(roles.APPROVE_ISSUANCES, raise_exception=True)
@require_POST
def approval_decide(request: HttpRequest) -> HttpResponse:
    """The queue's bulk buttons: approve or reject every selected request."""
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
    else:
        _decide(
            request,
            list(form.cleaned_data["requests"]),
            form.cleaned_data["decision"],
            form.cleaned_data["reason"],
        )
    return _back_to_queue(request)


@permission_required(roles.APPROVE_ISSUANCES, raise_exception=True)
@require_POST
def approval_decide_issuance(request: HttpRequest, pk: int) -> HttpResponse:
    """The issuance page's buttons: approve or reject this one."""
    issuance = get_object_or_404(issuance_selectors.issuances_visible_to(request.user), pk=pk)
    approval = approval_selectors.request_of(issuance)
    form = DecisionForm(request.POST)
    if approval is None:
        messages.error(request, _("These comps do not wait for approval."))
    elif not form.is_valid():
        _form_errors(request, form)
    else:
        _decide(request, [approval], form.cleaned_data["decision"], form.cleaned_data["reason"])
    return redirect("issuance-detail", pk=issuance.pk)
