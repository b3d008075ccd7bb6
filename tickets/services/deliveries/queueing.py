"""What the delivery ledger records: the first message with the ticket's confirmation, and the
deliberate resends, address changes and WhatsApp messages of staff (each audited).

Every delivery row is written in the transaction that decides it (the confirmation, the resend),
together with the task that sends it, so a crash between the two loses nothing.
"""

from __future__ import annotations

import secrets
import urllib.parse

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets import tasks
from tickets.guest_links import guest_page_url
from tickets.models import (
    Delivery,
    DeliveryChannel,
    DeliveryMode,
    DeliveryState,
    GuestPage,
    Issuance,
    IssuanceLine,
    IssuedTicket,
)
from tickets.services import audit

# Stored in English on the line and marked for translation: the issuance page translates it.
NO_ADDRESS = gettext_noop("No e-mail address that can receive mail: hand the ticket out.")
# RFC 6761: names under .invalid never resolve; staff write one for a guest without e-mail.
UNDELIVERABLE_DOMAIN_SUFFIX = ".invalid"


class DeliveryError(Exception):
    """A delivery action staff asked for cannot be done; the message says why, for them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def undeliverable(email: str) -> bool:
    """Whether no message can reach `email`: blank, malformed, or under `.invalid`."""
    try:
        validate_email(email)
    except ValidationError:
        return True
    return email.rsplit("@", 1)[1].lower().endswith(UNDELIVERABLE_DOMAIN_SUFFIX)


def guest_language(line: IssuanceLine | None) -> str:
    return (line.language if line is not None else "") or settings.LANGUAGE_CODE


# --- With the confirmation ------------------------------------------------------------------------


def record_confirmed(issuance: Issuance, tickets: list[IssuedTicket]) -> None:
    """Called by the ledger in the transaction that confirms `tickets` (each linked to its line):
    every ticket gets its guest page and, when Comps sends, its e-mail is queued."""
    tickets = [ticket for ticket in tickets if ticket.line_id is not None]
    if not tickets:
        return
    GuestPage.objects.bulk_create(
        [GuestPage(ticket=ticket, key=secrets.token_urlsafe(32)) for ticket in tickets],
        ignore_conflicts=True,  # a ticket confirmed again (never twice in practice) keeps its page
    )
    if issuance.delivery_mode != DeliveryMode.COMPS:
        return
    queued: list[Delivery] = []
    hand_out: list[int] = []
    for ticket in tickets:
        line = ticket.line
        if undeliverable(line.email):
            hand_out.append(line.pk)
            continue
        queued.append(
            Delivery(
                ticket=ticket,
                channel=DeliveryChannel.EMAIL,
                recipient=line.email,
                language=guest_language(line),
            )
        )
    if hand_out:
        IssuanceLine.objects.filter(pk__in=hand_out).update(hand_out_reason=NO_ADDRESS)
    if queued:
        # The unique constraint keeps the automatic message to one per ticket: a confirmation
        # repeated by another path adds nothing.
        Delivery.objects.bulk_create(queued, ignore_conflicts=True)
        enqueue_sending()


def enqueue_sending() -> None:
    """Queue the sending task unless one is waiting to start (it will see what is committed
    now). The scheduler queues it too whenever messages wait without one (`waiting_unsent`)."""
    if not sending_task_waiting():
        tasks.send_deliveries.enqueue()


def sending_task_waiting() -> bool:
    return DBTaskResult.objects.filter(
        status=TaskResultStatus.READY,
        task_path=f"{tasks.send_deliveries.func.__module__}.{tasks.send_deliveries.func.__name__}",
    ).exists()


# --- What staff do ------------------------------------------------------------------------------


def _ticket_of(line: IssuanceLine) -> IssuedTicket:
    ticket = IssuedTicket.objects.filter(line=line).first()
    if ticket is None:
        raise DeliveryError(_("This guest has no ticket yet: there is nothing to send."))
    if ticket.withdrawn_at is not None:
        raise DeliveryError(_("This comp was withdrawn: its ticket is not sent any more."))
    return ticket


def resend(
    *,
    line: IssuanceLine,
    user: AbstractBaseUser,
    email: str | None = None,
    request: HttpRequest | None = None,
) -> Delivery:
    """Queue the ticket's e-mail again, to `email` when given (the holder's new address, audited),
    else to where it went last. Deliberate: each call sends one more message."""
    ticket = _ticket_of(line)
    previous = current_address(line)
    recipient = (email or previous).strip().lower()
    if undeliverable(recipient):
        raise DeliveryError(_("Enter an e-mail address that can receive mail."))
    with transaction.atomic():
        delivery = Delivery.objects.create(
            ticket=ticket,
            channel=DeliveryChannel.EMAIL,
            recipient=recipient,
            language=guest_language(line),
            requested_by=user,
            is_resend=True,
        )
        issuance = line.issuance
        if recipient != previous:
            IssuanceLine.objects.filter(pk=line.pk).update(hand_out_reason="")
            audit.record(
                action="delivery.email_changed",
                actor=user,
                target=issuance,
                data={"line": line.position, "from": previous, "to": recipient},
                request=request,
            )
        audit.record(
            action="delivery.resend_requested",
            actor=user,
            target=issuance,
            data={"line": line.position, "delivery": delivery.pk},
            request=request,
        )
        enqueue_sending()
    return delivery


def resend_failed(
    *, issuance: Issuance, user: AbstractBaseUser, request: HttpRequest | None = None
) -> int:
    """Resend every e-mail of the issuance whose latest message failed or bounced; how many."""
    from tickets.selectors.deliveries import lines_needing_resend

    count = 0
    for line in lines_needing_resend(issuance):
        resend(line=line, user=user, request=request)
        count += 1
    return count


def current_address(line: IssuanceLine) -> str:
    """Where the holder's e-mail goes: the address of the latest e-mail delivery, else theirs."""
    latest = (
        Delivery.objects.filter(ticket__line=line, channel=DeliveryChannel.EMAIL)
        .order_by("-created_at", "-id")
        .values_list("recipient", flat=True)
        .first()
    )
    return latest or line.email


def whatsapp_link(*, line: IssuanceLine, ticket: IssuedTicket) -> str:
    """A wa.me link opening WhatsApp with the guest-page link prefilled, to the holder's phone."""
    page = GuestPage.objects.filter(ticket=ticket).first()
    if page is None:
        raise DeliveryError(_("This ticket has no guest page to send."))
    with translation.override(guest_language(line)):
        text = _("Hello %(name)s, here is your ticket for %(event)s: %(link)s") % {
            "name": line.full_name,
            "event": line.issuance.event.name,
            "link": guest_page_url(page),
        }
    digits = "".join(ch for ch in line.phone if ch.isdigit())
    return f"https://wa.me/{digits}?{urllib.parse.urlencode({'text': text})}"


def record_whatsapp(
    *, line: IssuanceLine, user: AbstractBaseUser, request: HttpRequest | None = None
) -> str:
    """Record a WhatsApp message sent by staff from their phone or computer, and return the
    link that opens it. Comps cannot know whether it was sent: opening it counts."""
    if not line.phone:
        raise DeliveryError(_("This guest has no phone number."))
    ticket = _ticket_of(line)
    link = whatsapp_link(line=line, ticket=ticket)
    with transaction.atomic():
        delivery = Delivery.objects.create(
            ticket=ticket,
            channel=DeliveryChannel.WHATSAPP,
            state=DeliveryState.SENT,
            recipient=line.phone,
            language=guest_language(line),
            requested_by=user,
            sent_at=timezone.now(),
        )
        audit.record(
            action="delivery.whatsapp",
            actor=user,
            target=line.issuance,
            data={"line": line.position, "delivery": delivery.pk},
            request=request,
        )
    return link
