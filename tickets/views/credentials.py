"""Credentials: admins add, change, test, activate and deactivate Fourvenues credentials.
Secrets go in through forms and never come back out (only `secret_hint`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tickets import roles
from tickets.forms.credentials import CredentialForm
from tickets.forms.switch import SwitchForm
from tickets.fourvenues.errors import FourvenuesError
from tickets.models import Credential
from tickets.selectors import credentials as credential_selectors
from tickets.services.credentials import (
    CredentialError,
    register_credential,
    set_credential_active,
    update_credential,
    verify_credential,
)

manage_credentials = permission_required(roles.MANAGE_CREDENTIALS, raise_exception=True)


@manage_credentials
def credential_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tickets/credentials/list.html",
        {
            "credentials": credential_selectors.credential_list(),
            "in_use": credential_selectors.active_credential(),
        },
    )


@manage_credentials
@require_http_methods(["GET", "POST"])
def credential_new(request: HttpRequest) -> HttpResponse:
    form = CredentialForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            credential = register_credential(
                **form.changes(),
                **form.typed_secrets(),
                activate=form.cleaned_data["activate"],
                actor=request.user,
            )
        except CredentialError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(request, f"“{credential.name}” is stored. Test its connection now.")
            return redirect("credential-detail", pk=credential.pk)
    return render(request, "tickets/credentials/form.html", {"form": form})


def _detail(
    request: HttpRequest, credential: Credential, form: CredentialForm, **extra: object
) -> HttpResponse:
    context = {
        "credential": credential,
        "form": form,
        "api_calls": credential_selectors.recent_api_calls(credential=credential),
        **extra,
    }
    return render(request, "tickets/credentials/detail.html", context)


@manage_credentials
@require_http_methods(["GET", "POST"])
def credential_detail(request: HttpRequest, pk: int) -> HttpResponse:
    credential = get_object_or_404(Credential, pk=pk)
    form = CredentialForm(data=request.POST or None, instance=credential)
    if request.method == "POST" and form.is_valid():
        try:
            update_credential(
                credential=credential,
                new_secrets=form.typed_secrets(),
                actor=request.user,
                **form.changes(),
            )
        except CredentialError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(request, "Saved. Test the connection if you changed a secret.")
            return redirect("credential-detail", pk=credential.pk)
    return _detail(request, credential, form)


@manage_credentials
@require_POST
def credential_test(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Test connection": `GET /channels/` with this credential, and what it sees."""
    credential = get_object_or_404(Credential, pk=pk)
    try:
        channels = verify_credential(credential=credential, actor=request.user)
    except FourvenuesError as exc:
        return _detail(request, credential, CredentialForm(instance=credential), test_error=exc)
    return _detail(request, credential, CredentialForm(instance=credential), channels=channels)


@manage_credentials
@require_POST
def credential_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    credential = get_object_or_404(Credential, pk=pk)
    switch = SwitchForm(request.POST)
    if not switch.is_valid():
        return HttpResponseBadRequest("active must be 0 or 1")
    active = switch.cleaned_data["active"]
    try:
        set_credential_active(credential=credential, active=active, actor=request.user)
    except CredentialError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Issuing on {credential.get_environment_display()} now uses “{credential.name}”."
            if active
            else f"“{credential.name}” is deactivated: issuing no longer uses it.",
        )
    return redirect("credential-detail", pk=credential.pk)
