"""Credentials: admins add, change, test, activate and deactivate Fourvenues credentials.
Secrets go in through forms and never come back out (only `secret_hint`)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets import roles
from tickets.forms.credentials import CredentialForm
from tickets.forms.switch import SwitchForm
from tickets.fourvenues.errors import FourvenuesError
from tickets.models import Credential
from tickets.selectors import credentials as credential_selectors
from tickets.services.credentials import (
    CredentialError,
    ReplacementChanged,
    activate_after_first_test,
    in_use_besides,
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
                # Never in use before its connection test: an untested key must not silently
                # replace a working one.
                activate=False,
                actor=request.user,
            )
        except CredentialError as exc:
            form.add_error(exc.field, str(exc))
        else:
            messages.success(
                request,
                _(
                    "“%(name)s” is stored but not in use yet. Test its connection: once it "
                    "works you can make it the one issuing uses."
                )
                % {"name": credential.name},
            )
            return redirect("credential-detail", pk=credential.pk)
    return render(request, "tickets/credentials/form.html", {"form": form})


def _detail(
    request: HttpRequest, credential: Credential, form: CredentialForm, **extra: object
) -> HttpResponse:
    context = {
        "credential": credential,
        # What activating it would replace: named beside the button, and confirmed by the post.
        "replaces": None if credential.is_active else in_use_besides(credential),
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
            messages.success(request, _("Saved. Test the connection if you changed a secret."))
            return redirect("credential-detail", pk=credential.pk)
    return _detail(request, credential, form)


@manage_credentials
@require_POST
def credential_test(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Test connection": `GET /channels/` with this credential, and what it sees."""
    credential = get_object_or_404(Credential, pk=pk)
    was_verified = credential.last_verified_at is not None
    try:
        channels = verify_credential(credential=credential, actor=request.user)
    except FourvenuesError as exc:
        return _detail(request, credential, CredentialForm(instance=credential), test_error=exc)
    activated = activate_after_first_test(
        credential=credential, was_verified=was_verified, actor=request.user
    )
    return _detail(
        request,
        credential,
        CredentialForm(instance=credential),
        channels=channels,
        activated=activated,
    )


@manage_credentials
@require_POST
def credential_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    credential = get_object_or_404(Credential, pk=pk)
    switch = SwitchForm(request.POST)
    if not switch.is_valid():
        return HttpResponseBadRequest("active must be 0 or 1")
    active = switch.cleaned_data["active"]
    if active and not switch.confirmed() and not credential.is_expired:
        # Activating always names what it replaces before it does it.
        return _confirm_activation(request, credential, in_use_besides(credential))
    replaced = in_use_besides(credential) if active else None
    try:
        set_credential_active(
            credential=credential,
            active=active,
            actor=request.user,
            **({"expect_replacing": switch.replaces_id()} if active else {}),
        )
    except ReplacementChanged as exc:
        messages.warning(request, str(exc))
        return _confirm_activation(request, credential, exc.current)
    except CredentialError as exc:
        messages.error(request, str(exc))
    else:
        names = {
            "environment": credential.get_environment_display(),
            "name": credential.name,
            "replaced": replaced.name if replaced else "",
        }
        if not active:
            text = _("“%(name)s” is deactivated: issuing no longer uses it.") % names
        elif replaced is not None:
            text = _("Issuing on %(environment)s now uses “%(name)s” instead of “%(replaced)s”.")
            text %= names
        else:
            text = _("Issuing on %(environment)s now uses “%(name)s”.") % names
        messages.success(request, text)
    return redirect("credential-detail", pk=credential.pk)


def _confirm_activation(
    request: HttpRequest, credential: Credential, replaces: Credential | None
) -> HttpResponse:
    return render(
        request,
        "tickets/credentials/confirm_activation.html",
        {"credential": credential, "replaces": replaces},
    )
