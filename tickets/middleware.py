"""Middleware of our own."""

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.utils import translation
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django_htmx.http import HttpResponseClientRedirect
from prometheus_client import Counter, Histogram

from backoffice.logging import current_request_id


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
