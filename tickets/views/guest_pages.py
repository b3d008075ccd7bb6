"""The guest's private page: no login, reached by the signed link in their message.

Shown in the language chosen for the guest on their row, else their browser's. A wrong link
(forged, altered, unknown, expired, or a ticket no longer valid or withdrawn) is one plain
404, found before any database read when the signature does not hold. Nothing of these answers
is cached or indexed, the link never leaks through a Referer, and each address may make
`COMPS_GUEST_PAGE_RATE` requests a minute of each of the three (the page, its QR, its PDF), so
the QR a page loads never eats into its openings. Only the page itself counts as an opening.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from functools import wraps

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.text import slugify
from django.views.decorators.http import require_GET
from django_ratelimit.core import is_ratelimited

from tickets.guest_links import key_from_token
from tickets.models import GuestPage
from tickets.selectors.deliveries import open_guest_page
from tickets.services.deliveries.guest_pages import record_opening
from tickets.services.deliveries.pdf import details, event_of, ticket_pdf

QR_SCALE = 10

GuestView = Callable[[HttpRequest, GuestPage, str], HttpResponse]


def _page(
    template: str, context: dict[str, object] | None = None, *, status: int = 200
) -> HttpResponse:
    """A guest's page, rendered without the request: the backoffice's context processors
    (the signed-in person, the credentials' environment) are none of a guest's business, and a
    wrong link costs no database read."""
    return HttpResponse(render_to_string(template, context), status=status)


def _private(response: HttpResponse) -> HttpResponse:
    patch_cache_control(response, no_store=True, private=True)
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _guest_view(view: GuestView) -> Callable[[HttpRequest, str], HttpResponse]:
    """The answer a token leads to, in its guest's language; throttled, private, or a 404."""

    @login_not_required
    @require_GET
    @wraps(view)
    def wrapper(request: HttpRequest, token: str) -> HttpResponse:
        # Counted before the token is read, so a flood of made-up links is throttled too. The
        # rate is read here, not at import, so a changed setting applies at once.
        if is_ratelimited(
            request,
            group=f"guest-page.{view.__name__}",
            key="ip",
            rate=settings.COMPS_GUEST_PAGE_RATE,
            increment=True,
        ):
            return _private(_page("tickets/guest_pages/too_many.html", status=429))
        key = key_from_token(token)
        page = open_guest_page(key, today=timezone.localdate()) if key is not None else None
        if page is None or page.ticket.is_valid is False or page.ticket.withdrawn_at is not None:
            # Rendered here rather than raised: the project's 404 page carries the backoffice's
            # navigation and none of these headers.
            return _private(_page("tickets/guest_pages/not_found.html", status=404))
        line = page.ticket.line if page.ticket.line_id else None
        # The language chosen for the guest on their row, else their browser's (the locale
        # middleware's pick, as on any page).
        with translation.override((line.language if line else "") or translation.get_language()):
            return _private(view(request, page, token))

    return wrapper


@_guest_view
def guest_page(request: HttpRequest, page: GuestPage, token: str) -> HttpResponse:
    record_opening(page)
    ticket = page.ticket
    return _page(
        "tickets/guest_pages/page.html",
        {
            "venue": settings.COMPS_VENUE_NAME,
            "ticket": ticket,
            "event": event_of(ticket),
            "details": details(ticket),
            "token": token,
        },
    )


@_guest_view
def guest_page_qr(request: HttpRequest, page: GuestPage, token: str) -> HttpResponse:
    buffer = io.BytesIO()
    # The same image as the issuance's QR; the page keeps it on white (static/css/guest.css).
    segno.make(page.ticket.code, error="m").save(buffer, kind="svg", scale=QR_SCALE, border=2)
    return HttpResponse(buffer.getvalue(), content_type="image/svg+xml")


@_guest_view
def guest_page_pdf(request: HttpRequest, page: GuestPage, token: str) -> HttpResponse:
    ticket = page.ticket
    event = event_of(ticket)
    response = HttpResponse(
        ticket_pdf(ticket, language=translation.get_language()), content_type="application/pdf"
    )
    name = slugify(event.name if event else "") or "ticket"
    code = re.sub(r"[^A-Za-z0-9_-]", "", ticket.code)  # a remote value, put in a header
    response["Content-Disposition"] = f'attachment; filename="{name}-{code}.pdf"'
    return response
