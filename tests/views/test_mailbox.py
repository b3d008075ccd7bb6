"""The training mailbox lists what the local mail server received (sent for real over SMTP) and
shows a message without ever putting its HTML into our page."""

from email.mime.image import MIMEImage

import pytest
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from tickets.demo.mailbox import received_messages

GUEST_LINK = "http://127.0.0.1:8000/g/signed-token/"
HTML = (
    '<p style="color: red">Hello <script>alert("pwned")</script>'
    f'<a href="{GUEST_LINK}">Open your ticket</a> <a href="javascript:alert(1)">x</a>'
    '<img src="cid:ticket-qr" alt="QR of your ticket"></p>'
)


def _send(subject: str, to: str = "ada@example.com") -> None:
    message = EmailMultiAlternatives(
        subject=subject, body=f"Your ticket: {GUEST_LINK}", to=[to], from_email="Comps <t@c.lo>"
    )
    message.attach_alternative(HTML, "text/html")
    message.mixed_subtype = "related"
    qr = MIMEImage(b"\x89PNG\r\n\x1a\nnot-really-a-png", "png")
    qr.add_header("Content-ID", "<ticket-qr>")
    qr.add_header("Content-Disposition", "inline")
    message.attach(qr)
    message.attach("ticket.pdf", b"%PDF-1.4 a ticket", "application/pdf")
    message.send()


@pytest.fixture
def mailbox(mail_server, settings):
    settings.COMPS_MAILBOX_DIR = str(mail_server.maildir_path)
    return mail_server


@pytest.mark.django_db
def test_the_mailbox_lists_what_was_received_newest_first(issuer_client, mailbox):
    _send("First ticket")
    _send("Second ticket", to="bob@example.com")

    response = issuer_client.get(reverse("mailbox"))

    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Second ticket") < page.index("First ticket")
    assert "bob@example.com" in page
    assert reverse("mailbox") in page  # the nav link, shown where the mailbox exists


@pytest.mark.django_db
def test_a_message_shows_its_text_links_image_and_attachments(issuer_client, mailbox):
    _send("Your ticket")
    [received] = received_messages()

    response = issuer_client.get(reverse("mailbox-message", args=[received.key]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Your ticket" in page
    assert "ada@example.com" in page
    assert f'<a href="{GUEST_LINK}" rel="noreferrer">{GUEST_LINK}</a>' in page
    assert 'alt="QR of your ticket"' in page
    assert 'src="data:image/png;base64,' in page
    assert "ticket.pdf" in page
    assert "application/pdf" in page


@pytest.mark.django_db
def test_the_html_part_is_never_put_into_the_page(issuer_client, mailbox):
    _send("Your ticket")
    [received] = received_messages()

    page = issuer_client.get(reverse("mailbox-message", args=[received.key])).content.decode()

    assert "<script>alert" not in page
    assert 'style="color: red"' not in page
    assert "javascript:" not in page
    assert "srcdoc" not in page


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["no-such-message", "..", "..%2Fnew", "%2Fetc%2Fpasswd"])
def test_a_key_not_in_the_mailbox_is_a_plain_404(issuer_client, mailbox, key):
    _send("Your ticket")
    assert issuer_client.get(f"/training/mailbox/{key}/").status_code == 404


@pytest.mark.django_db
def test_without_a_mailbox_directory_there_is_no_mailbox(issuer_client, mailbox, settings):
    _send("Your ticket")
    [received] = received_messages()
    settings.COMPS_MAILBOX_DIR = ""

    assert issuer_client.get(reverse("mailbox")).status_code == 404
    assert issuer_client.get(reverse("mailbox-message", args=[received.key])).status_code == 404
    assert reverse("mailbox") not in issuer_client.get(reverse("home")).content.decode()


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_log_in(client, mailbox):
    response = client.get(reverse("mailbox"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
