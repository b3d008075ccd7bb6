"""What the issuer sees once comps are submitted: their issuances, the live progress of one,
its codes (QR, its printable card, CSV, print), and the two actions a line may need (retry, ask
Fourvenues now).

Every view takes the issuance from `issuance_selectors.issuances_visible_to(user)`, so someone
else's issuance is a 404 to an issuer, never a 403 that would confirm it exists.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from tickets import roles
from tickets.guest_links import guest_page_path
from tickets.models import DeliveryState, Issuance, IssuanceLine, LineState
from tickets.selectors import approvals as approval_selectors
from tickets.selectors import issuances as issuance_selectors
from tickets.selectors import withdrawals as withdrawal_selectors
from tickets.selectors.deliveries import HolderDelivery, holder_deliveries
from tickets.selectors.withdrawals import TicketWithdrawal
from tickets.services import exports as export_service
from tickets.services import issuance as issuance_service

ISSUANCES_PER_PAGE = 25
QR_SCALE = 4  # pixels per module: crisp at thumbnail size, and SVG scales for print anyway


def _visible_issuance(request: HttpRequest, pk: int) -> Issuance:
    return get_object_or_404(issuance_selectors.issuances_visible_to(request.user), pk=pk)


def _line_of(issuance: Issuance, line_pk: int) -> IssuanceLine:
    return get_object_or_404(issuance_selectors.lines_of(issuance), pk=line_pk)


@dataclass(frozen=True)
class LineRow:
    """One holder's line on the issuance page, with where its ticket stands with the guest."""

    line: IssuanceLine
    delivery: HolderDelivery | None
    guest_url: str  # the guest page's absolute link, "" until the ticket has one
    withdrawal: TicketWithdrawal | None = None  # its ticket's withdrawal, and who may do what

    @property
    def has_ticket(self) -> bool:
        return self.line.state == LineState.CONFIRMED and self.delivery is not None


def _line_rows(request: HttpRequest, issuance: Issuance) -> list[LineRow]:
    holders = holder_deliveries(issuance)
    withdrawals = withdrawal_selectors.issuance_withdrawals(issuance, request.user)
    rows = []
    for line in issuance_selectors.lines_of(issuance):
        delivery = holders.get(line.pk)
        page = delivery.guest_page if delivery is not None else None
        url = request.build_absolute_uri(guest_page_path(page)) if page is not None else ""
        rows.append(
            LineRow(
                line=line, delivery=delivery, guest_url=url, withdrawal=withdrawals.get(line.pk)
            )
        )
    return rows


def _progress_context(request: HttpRequest, issuance: Issuance) -> dict[str, object]:
    progress = issuance_selectors.progress_of(issuance)
    total = progress["total"]
    rows = _line_rows(request, issuance)
    sending = any(
        row.delivery is not None
        and row.delivery.email is not None
        and row.delivery.email.state in (DeliveryState.QUEUED, DeliveryState.SENDING)
        for row in rows
    )
    return {
        "issuance": issuance,
        "rows": rows,
        "progress": progress,
        # Also while e-mails wait to go out, so "queued" turns into "sent" before the eyes.
        "polling": issuance_selectors.is_unsettled(progress) or sending,
        "needs_resend": any(row.delivery is not None and row.delivery.needs_resend for row in rows),
        "whatsapp_rows": any(row.has_ticket and row.line.phone for row in rows),
        "credential_refused": bool(progress["failed"])
        and issuance_selectors.credential_refused(issuance),
        "confirmed_percent": _percent(progress["confirmed"], total),
        "failed_percent": _percent(progress["failed"] + progress["rejected"], total),
        # What "checking with Fourvenues" may take: the resolver's first look and its deadline.
        "resolve_delay": duration(settings.FOURVENUES_RESOLVE_DELAY_SECONDS),
        "resolve_grace": duration(settings.FOURVENUES_RESOLVE_GRACE_SECONDS),
    }


def duration(seconds: float) -> str:
    """A delay as people say it: "15 seconds", "2 minutes" (whole minutes from 90 s on)."""
    if seconds < 90:
        count = max(1, round(seconds))
        return ngettext("%(count)s second", "%(count)s seconds", count) % {"count": count}
    count = round(seconds / 60)
    return ngettext("%(count)s minute", "%(count)s minutes", count) % {"count": count}


def _percent(part: int, total: int) -> int:
    return round(100 * part / total) if total else 0


@require_GET
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_list(request: HttpRequest) -> HttpResponse:
    sees_all = issuance_selectors.can_see_all_issuances(request.user)
    only_mine = sees_all and request.GET.get("mine") == "1"
    needs_action = request.GET.get("needs_action") == "1"
    issuances = issuance_selectors.issuance_list(
        request.user, only_mine=only_mine, needs_action=needs_action
    )
    page = Paginator(issuances, ISSUANCES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/issuances/list.html",
        {
            "page": page,
            "sees_all": sees_all,
            "only_mine": only_mine,
            "needs_action": needs_action,
            "needing_action": issuance_selectors.needing_action_count(
                request.user, only_mine=only_mine
            ),
            # Each filter link keeps the other filter; the page links keep both.
            "mine_query": urlencode({"needs_action": "1"} if needs_action else {}),
            "action_query": urlencode({"mine": "1"} if only_mine else {}),
            "query": urlencode(
                {
                    **({"mine": "1"} if only_mine else {}),
                    **({"needs_action": "1"} if needs_action else {}),
                }
            ),
        },
    )


@require_GET
@never_cache
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    issuance = _visible_issuance(request, pk)
    context = _progress_context(request, issuance)
    context["approval"] = approval_selectors.approval_panel(request.user, issuance)
    return render(request, "tickets/issuances/detail.html", context)


@require_GET
@never_cache
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The part of the detail page that htmx re-fetches every second until every line settles."""
    issuance = _visible_issuance(request, pk)
    return render(request, "tickets/issuances/_progress.html", _progress_context(request, issuance))


@require_POST
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_line_retry(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    issuance = _visible_issuance(request, pk)
    line = _line_of(issuance, line_pk)
    try:
        issuance_service.retry_line(line=line, user=request.user, request=request)
    except issuance_service.IssuanceError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("Sending the ticket for %(name)s again.") % {"name": line.full_name}
        )
    return redirect("issuance-detail", pk=issuance.pk)


@require_POST
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    issuance = _visible_issuance(request, pk)
    try:
        issuance_service.resolve_now(issuance=issuance, user=request.user, request=request)
    except issuance_service.IssuanceError as error:
        messages.error(request, str(error))
    else:
        messages.info(request, _("Asked Fourvenues about the tickets still being checked."))
    return redirect("issuance-detail", pk=issuance.pk)


@require_GET
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_line_qr(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    issuance = _visible_issuance(request, pk)
    line = _line_of(issuance, line_pk)
    ticket = getattr(line, "ticket", None)
    if ticket is None or not ticket.code:
        raise Http404("This line has no ticket yet.")
    buffer = io.BytesIO()
    segno.make(ticket.code, error="m").save(buffer, kind="svg", scale=QR_SCALE, border=2)
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    # The QR is the ticket itself (the door scans it): kept by no browser or proxy either, so a
    # withdrawn ticket's image does not linger on a shared computer.
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_line_card(request: HttpRequest, pk: int, line_pk: int) -> HttpResponse:
    """One ticket as a large, printable card: its QR big enough to scan off a phone screen."""
    issuance = _visible_issuance(request, pk)
    line = _line_of(issuance, line_pk)
    ticket = getattr(line, "ticket", None)
    if ticket is None or not ticket.code:
        raise Http404("This line has no ticket yet.")
    response = render(
        request,
        "tickets/issuances/card.html",
        {"issuance": issuance, "line": line, "ticket": ticket},
    )
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_codes_csv(request: HttpRequest, pk: int) -> HttpResponse:
    """The confirmed codes for a spreadsheet (`export_service.issuance_codes_csv`)."""
    issuance = _visible_issuance(request, pk)
    event = issuance.event
    slug = slugify(event.slug or event.name) or "event"
    response = HttpResponse(
        export_service.issuance_codes_csv(issuance=issuance),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="comps-{slug}-{issuance.pk}.csv"'
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_GET
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def issuance_print(request: HttpRequest, pk: int) -> HttpResponse:
    issuance = _visible_issuance(request, pk)
    return render(
        request,
        "tickets/issuances/print.html",
        {"issuance": issuance, "lines": issuance_selectors.confirmed_lines_of(issuance)},
    )
