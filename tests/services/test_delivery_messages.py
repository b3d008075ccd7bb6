"""The guest's e-mail and PDF: in the guest's language, from the venue, a MIME tree mail clients
show (the QR inline beside the HTML that names it, the PDF attached around them), CSS inlined,
the guest-page link, and nothing personal beyond the guest's name."""

import base64
import datetime as dt
import io
import re
import zlib
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
import segno
from django.conf import settings
from django.urls import resolve
from django.utils import timezone
from PIL import Image

from tests import factories
from tests.fixtures.worker import drain_tasks
from tickets.drafts import HolderData
from tickets.guest_links import key_from_token
from tickets.models import Delivery, DeliveryState, GuestPage
from tickets.services.deliveries import queueing
from tickets.services.deliveries.messages import QR_CONTENT_ID, build_email
from tickets.services.deliveries.pdf import QR_BORDER, QR_ERROR_LEVEL, ticket_pdf
from tickets.services.sending import send_pending_lines

DOCUMENT = "48392716Q"
PHONE = "+34612398745"
BIRTHDAY = dt.date(1991, 7, 23)
ADDRESS = "Calle del Olmo 77"


@pytest.fixture
def venue(settings):
    settings.COMPS_VENUE_NAME = "Sala Alborada"
    settings.DEFAULT_FROM_EMAIL = "entradas@alborada.example"
    settings.COMPS_PUBLIC_URL = "https://comps.alborada.example"
    settings.TIME_ZONE = "Europe/Madrid"


def confirmed_delivery(*, language: str, **line_fields: object) -> Delivery:
    """A ticket confirmed the way the ledger confirms one: its page and queued e-mail written
    by `record_confirmed`."""
    event = factories.EventFactory(
        name="Noche Tropical",
        night=dt.date(2031, 6, 14),  # a Saturday
        starts_at=dt.datetime(2031, 6, 14, 21, 30, tzinfo=dt.UTC),  # 23:30 in Madrid
    )
    rate = factories.RateFactory(event=event, name="Invitación VIP")
    issuance = factories.IssuanceFactory(price_option=factories.PriceOptionFactory(rate=rate))
    line = factories.IssuanceLineFactory(
        issuance=issuance,
        full_name="Lucía Ferrer",
        email="lucia@example.com",
        state="confirmed",
        language=language,
        phone=PHONE,
        birthday=BIRTHDAY,
        address=ADDRESS,
        document_type="dni",
        document_number=DOCUMENT,
        **line_fields,
    )
    ticket = factories.IssuedTicketFactory(line=line, code="FV-7Q2K9XW4", phone=PHONE)
    queueing.record_confirmed(issuance, [ticket])
    return Delivery.objects.select_related("ticket__event", "ticket__guest_page").get(ticket=ticket)


def parsed(delivery: Delivery) -> EmailMessage:
    """The message as a mail client reads it: the bytes Django would hand to the server."""
    return message_from_bytes(build_email(delivery).message().as_bytes(), policy=policy.default)


def tree(part: EmailMessage) -> object:
    if part.is_multipart():
        return (part.get_content_type(), [tree(child) for child in part.iter_parts()])
    return part.get_content_type()


def parts_of(message: EmailMessage) -> dict[str, EmailMessage]:
    return {part.get_content_type(): part for part in message.walk() if not part.is_multipart()}


def pdf_text(pdf: bytes) -> str:
    """The page's content stream, decoded (reportlab writes ASCII85 over Flate)."""
    start = pdf.index(b"stream", pdf.index(b"/Filter")) + len(b"stream")
    stream = pdf[start : pdf.index(b"endstream", start)].strip()
    return zlib.decompress(base64.a85decode(b"<~" + stream, adobe=True)).decode("latin-1")


def qr_matrix_of_png(png: bytes, *, modules: int) -> list[list[bool]]:
    """Dark or light at the centre of each module of a QR image `modules` wide."""
    image = Image.open(io.BytesIO(png)).convert("L")
    cell = image.width / modules
    return [
        [
            image.getpixel((int((x + 0.5) * cell), int((y + 0.5) * cell))) < 128
            for x in range(modules)
        ]
        for y in range(modules)
    ]


pytestmark = pytest.mark.django_db


# --- Structure ------------------------------------------------------------------------------


def test_the_message_is_mixed_around_related_around_alternative_with_the_pdf_outside(venue):
    message = parsed(confirmed_delivery(language="es"))
    assert tree(message) == (
        "multipart/mixed",
        [
            (
                "multipart/related",
                [("multipart/alternative", ["text/plain", "text/html"]), "image/png"],
            ),
            "application/pdf",
        ],
    )
    related = next(
        part for part in message.walk() if part.get_content_type() == "multipart/related"
    )
    assert related.get_param("type") == "multipart/alternative"


def test_it_comes_from_the_venue_name_to_the_guest_with_our_message_id(venue):
    delivery = confirmed_delivery(language="es")
    email = build_email(delivery)
    message = parsed(delivery)
    assert message["From"].addresses[0].display_name == "Sala Alborada"
    assert message["From"].addresses[0].addr_spec == "entradas@alborada.example"
    assert message["To"] == "lucia@example.com"
    # Folded onto a line of its own by Django's writer: compare without the folding space.
    assert message["Message-ID"].strip() == email.extra_headers["Message-ID"]
    assert message["Message-ID"].strip().endswith("@alborada.example>")


def test_every_attempt_at_a_delivery_carries_the_same_message_id_and_a_resend_another(venue):
    delivery = confirmed_delivery(language="es")
    first = build_email(delivery).extra_headers["Message-ID"]
    assert build_email(delivery).extra_headers["Message-ID"] == first
    again = queueing.resend(line=delivery.ticket.line, user=factories.UserFactory())
    assert build_email(again).extra_headers["Message-ID"] != first


def test_the_inline_qr_is_the_image_the_html_names_and_encodes_the_ticket_code(venue):
    message = parsed(confirmed_delivery(language="en"))
    parts = parts_of(message)
    html = parts["text/html"].get_content()
    image = parts["image/png"]
    assert f'src="cid:{QR_CONTENT_ID}"' in html
    assert image["Content-ID"] == f"<{QR_CONTENT_ID}>"
    assert image.get_content_disposition() == "inline"
    expected = segno.make("FV-7Q2K9XW4", error=QR_ERROR_LEVEL)
    modules = expected.symbol_size(border=QR_BORDER)[0]
    assert qr_matrix_of_png(image.get_content(), modules=modules) == [
        [bool(dark) for dark in row] for row in expected.matrix_iter(border=QR_BORDER)
    ]


def test_the_html_has_its_css_inlined_and_loads_nothing_remote(venue):
    html = parts_of(parsed(confirmed_delivery(language="es")))["text/html"].get_content()
    assert "<style" not in html
    assert 'style="' in html
    assert "<table" in html
    assert "<script" not in html
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources
    assert all(source.startswith(("cid:", settings.COMPS_PUBLIC_URL)) for source in sources)


def test_the_pdf_is_attached_and_names_the_event_guest_and_code(venue):
    message = parsed(confirmed_delivery(language="es"))
    pdf_part = parts_of(message)["application/pdf"]
    assert pdf_part.get_content_disposition() == "attachment"
    assert pdf_part.get_filename() == "noche-tropical-fv-7q2k9xw4.pdf"
    pdf = pdf_part.get_content()
    assert pdf.startswith(b"%PDF")
    assert pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") == 1  # one page
    text = pdf_text(pdf)
    for shown in (
        "(FV-7Q2K9XW4)",
        "(Noche Tropical)",
        "(Luc\\355a Ferrer)",
        "(Invitaci\\363n VIP)",
    ):
        assert shown in text


def test_the_pdf_draws_the_qr_of_the_ticket_code_module_by_module(venue):
    delivery = confirmed_delivery(language="es")
    text = pdf_text(ticket_pdf(delivery.ticket, language="es"))
    expected = [
        [bool(dark) for dark in row]
        for row in segno.make("FV-7Q2K9XW4", error=QR_ERROR_LEVEL).matrix_iter(border=QR_BORDER)
    ]
    drawn = [[False] * len(expected) for _ in expected]
    runs = re.findall(r"^(\d+) (\d+) (\d+) 1 re$", text, re.MULTILINE)
    assert runs
    for start, row, length in runs:
        for col in range(int(start), int(start) + int(length)):
            drawn[int(row)][col] = True
    assert drawn == expected


def test_the_pdf_is_the_same_bytes_for_the_same_ticket_and_small(venue):
    delivery = confirmed_delivery(language="en")
    first = ticket_pdf(delivery.ticket, language="en")
    assert first == ticket_pdf(delivery.ticket, language="en")
    assert len(first) < 10_000


# --- Language, dates, link ------------------------------------------------------------------


def test_a_spanish_guest_reads_spanish_with_spanish_dates_and_the_venue_time(venue):
    message = parsed(confirmed_delivery(language="es"))
    parts = parts_of(message)
    assert (
        message["Subject"].strip() == "Tu entrada para Noche Tropical · sábado, 14 de junio de 2031"
    )
    text = parts["text/plain"].get_content()
    html = parts["text/html"].get_content()
    assert "Hola, Lucía Ferrer:" in text
    assert "Apertura de puertas: 23:30" in text
    assert "Tarifa: Invitación VIP" in text
    assert "Código: FV-7Q2K9XW4" in text
    assert '<html lang="es">' in html
    assert "Abrir tu entrada" in html
    pdf = pdf_text(parts["application/pdf"].get_content())
    assert "(Muestra este c\\363digo en la puerta.)" in pdf
    assert "(APERTURA DE PUERTAS)" in pdf


def test_an_english_guest_reads_english(venue):
    message = parsed(confirmed_delivery(language="en"))
    parts = parts_of(message)
    assert message["Subject"].strip() == "Your ticket for Noche Tropical · Saturday, 14 June 2031"
    text = parts["text/plain"].get_content()
    assert "Hello Lucía Ferrer," in text
    assert "Doors: 23:30" in text
    assert "Night: Saturday, 14 June 2031" in text
    html = parts["text/html"].get_content()
    assert '<html lang="en">' in html
    assert "Open your ticket" in html
    assert "(Show this code at the door.)" in pdf_text(parts["application/pdf"].get_content())


def test_the_link_is_the_absolute_url_of_the_guest_page_whose_key_it_carries(venue):
    delivery = confirmed_delivery(language="en")
    parts = parts_of(parsed(delivery))
    links = set(
        re.findall(r"https://comps\.alborada\.example/\S+", parts["text/plain"].get_content())
    )
    assert len(links) == 1
    link = links.pop()
    assert f'href="{link}"' in parts["text/html"].get_content()
    match = resolve(link.removeprefix(settings.COMPS_PUBLIC_URL))
    assert match.url_name == "guest-page"
    assert (
        key_from_token(match.kwargs["token"]) == GuestPage.objects.get(ticket=delivery.ticket).key
    )


@pytest.mark.parametrize("language", ["es", "en"])
def test_no_document_phone_birthday_or_address_in_any_part(venue, language):
    message = parsed(confirmed_delivery(language=language))
    forbidden = [
        DOCUMENT,
        DOCUMENT[:-1],
        PHONE,
        PHONE.removeprefix("+34"),
        ADDRESS,
        BIRTHDAY.isoformat(),
        "23/07/1991",
        "1991",
    ]
    for part in message.walk():
        if part.is_multipart():
            continue
        content = part.get_content()
        text = (
            pdf_text(content) if isinstance(content, bytes) and content[:4] == b"%PDF" else content
        )
        if isinstance(text, bytes):
            continue  # the QR image: its pixels are the code's, checked above
        for value in forbidden:
            assert value not in text, (part.get_content_type(), value)
    for value in forbidden:
        assert value not in str(message["Subject"])


# --- Through the real SMTP server -----------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_worker_sends_it_through_smtp_and_the_guest_gets_the_whole_tree(
    issuing, mail_server, settings
):
    settings.COMPS_VENUE_NAME = "Sala Alborada"
    issuance = issuing.submit(
        (HolderData(full_name="Marta Vidal", email="marta@example.com", language="en"),)
    )
    send_pending_lines(issuance_id=issuance.pk)
    drain_tasks()
    delivery = Delivery.objects.get(ticket__line__issuance=issuance)
    assert delivery.state == DeliveryState.SENT
    [received] = mail_server.messages()
    assert received["To"] == "marta@example.com"
    assert received["From"].addresses[0].display_name == "Sala Alborada"
    assert received["Message-ID"].strip() == delivery.message_id
    assert tree(received)[0] == "multipart/mixed"
    parts = parts_of(received)
    code = delivery.ticket.code
    assert code
    assert code in parts["text/plain"].get_content()
    assert parts["image/png"]["Content-ID"] == f"<{QR_CONTENT_ID}>"
    expected = segno.make(code, error=QR_ERROR_LEVEL)
    modules = expected.symbol_size(border=QR_BORDER)[0]
    assert qr_matrix_of_png(parts["image/png"].get_content(), modules=modules) == [
        [bool(dark) for dark in row] for row in expected.matrix_iter(border=QR_BORDER)
    ]
    assert f"({code})" in pdf_text(parts["application/pdf"].get_content())
    assert delivery.sent_at is not None
    assert delivery.sent_at <= timezone.now()
