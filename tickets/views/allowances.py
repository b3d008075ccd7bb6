"""Allowances and groups of issuers: managers see what is used and left, and set them."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets import roles
from tickets.forms.allowances import AllowanceForm, IssuerGroupForm
from tickets.models import Allowance, IssuerGroup
from tickets.selectors import allowances as selectors
from tickets.selectors import credentials as credential_selectors
from tickets.services import allowances as service
from tickets.services.allowances import AllowanceError

manage_allowances = permission_required(roles.MANAGE_ALLOWANCES, raise_exception=True)


def _environment() -> str | None:
    credential = credential_selectors.active_credential()
    return credential.environment if credential is not None else None


@manage_allowances
@require_http_methods(["GET"])
def allowance_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "tickets/allowances/list.html",
        {
            "rows": selectors.allowance_rows(environment=_environment()),
            "groups": selectors.issuer_group_list(),
        },
    )


def _saved(form: AllowanceForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {name: data.get(name) for name in service.ALLOWANCE_FIELDS}


def _add_error(form: AllowanceForm | IssuerGroupForm, exc: AllowanceError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, str(exc))


@manage_allowances
@require_http_methods(["GET", "POST"])
def allowance_new(request: HttpRequest) -> HttpResponse:
    form = AllowanceForm(data=request.POST or None, environment=_environment())
    if request.method == "POST" and form.is_valid():
        try:
            service.create_allowance(actor=request.user, request=request, **_saved(form))
        except AllowanceError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The allowance is set."))
            return redirect("allowance-list")
    return render(request, "tickets/allowances/form.html", {"form": form, "allowance": None})


@manage_allowances
@require_http_methods(["GET", "POST"])
def allowance_edit(request: HttpRequest, pk: int) -> HttpResponse:
    allowance = get_object_or_404(selectors.allowance_list(), pk=pk)
    form = AllowanceForm(data=request.POST or None, environment=_environment(), allowance=allowance)
    if request.method == "POST" and form.is_valid():
        try:
            service.change_allowance(
                allowance=allowance, actor=request.user, request=request, **_saved(form)
            )
        except AllowanceError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The allowance is changed."))
            return redirect("allowance-list")
    return render(request, "tickets/allowances/form.html", {"form": form, "allowance": allowance})


@manage_allowances
@require_POST
def allowance_delete(request: HttpRequest, pk: int) -> HttpResponse:
    allowance = get_object_or_404(Allowance, pk=pk)
    service.delete_allowance(allowance=allowance, actor=request.user, request=request)
    messages.success(request, _("The allowance is deleted: its places no longer limit anyone."))
    return redirect("allowance-list")


# --- Groups of issuers -------------------------------------------------------------------------


@manage_allowances
@require_http_methods(["GET", "POST"])
def issuer_group_new(request: HttpRequest) -> HttpResponse:
    form = IssuerGroupForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            group = service.create_issuer_group(
                actor=request.user, request=request, **form.cleaned_data
            )
        except AllowanceError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The group “%(name)s” is set.") % {"name": group.name})
            return redirect("allowance-list")
    return render(request, "tickets/allowances/group_form.html", {"form": form, "group": None})


@manage_allowances
@require_http_methods(["GET", "POST"])
def issuer_group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(IssuerGroup, pk=pk)
    form = IssuerGroupForm(data=request.POST or None, group=group)
    if request.method == "POST" and form.is_valid():
        try:
            service.change_issuer_group(
                group=group, actor=request.user, request=request, **form.cleaned_data
            )
        except AllowanceError as exc:
            _add_error(form, exc)
        else:
            messages.success(request, _("The group “%(name)s” is changed.") % {"name": group.name})
            return redirect("allowance-list")
    return render(
        request,
        "tickets/allowances/group_form.html",
        {"form": form, "group": group, "allowances": group.allowances.count()},
    )


@manage_allowances
@require_POST
def issuer_group_delete(request: HttpRequest, pk: int) -> HttpResponse:
    group = get_object_or_404(IssuerGroup, pk=pk)
    name = group.name
    service.delete_issuer_group(group=group, actor=request.user, request=request)
    messages.success(request, _("The group “%(name)s” is deleted.") % {"name": name})
    return redirect("allowance-list")
