"""The e-mail that carries a ticket to its guest: in the guest's language, from the venue's
name; HTML with its CSS inlined (mail clients drop style sheets) and a plain-text part; the QR
of the Fourvenues `code` embedded as an inline image (no remote image to load), the PDF
attached, and the link to the guest's private page.

The MIME tree is the one mail clients show properly:

    multipart/mixed
      multipart/related          (the HTML and the images it names by cid:)
        multipart/alternative
          text/plain
          text/html
        image/png                (Content-ID, inline)
      application/pdf            (attachment)

Django puts every attachment at one level (`mixed_subtype`), so a related message would carry
the PDF among the HTML's images, where several clients hide it; `TicketEmail` builds the tree
above instead, and keeps the image in `attachments` so that an ESP backend (anymail) still sends
it inline.
"""

from __future__ import annotations

import io
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.utils import formataddr, make_msgid
from typing import Any

import css_inline
import segno
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import SafeMIMEMultipart
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.text import slugify

from tickets.guest_links import guest_page_url
from tickets.models import Delivery, DeliveryKind
from tickets.services.deliveries.pdf import (
    QR_BORDER,
    QR_ERROR_LEVEL,
    details,
    event_of,
    night_label,
    ticket_pdf,
)

QR_CONTENT_ID = "ticket-qr"
QR_DISPLAY_PIXELS = 240  # about; rounded down to whole pixels per module, so edges stay sharp
_INLINER = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)


class TicketEmail(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose inline images (attachments with a Content-ID) go in a
    multipart/related with the text and HTML, and its other attachments around that."""

    def _create_message(self, msg: Any) -> Any:
        encoding = self.encoding or settings.DEFAULT_CHARSET
        body = self._create_alternatives(msg)
        inline = [part for part in self.attachments if _is_inline(part)]
        if inline:
            related = SafeMIMEMultipart(_subtype="related", encoding=encoding)
            related.set_param("type", body.get_content_type())  # RFC 2387: the root's type
            related.attach(body)
            for part in inline:
                related.attach(part)
            body = related
        others = [part for part in self.attachments if not _is_inline(part)]
        if not others:
            return body
        mixed = SafeMIMEMultipart(_subtype="mixed", encoding=encoding)
        mixed.attach(body)
        for attachment in others:
            mixed.attach(
                attachment
                if isinstance(attachment, MIMEBase)
                else self._create_attachment(*attachment)
            )
        return mixed


def _is_inline(part: object) -> bool:
    return isinstance(part, MIMEBase) and part["Content-ID"] is not None


def build_email(
    delivery: Delivery, *, connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """The message for `delivery` (its ticket, page and event read with it). Sets our own
    Message-ID, by which a provider's webhook may name it."""
    if delivery.kind == DeliveryKind.WITHDRAWN:
        return build_withdrawn_email(delivery, connection=connection)
    ticket = delivery.ticket
    event = event_of(ticket)
    qr = segno.make(ticket.code, error=QR_ERROR_LEVEL)
    modules = qr.symbol_size(border=QR_BORDER)[0]
    module_pixels = max(1, QR_DISPLAY_PIXELS // modules)
    with translation.override(delivery.language):
        night = ticket.event_night or (event.night if event else None)
        context = {
            "language": delivery.language,
            "venue": settings.COMPS_VENUE_NAME,
            "ticket": ticket,
            "event": event,
            "night": night_label(night) if night else "",
            "details": details(ticket),
            "guest_page_url": guest_page_url(ticket.guest_page),
            "qr_content_id": QR_CONTENT_ID,
            "qr_pixels": modules * module_pixels,
        }
        subject = render_to_string("tickets/deliveries/email/subject.txt", context)
        text = render_to_string("tickets/deliveries/email/ticket.txt", context)
        html = _INLINER.inline(render_to_string("tickets/deliveries/email/ticket.html", context))
        pdf = ticket_pdf(ticket, language=delivery.language)
    message = TicketEmail(
        subject=" ".join(subject.split()),
        body=text,
        from_email=formataddr((settings.COMPS_VENUE_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[delivery.recipient],
        connection=connection,
        headers={
            "Message-ID": message_id(delivery),
            # Ask auto-responders (out of office) not to answer a ticket.
            "Auto-Submitted": "auto-generated",
        },
    )
    message.attach_alternative(html, "text/html")
    # Twice the displayed size, for high-density screens.
    message.attach(_qr_image(qr, scale=2 * module_pixels))
    name = slugify(event.name if event else "") or "ticket"
    message.attach(f"{name}-{slugify(ticket.code) or 'code'}.pdf", pdf, "application/pdf")
    return message


def build_withdrawn_email(
    delivery: Delivery, *, connection: BaseEmailBackend | None = None
) -> EmailMultiAlternatives:
    """The notice that the guest's comp was withdrawn: short, in their language, from the
    venue, naming the event and night. No QR, no PDF, no link to the guest page: the ticket is
    void, and nothing in the message should look like one."""
    ticket = delivery.ticket
    event = event_of(ticket)
    with translation.override(delivery.language):
        night = ticket.event_night or (event.night if event else None)
        context = {
            "language": delivery.language,
            "venue": settings.COMPS_VENUE_NAME,
            "ticket": ticket,
            "event": event,
            "night": night_label(night) if night else "",
        }
        subject = render_to_string("tickets/deliveries/email/withdrawn_subject.txt", context)
        text = render_to_string("tickets/deliveries/email/withdrawn.txt", context)
        html = _INLINER.inline(render_to_string("tickets/deliveries/email/withdrawn.html", context))
    message = EmailMultiAlternatives(
        subject=" ".join(subject.split()),
        body=text,
        from_email=formataddr((settings.COMPS_VENUE_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[delivery.recipient],
        connection=connection,
        headers={"Message-ID": message_id(delivery), "Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(html, "text/html")
    return message


def qr_png(qr: segno.QRCode, *, scale: int) -> bytes:
    """The QR as a PNG (1 bit per pixel: a couple of kilobytes)."""
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=scale, border=QR_BORDER)
    return buffer.getvalue()


def message_id(delivery: Delivery) -> str:
    """The same for every attempt at one delivery, so a receiving server that took a message we
    were not told about drops the retry as a duplicate; a resend is a new delivery, a new id."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1]
    if delivery.pk is None or delivery.created_at is None:
        return make_msgid(idstring="comps-delivery", domain=domain)
    stamp = int(delivery.created_at.timestamp() * 1_000_000)
    return f"<comps-delivery.{delivery.pk}.{stamp}@{domain}>"


def _qr_image(qr: segno.QRCode, *, scale: int) -> MIMEImage:
    image = MIMEImage(qr_png(qr, scale=scale), "png")
    image.add_header("Content-ID", f"<{QR_CONTENT_ID}>")
    image.add_header("Content-Disposition", "inline", filename="qr.png")
    return image
