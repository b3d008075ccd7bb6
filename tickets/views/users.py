"""The users page: admins create logins, set roles, deactivate people and reset passwords."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from tickets import roles
from tickets.forms.switch import SwitchForm
from tickets.forms.users import PasswordResetForm, RoleForm, UserCreateForm
from tickets.selectors import two_factor as two_factor_selectors
from tickets.selectors import users as user_selectors
from tickets.services import two_factor, users
from tickets.services.two_factor import TwoFactorError
from tickets.services.users import UserError

manage_users = permission_required(roles.MANAGE_USERS, raise_exception=True)


@manage_users
def user_list(request: HttpRequest) -> HttpResponse:
    people = [
        (person, roles.role_label(role) if (role := users.role_of(person)) else "")
        for person in user_selectors.user_list()
    ]
    return render(request, "tickets/users/list.html", {"people": people})


@manage_users
@require_http_methods(["GET", "POST"])
def user_new(request: HttpRequest) -> HttpResponse:
    form = UserCreateForm(data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            person = users.create_user(**form.cleaned_data, actor=request.user)
        except UserError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(
                request, _("%(username)s can now log in.") % {"username": person.username}
            )
            return redirect("user-detail", pk=person.pk)
    return render(request, "tickets/users/new.html", {"form": form})


def _render_detail(
    request: HttpRequest,
    person: User,
    *,
    role_form: RoleForm | None = None,
    password_form: PasswordResetForm | None = None,
    status: int = 200,
) -> HttpResponse:
    role = users.role_of(person)
    context = {
        "person": person,
        "role": roles.role_label(role) if role else "",
        "role_form": role_form or RoleForm(initial={"role": role}),
        "password_form": password_form or PasswordResetForm(),
        "locked_out": user_selectors.is_locked_out(person),
        "two_factor": two_factor_selectors.state_of(person),
    }
    return render(request, "tickets/users/detail.html", context, status=status)


@manage_users
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_detail(request, get_object_or_404(User, pk=pk))


@manage_users
@require_POST
def user_set_role(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    form = RoleForm(data=request.POST)
    if not form.is_valid():
        return _render_detail(request, person, role_form=form, status=400)
    try:
        users.set_role(user=person, role=form.cleaned_data["role"], actor=request.user)
    except UserError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request, _("%(username)s's role is saved.") % {"username": person.username}
        )
    return redirect("user-detail", pk=person.pk)


@manage_users
@require_POST
def user_set_active(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    switch = SwitchForm(request.POST)
    if not switch.is_valid():
        return HttpResponseBadRequest("active must be 0 or 1")
    active = switch.cleaned_data["active"]
    try:
        users.set_active(user=person, active=active, actor=request.user)
    except UserError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            (
                _("%(username)s can log in again.")
                if active
                else _("%(username)s can no longer log in.")
            )
            % {"username": person.username},
        )
    return redirect("user-detail", pk=person.pk)


@manage_users
@require_POST
def user_reset_password(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    form = PasswordResetForm(data=request.POST)
    if form.is_valid():
        try:
            users.reset_password(
                user=person, password=form.cleaned_data["password"], actor=request.user
            )
        except UserError as exc:
            form.add_error("password", str(exc))
        else:
            messages.success(
                request, _("%(username)s's password is changed.") % {"username": person.username}
            )
            return redirect("user-detail", pk=person.pk)
    return _render_detail(request, person, password_form=form, status=400)


@manage_users
@require_POST
def user_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    person = get_object_or_404(User, pk=pk)
    users.lift_lockout(user=person, actor=request.user)
    messages.success(
        request, _("%(username)s can sign in again at once.") % {"username": person.username}
    )
    return redirect("user-detail", pk=person.pk)


@manage_users
@require_POST
def user_two_factor_reset(request: HttpRequest, pk: int) -> HttpResponse:
    """A lost phone: the person's app and recovery codes go; they set it up at next sign-in."""
    person = get_object_or_404(User, pk=pk)
    try:
        two_factor.reset_devices(user=person, actor=request.user, request=request)
    except TwoFactorError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(username)s's two-factor sign-in is reset: they set it up again when they sign in.")
            % {"username": person.username},
        )
    return redirect("user-detail", pk=person.pk)
