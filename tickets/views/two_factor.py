"""Two-factor sign-in pages: the code after the password, setting up an authenticator app,
recovery codes, and the person's own page. `tickets.middleware.TwoFactorMiddleware` sends
whoever must use it here before any other page opens."""

from __future__ import annotations

import django_otp
import segno
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_static.models import StaticDevice

from tickets.forms.two_factor import CodeForm
from tickets.selectors import two_factor as selectors
from tickets.services import two_factor as services
from tickets.services.two_factor import TwoFactorError


def _next_url(request: HttpRequest) -> str:
    """Where the person was going before the code page, if it is one of our pages."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if wanted and url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return resolve_url("home")


def _with_next(request: HttpRequest, url_name: str) -> HttpResponse:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    url = resolve_url(url_name)
    return redirect(f"{url}?{urlencode({'next': wanted})}" if wanted else url)


def _is_verified(request: HttpRequest) -> bool:
    is_verified = getattr(request.user, "is_verified", None)
    return bool(is_verified is not None and is_verified())


def _codes_page(request: HttpRequest, codes: list[str], *, just_enrolled: bool) -> HttpResponse:
    return render(
        request,
        "tickets/two_factor/recovery_codes.html",
        {"codes": codes, "just_enrolled": just_enrolled, "next": _next_url(request)},
    )


@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_verify(request: HttpRequest) -> HttpResponse:
    """The code after the password (or a recovery code, if the phone is not at hand)."""
    if not selectors.two_factor_required(request.user) or _is_verified(request):
        return redirect(_next_url(request))
    if selectors.confirmed_app(request.user) is None:
        return _with_next(request, "two-factor-enrol")
    form = CodeForm(data=request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device = services.verify(
                    user=request.user, code=form.cleaned_data["code"], request=request
                )
            except TwoFactorError as exc:
                form.add_error("code", str(exc))
            else:
                django_otp.login(request, device)
                left = selectors.state_of(request.user).recovery_codes_left
                if isinstance(device, StaticDevice):
                    messages.warning(
                        request,
                        ngettext(
                            "You signed in with a recovery code, which now no longer works. "
                            "%(left)d code is left: make new ones on your two-factor page.",
                            "You signed in with a recovery code, which now no longer works. "
                            "%(left)d codes are left: make new ones on your two-factor page.",
                            left,
                        )
                        % {"left": left},
                    )
                return redirect(_next_url(request))
    return render(
        request,
        "tickets/two_factor/verify.html",
        {"form": form, "next": request.POST.get("next") or request.GET.get("next") or ""},
        status=status,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Setting up the authenticator app: scan the QR (or type the secret), then a code."""
    if not selectors.two_factor_required(request.user):
        return redirect("two-factor")
    if selectors.confirmed_app(request.user) is not None:
        # Never a second app from a session that has not typed a code of the first.
        if _is_verified(request):
            return redirect("two-factor")
        return _with_next(request, "two-factor-verify")
    form = CodeForm(data=request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                device, codes = services.confirm_enrolment(
                    user=request.user, code=form.cleaned_data["code"], request=request
                )
            except TwoFactorError as exc:
                form.add_error("code", str(exc))
            else:
                django_otp.login(request, device)
                return _codes_page(request, codes, just_enrolled=True)
    enrolment = services.start_enrolment(user=request.user)
    qr = segno.make(enrolment.config_url, error="m").svg_inline(
        scale=5,
        border=4,
        light="#fff",
        title=_("QR code for your authenticator app"),
        svgclass="two-factor-qr",
    )
    return render(
        request,
        "tickets/two_factor/enrol.html",
        {
            "form": form,
            # segno writes the SVG itself; the only text in it, the title, it escapes.
            "qr_svg": mark_safe(qr),  # noqa: S308
            "secret": enrolment.secret,
            "next": request.POST.get("next") or request.GET.get("next") or "",
        },
        status=status,
    )


@never_cache
def two_factor_settings(request: HttpRequest) -> HttpResponse:
    """The person's own page: whether two-factor is on, recovery codes left, new codes."""
    return render(
        request, "tickets/two_factor/settings.html", {"state": selectors.state_of(request.user)}
    )


@never_cache
@require_POST
def two_factor_recovery_codes(request: HttpRequest) -> HttpResponse:
    """New recovery codes, shown once; the old ones stop working."""
    try:
        codes = services.make_recovery_codes(user=request.user, request=request)
    except TwoFactorError as exc:
        messages.error(request, str(exc))
        return redirect("two-factor")
    return _codes_page(request, codes, just_enrolled=False)
