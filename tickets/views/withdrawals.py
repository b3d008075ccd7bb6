"""Withdrawing a comp: the form with its reason, trying a failed one again, and the managers' list.

Tickets are taken as the search takes them (`search_selectors.tickets_visible_to`), so an issuer
gets a 404 for someone else's ticket. Who may withdraw is the selectors' rule; a refusal is said
on the page, never an error page. The writing is `tickets.services.withdrawals`'.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import roles
from tickets.forms.withdrawals import WithdrawalFilterForm, WithdrawalForm
from tickets.models import IssuedTicket, Withdrawal, WithdrawalState
from tickets.selectors import search as search_selectors
from tickets.selectors import withdrawals as withdrawal_selectors
from tickets.services import withdrawals as withdrawal_service

WITHDRAWALS_PER_PAGE = 50


def _visible_ticket(request: HttpRequest, pk: int) -> IssuedTicket:
    if not search_selectors.can_search_tickets(request.user):
        raise PermissionDenied
    tickets = search_selectors.tickets_visible_to(request.user).select_related(
        "line__issuance__event", "line__issuance__created_by"
    )
    return get_object_or_404(tickets, pk=pk)


@require_http_methods(["GET", "POST"])
@never_cache
def ticket_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    """The Withdraw form of one ticket: what will happen, and the reason to give."""
    ticket = _visible_ticket(request, pk)
    form = WithdrawalForm(request.POST if request.method == "POST" else None)
    refusal = withdrawal_selectors.refusal(ticket, request.user)
    if request.method == "POST" and refusal is None and form.is_valid():
        try:
            withdrawal = withdrawal_service.request_withdrawal(
                ticket=ticket,
                user=request.user,
                reason=form.cleaned_data["reason"],
                request=request,
            )
        except withdrawal_service.WithdrawalError as error:
            form.add_error(None, error.message)
        else:
            if withdrawal.state == WithdrawalState.WITHDRAWN:
                messages.success(request, _("The comp is withdrawn."))
            elif withdrawal.state == WithdrawalState.AWAITING_DASHBOARD:
                messages.warning(
                    request, _("Now cancel the ticket in the Fourvenues dashboard, as shown below.")
                )
            else:
                messages.info(request, _("Withdrawing the comp on Fourvenues."))
            return redirect("ticket-detail", pk=ticket.pk)
    credential = ticket.line.issuance.credential if ticket.line_id else None
    return render(
        request,
        "tickets/withdrawals/withdraw.html",
        {
            "ticket": ticket,
            "form": form,
            "refusal": refusal,
            "through_api": credential is not None and credential.withdraw_through_api,
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@require_POST
def withdrawal_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """Try a failed withdrawal of the ticket `pk` again (deliberate, audited)."""
    ticket = _visible_ticket(request, pk)
    withdrawal = get_object_or_404(Withdrawal.objects.select_related("ticket"), ticket=ticket)
    withdrawal.ticket = ticket
    try:
        withdrawal_service.retry_withdrawal(
            withdrawal=withdrawal, user=request.user, request=request
        )
    except withdrawal_service.WithdrawalError as error:
        messages.error(request, error.message)
    else:
        messages.info(request, _("Trying to withdraw the comp again."))
    if request.POST.get("next") == "list" and request.user.has_perm(roles.WITHDRAW_TICKETS):
        return redirect("withdrawal-list")
    return redirect("ticket-detail", pk=ticket.pk)


@require_GET
@never_cache
@permission_required(roles.WITHDRAW_TICKETS, raise_exception=True)
def withdrawal_list(request: HttpRequest) -> HttpResponse:
    """Every withdrawal, newest first: what waits in the dashboard, what failed, what is done."""
    form = WithdrawalFilterForm(request.GET)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    page = Paginator(withdrawal_selectors.withdrawal_list(state=state), WITHDRAWALS_PER_PAGE)
    return render(
        request,
        "tickets/withdrawals/list.html",
        {
            "form": form,
            "state": state,
            "page": page.get_page(request.GET.get("page")),
            "counts": withdrawal_selectors.counts_by_state(),
            "query": urlencode({"state": state}) if state else "",
        },
    )
