"""Middleware of our own."""

import logging
import re
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django_htmx.http import HttpResponseClientRedirect
from prometheus_client import Counter, Histogram

from backoffice.logging import current_request_id
from tickets.selectors import two_factor


def htmx_login_redirect(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """When a session expires under a polling htmx fragment (the progress page), send the whole
    browser to the login page instead of letting htmx swap the login form into the fragment."""
    login_url = resolve_url(settings.LOGIN_URL)

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and response["Location"].startswith(login_url)
        ):
            return HttpResponseClientRedirect(response["Location"])
        return response

    return middleware


# Where the signed-in person's saved language is kept for the session, so that no page pays a
# query for it: set at login (`tickets.signals`) and by the language switch.
SESSION_LANGUAGE_KEY = "comps_language"


def saved_language(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """After LocaleMiddleware picked the browser's language: the person's own choice wins."""
    languages = dict(settings.LANGUAGES)

    def middleware(request: HttpRequest) -> HttpResponse:
        language = (
            request.session.get(SESSION_LANGUAGE_KEY) if hasattr(request, "session") else None
        )
        if language in languages and request.user.is_authenticated:
            translation.activate(language)
            request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        return get_response(request)

    return middleware


def private_pages(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Nothing a signed-in person is shown is kept by their browser or a proxy: holders' names,
    e-mails and codes are on most pages, and on every export. (Static files never get here:
    WhiteNoise answers them first, cacheable.) A view that already said how it may be cached
    keeps its own rule."""

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response

    return middleware


# An id the proxy in front gave the request is kept if it looks like one (never a way to put
# arbitrary text into our logs); otherwise the request gets a fresh one.
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
request_log = logging.getLogger("tickets.requests")
REQUESTS = Counter(
    "comps_http_requests", "Requests served, by route and status.", ["route", "method", "status"]
)
REQUEST_SECONDS = Histogram("comps_http_request_seconds", "Time to answer, by route.", ["route"])


def request_id(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Give every request an id, on each of its log lines and in its `X-Request-ID` answer, and
    log one line for it: the route's name (never the path, which can carry a guest page's key,
    nor the query, which can carry a name searched for), the status and the time taken."""

    def middleware(request: HttpRequest) -> HttpResponse:
        given = request.headers.get("X-Request-ID", "")
        token = current_request_id.set(given if REQUEST_ID.match(given) else uuid.uuid4().hex)
        started = time.perf_counter()
        try:
            response = get_response(request)
            match = request.resolver_match
            route = match.view_name if match else "-"
            seconds = time.perf_counter() - started
            REQUESTS.labels(route, request.method, str(response.status_code)).inc()
            REQUEST_SECONDS.labels(route).observe(seconds)
            request_log.info(
                "%s %s %s",
                request.method,
                route,
                response.status_code,
                extra={
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "duration_ms": round(seconds * 1000, 1),
                },
            )
            response["X-Request-ID"] = current_request_id.get()
            return response
        finally:
            current_request_id.reset(token)

    return middleware


# Views a person who must use two-factor may open between their password and their code.
TWO_FACTOR_STEPS = frozenset({"two-factor-verify", "two-factor-enrol", "logout"})


class TwoFactorMiddleware:
    """After LoginRequiredMiddleware: a signed-in person who must use two-factor
    (COMPS_REQUIRE_TWO_FACTOR; managers and admins) and whose session no code has confirmed
    yet reaches only the code page (or the set-up page, without an app yet) and logout.
    Every other view - pages, htmx fragments, exports, posts, Django's admin - is answered by
    a redirect there before it runs. Public views (login, guest pages, /healthz) stay public."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: list[object],
        view_kwargs: dict[str, object],
    ) -> HttpResponse | None:
        match = request.resolver_match
        if not getattr(view_func, "login_required", True) and (
            match is None or "admin" not in match.namespaces
        ):
            return None
        if match is not None and match.url_name in TWO_FACTOR_STEPS and not match.namespaces:
            return None
        user = request.user
        if not user.is_authenticated or not two_factor.two_factor_required(user):
            return None
        # Set by django_otp.middleware.OTPMiddleware; without it, no session counts as confirmed.
        is_verified = getattr(user, "is_verified", None)
        if is_verified is not None and is_verified():
            return None
        step = (
            "two-factor-verify"
            if two_factor.confirmed_app(user) is not None
            else "two-factor-enrol"
        )
        url = resolve_url(step)
        if request.headers.get("HX-Request") == "true":
            # The whole page goes, not the fragment: htmx would swap the code form into it.
            return HttpResponseClientRedirect(url)
        if request.method == "GET":
            url = f"{url}?{urlencode({'next': request.get_full_path()})}"
        return HttpResponseRedirect(url)
