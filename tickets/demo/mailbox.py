"""Reading the local mail server's Maildir for the training mailbox page: what each guest was
sent, as staff in training should see it.

Nothing here trusts a message: keys come from the Maildir's own listing (a key from a URL is
only ever compared with them, never joined to a path), the HTML part is never handed to a page,
only the links and inline images found in it.
"""

from __future__ import annotations

import base64
import datetime as dt
import mailbox
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings

from tickets.demo.mail_server import open_maildir

# Bigger inline images are listed as attachments, not put into the page as data: URIs.
MAX_INLINE_IMAGE_BYTES = 512 * 1024
_LINK_SCHEMES = ("http://", "https://", "mailto:")


@dataclass(frozen=True)
class ReceivedSummary:
    key: str
    to: str
    subject: str
    date: dt.datetime | None


@dataclass(frozen=True)
class Link:
    url: str
    text: str


@dataclass(frozen=True)
class InlineImage:
    data_uri: str
    alt: str


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ReceivedMessage:
    key: str
    subject: str
    sender: str
    to: str
    date: dt.datetime | None
    text: str
    has_html: bool
    links: list[Link] = field(default_factory=list)
    images: list[InlineImage] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def is_enabled() -> bool:
    return bool(settings.COMPS_MAILBOX_DIR)


def received_messages() -> list[ReceivedSummary]:
    """Every message the local mail server kept, newest first."""
    box = _maildir()
    summaries = []
    for key in box.iterkeys():
        try:
            message = _parse(box.get_bytes(key))
        except (KeyError, OSError):
            continue  # gone since the listing
        summaries.append(
            ReceivedSummary(
                key=key,
                to=str(message.get("To", "")),
                subject=str(message.get("Subject", "")),
                date=_date(message),
            )
        )
    oldest = dt.datetime.min.replace(tzinfo=dt.UTC)
    summaries.sort(key=lambda summary: (summary.date or oldest, summary.key), reverse=True)
    return summaries


def received_message(key: str) -> ReceivedMessage | None:
    """The message kept under `key`, or None when the Maildir has no such key."""
    box = _maildir()
    # Only a key the Maildir lists: a key naming a path ("../x", "a/b") matches none of them.
    if key not in set(box.keys()):
        return None
    try:
        message = _parse(box.get_bytes(key))
    except (KeyError, OSError):
        return None  # gone since the listing
    html = _body(message, "html")
    parsed_html = _HtmlLinks()
    if html:
        parsed_html.feed(html)
        parsed_html.close()
    return ReceivedMessage(
        key=key,
        subject=str(message.get("Subject", "")),
        sender=str(message.get("From", "")),
        to=str(message.get("To", "")),
        date=_date(message),
        text=_body(message, "plain"),
        has_html=bool(html),
        links=parsed_html.links,
        images=_inline_images(message, alts=parsed_html.image_alts),
        attachments=_attachments(message),
    )


def _maildir() -> mailbox.Maildir:
    return open_maildir(Path(settings.COMPS_MAILBOX_DIR))


def _parse(raw: bytes) -> EmailMessage:
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _date(message: EmailMessage) -> dt.datetime | None:
    try:
        date = parsedate_to_datetime(str(message["Date"])) if message["Date"] else None
    except (TypeError, ValueError):
        return None
    # "-0000" (a time zone not known) parses naive; the listing compares every date.
    return date.replace(tzinfo=dt.UTC) if date and date.tzinfo is None else date


def _body(message: EmailMessage, subtype: str) -> str:
    part = message.get_body(preferencelist=(subtype,))
    if part is None:
        return ""
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset or a broken encoding
        return ""


def _inline_images(message: EmailMessage, *, alts: dict[str, str]) -> list[InlineImage]:
    images = []
    for part in message.walk():
        content_id = str(part.get("Content-ID", "")).strip().strip("<>")
        if not content_id or part.get_content_maintype() != "image":
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or len(payload) > MAX_INLINE_IMAGE_BYTES:
            continue
        encoded = base64.b64encode(payload).decode("ascii")
        images.append(
            InlineImage(
                data_uri=f"data:{part.get_content_type()};base64,{encoded}",
                alt=alts.get(content_id) or part.get_filename() or content_id,
            )
        )
    return images


def _attachments(message: EmailMessage) -> list[Attachment]:
    attachments = []
    for part in message.iter_attachments():
        payload = part.get_payload(decode=True)
        attachments.append(
            Attachment(
                name=part.get_filename() or "",
                content_type=part.get_content_type(),
                size=len(payload) if isinstance(payload, bytes) else 0,
            )
        )
    return attachments


class _HtmlLinks(HTMLParser):
    """The links of an HTML part (only web and mail addresses: never `javascript:`) and the
    alternative texts of its inline images, by Content-ID."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[Link] = []
        self.image_alts: dict[str, str] = {}
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "a":
            href = values.get("href", "").strip()
            self._href = href if href.lower().startswith(_LINK_SCHEMES) else None
            self._text = []
        elif tag == "img" and values.get("src", "").lower().startswith("cid:"):
            self.image_alts[values["src"][4:]] = values.get("alt", "")

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            link = Link(url=self._href, text=" ".join("".join(self._text).split()))
            if link.url not in {known.url for known in self.links}:
                self.links.append(link)
            self._href = None
