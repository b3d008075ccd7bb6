"""The rules pages: the venue's rules with the coming events' cut-offs and approval settings,
and one event's rules."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from tickets import roles
from tickets.forms.policies import EventPolicyForm, VenuePolicyForm
from tickets.models import Event
from tickets.selectors import credentials as credential_selectors
from tickets.selectors import policies as policy_selectors
from tickets.services import policies as policy_service


@require_http_methods(["GET", "POST"])
@never_cache
@permission_required(roles.MANAGE_ALLOWANCES, raise_exception=True)
def policies(request: HttpRequest) -> HttpResponse:
    venue = policy_selectors.venue_policy()
    status = 200
    if request.method == "POST":
        form = VenuePolicyForm(request.POST)
        if form.is_valid():
            try:
                policy_service.set_venue_policy(
                    user=request.user, request=request, **form.cleaned_data
                )
            except policy_service.PolicyError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("The venue's rules are saved."))
                return redirect("policies")
        status = 400
    else:
        form = VenuePolicyForm(
            initial={
                "approval_over_size": venue.approval_over_size,
                "issuer_withdrawal_minutes": venue.issuer_withdrawal_minutes,
            }
        )
    return render(
        request,
        "tickets/policies/rules.html",
        {
            "form": form,
            "events": policy_selectors.coming_event_rules(
                environment=credential_selectors.issuing_environment()
            ),
            "venue": venue,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@never_cache
@permission_required(roles.MANAGE_ALLOWANCES, raise_exception=True)
def policy_event(request: HttpRequest, pk: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=pk)
    policy = policy_selectors.event_policy(event)
    status = 200
    if request.method == "POST":
        form = EventPolicyForm(request.POST)
        if form.is_valid():
            try:
                policy_service.set_event_policy(
                    event=event, user=request.user, request=request, **form.cleaned_data
                )
            except policy_service.PolicyError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, _("The rules of %(event)s are saved.") % {"event": event.name}
                )
                return redirect("policies")
        status = 400
    else:
        form = EventPolicyForm(
            initial={
                "cut_off_at": (
                    timezone.localtime(policy.cut_off_at) if policy.cut_off_at else None
                ),
                "approval_required": policy.approval_required,
                "approval_over_size": policy.approval_over_size,
            }
        )
    return render(
        request,
        "tickets/policies/event.html",
        {
            "form": form,
            "event": event,
            "policy": policy,
            "default_cut_off": policy_selectors.default_cut_off(event),
            "cut_off": policy_selectors.effective_cut_off(event, policy),
            "venue_size": policy_selectors.venue_policy().approval_over_size,
        },
        status=status,
    )
