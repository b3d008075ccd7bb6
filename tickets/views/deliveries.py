"""Staff's delivery actions on an issuance's holders: resend, change the address, WhatsApp.

Each takes the issuance as `tickets.views.issuances` does (someone else's is a 404 to an issuer)
and leaves the writing and its audit to `tickets.services.deliveries.queueing`. A refused action
(no ticket yet, no phone) is a message on the issuance page, never an error page.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tickets import roles
from tickets.forms.deliveries import ChangeEmailForm
from tickets.models import Issuance, IssuanceLine
from tickets.selectors import issuances as issuance_selectors
from tickets.selectors.deliveries import holder_deliveries
from tickets.services.deliveries import queueing
from tickets.views.issuances import _line_of, _visible_issuance

issue_required = permission_required(roles.ISSUE_COMPS, raise_exception=True)


def _back_to_line(issuance: Issuance, line: IssuanceLine) -> HttpResponse:
    return redirect(f"{reverse('issuance-detail', args=[issuance.pk])}#line-{line.pk}")


@require_POST
@issue_required
def line_resend(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    issuance = _visible_issuance(request, pk)
    line = _line_of(issuance, line_pk)
    try:
        delivery = queueing.resend(line=line, user=request.user, request=request)
    except queueing.DeliveryError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The ticket of %(name)s will be e-mailed again to %(email)s.")
            % {"name": line.full_name, "email": delivery.recipient},
        )
    return _back_to_line(issuance, line)


@require_http_methods(["GET", "POST"])
@never_cache
@issue_required
def line_change_email(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """A holder's new address (a typo, another mailbox): the ticket goes there, audited."""
    issuance = _visible_issuance(request, pk)
    line = _line_of(issuance, line_pk)
    form = ChangeEmailForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            delivery = queueing.resend(
                line=line, user=request.user, email=form.cleaned_data["email"], request=request
            )
        except queueing.DeliveryError as error:
            messages.error(request, error.message)
            return _back_to_line(issuance, line)
        messages.success(
            request,
            _("The ticket of %(name)s will be e-mailed to %(email)s.")
            % {"name": line.full_name, "email": delivery.recipient},
        )
        return _back_to_line(issuance, line)
    return render(
        request,
        "tickets/deliveries/change_email.html",
        {
            "issuance": issuance,
            "line": line,
            "form": form,
            "current_address": queueing.current_address(line),
        },
    )


@require_POST
@issue_required
def line_whatsapp(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """Records the message and opens WhatsApp with it (the form opens a new tab)."""
    issuance = _visible_issuance(request, pk)
    line = _line_of(issuance, line_pk)
    try:
        link = queueing.record_whatsapp(line=line, user=request.user, request=request)
    except queueing.DeliveryError as error:
        messages.error(request, error.message)
    else:
        return redirect(link)
    return _back_to_line(issuance, line)


@require_POST
@issue_required
def resend_failed(request: HttpRequest, pk: int) -> HttpResponse:
    issuance = _visible_issuance(request, pk)
    try:
        count = queueing.resend_failed(issuance=issuance, user=request.user, request=request)
    except queueing.DeliveryError as error:
        messages.error(request, error.message)
    else:
        if count:
            messages.success(
                request,
                ngettext(
                    "One e-mail will be sent again.",
                    "%(count)s e-mails will be sent again.",
                    count,
                )
                % {"count": count},
            )
        else:
            messages.info(request, _("No e-mail of this issuance has failed."))
    return redirect("issuance-detail", pk=issuance.pk)


@require_GET
@never_cache
@issue_required
def whatsapp_all(request: HttpRequest, pk: int) -> HttpResponse:
    """Every confirmed holder with a phone, one WhatsApp button each, those sent marked."""
    issuance = _visible_issuance(request, pk)
    holders = holder_deliveries(issuance)
    rows = [
        {"line": line, "sent": holders[line.pk].whatsapp}
        for line in issuance_selectors.confirmed_lines_of(issuance)
        if line.phone and line.pk in holders
    ]
    return render(
        request, "tickets/deliveries/whatsapp_all.html", {"issuance": issuance, "rows": rows}
    )
