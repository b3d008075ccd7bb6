"""Reads of the delivery ledger: where each holder's ticket stands with its guest, and the
guest page a link leads to."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import QuerySet

from tickets.models import (
    Delivery,
    DeliveryChannel,
    DeliveryKind,
    DeliveryState,
    GuestPage,
    Issuance,
    IssuanceLine,
    LineState,
)

NEEDS_RESEND = (DeliveryState.FAILED, DeliveryState.BOUNCED)


@dataclass
class HolderDelivery:
    """One holder's deliveries, newest first, and their guest page."""

    email: Delivery | None = None  # the latest e-mail
    emails: list[Delivery] = field(default_factory=list)
    whatsapp: list[Delivery] = field(default_factory=list)
    guest_page: GuestPage | None = None

    @property
    def needs_resend(self) -> bool:
        # A withdrawn comp's ticket is never sent again (its failed e-mail says why).
        return (
            self.email is not None
            and self.email.state in NEEDS_RESEND
            and self.email.ticket.withdrawn_at is None
        )


def deliveries_of(ticket_ids: list[int]) -> QuerySet[Delivery]:
    return Delivery.objects.filter(ticket_id__in=ticket_ids).order_by("-created_at", "-id")


def holder_deliveries(issuance: Issuance) -> dict[int, HolderDelivery]:
    """Line id -> its deliveries, for every line of the issuance that has a ticket. Two queries
    however many holders."""
    pages = {
        page.ticket.line_id: page
        for page in GuestPage.objects.filter(ticket__line__issuance=issuance).select_related(
            "ticket"
        )
    }
    result: dict[int, HolderDelivery] = {
        line_id: HolderDelivery(guest_page=page) for line_id, page in pages.items()
    }
    for delivery in deliveries_of([page.ticket_id for page in pages.values()]).select_related(
        "ticket"
    ):
        holder = result.setdefault(delivery.ticket.line_id, HolderDelivery())
        if delivery.kind == DeliveryKind.WITHDRAWN:
            continue  # the notice of a withdrawal: not where the ticket stands with the guest
        if delivery.channel == DeliveryChannel.EMAIL:
            holder.emails.append(delivery)
            holder.email = holder.email or delivery
        else:
            holder.whatsapp.append(delivery)
    return result


def ticket_deliveries(ticket_id: int) -> list[Delivery]:
    return list(deliveries_of([ticket_id]).select_related("requested_by"))


def lines_needing_resend(issuance: Issuance) -> list[IssuanceLine]:
    """Confirmed lines whose latest e-mail failed or bounced."""
    holders = holder_deliveries(issuance)
    wanted = [line_id for line_id, holder in holders.items() if holder.needs_resend]
    return list(
        IssuanceLine.objects.filter(pk__in=wanted, state=LineState.CONFIRMED)
        .select_related("issuance__event")
        .order_by("position")
    )


def guest_page_expires_on(page: GuestPage) -> dt.date | None:
    """The last day the page opens: some days after its event's night."""
    night = page.ticket.event_night or (page.ticket.event.night if page.ticket.event else None)
    if night is None:
        return None
    return night + dt.timedelta(days=settings.COMPS_GUEST_PAGE_DAYS)


def open_guest_page(key: str, *, today: dt.date) -> GuestPage | None:
    """The guest page with `key`, unless it has expired (None: the link leads nowhere)."""
    page = (
        GuestPage.objects.select_related("ticket__event", "ticket__line__issuance__event")
        .filter(key=key)
        .first()
    )
    if page is None:
        return None
    expires_on = guest_page_expires_on(page)
    if expires_on is not None and today > expires_on:
        return None
    return page
