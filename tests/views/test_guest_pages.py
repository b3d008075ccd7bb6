"""The guest's private page: a signed link, no login; the QR and nothing else personal; private
headers; a wrong or expired link is a plain 404; openings counted; a flood throttled."""

import datetime as dt
import io
import re
import secrets

import pytest
import segno
import time_machine
from django.urls import reverse

from tests import factories as f
from tests.fixtures.worker import drain_tasks
from tickets.drafts import HolderData
from tickets.guest_links import guest_page_token
from tickets.models import GuestPage

pytestmark = pytest.mark.django_db

DOCUMENT = "12345678Z"
PHONE = "+34600111222"


@pytest.fixture
def guest_page() -> GuestPage:
    line = f.IssuanceLineFactory(
        state="confirmed",
        full_name="Ada Lovelace",
        email="ada@example.com",
        phone=PHONE,
        birthday=dt.date(1990, 12, 10),
        address="Calle Mayor 1",
        document_type="dni",
        document_number=DOCUMENT,
        language="en",
    )
    ticket = f.IssuedTicketFactory(
        line=line, name="Ada Lovelace", email="ada@example.com", phone=PHONE
    )
    return GuestPage.objects.create(ticket=ticket, key=secrets.token_urlsafe(32))


def url(guest_page: GuestPage, name: str = "guest-page") -> str:
    return reverse(name, args=[guest_page_token(guest_page)])


def test_the_page_shows_the_qr_the_code_the_event_and_the_guest_without_a_login(client, guest_page):
    response = client.get(url(guest_page))
    assert response.status_code == 200
    html = response.content.decode()
    ticket = guest_page.ticket
    assert ticket.code in html
    assert "Ada Lovelace" in html
    assert ticket.event.name in html
    assert url(guest_page, "guest-page-qr") in html
    assert url(guest_page, "guest-page-pdf") in html


def test_the_page_shows_nothing_else_personal(client, guest_page):
    html = client.get(url(guest_page)).content.decode()
    for personal in (
        DOCUMENT,
        "5678Z",
        PHONE,
        "600111222",
        "ada@example.com",
        "Calle Mayor",
        "1990",
    ):
        assert personal not in html


@pytest.mark.parametrize("name", ["guest-page", "guest-page-qr", "guest-page-pdf"])
def test_nothing_is_cached_indexed_or_referred(client, guest_page, name):
    response = client.get(url(guest_page, name))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Referrer-Policy"] == "no-referrer"


def test_the_qr_is_the_ticket_code(client, guest_page):
    response = client.get(url(guest_page, "guest-page-qr"))
    assert response["Content-Type"] == "image/svg+xml"
    expected = io.BytesIO()
    segno.make(guest_page.ticket.code, error="m").save(expected, kind="svg", scale=10, border=2)
    assert response.content == expected.getvalue()


def test_the_pdf_downloads_as_an_attachment(client, guest_page):
    response = client.get(url(guest_page, "guest-page-pdf"))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"].startswith("attachment;")
    assert guest_page.ticket.code in response["Content-Disposition"]


@pytest.mark.parametrize("name", ["guest-page", "guest-page-qr", "guest-page-pdf"])
@pytest.mark.parametrize("token", ["nonsense", "a-key:a-forged-signature"])
def test_a_forged_link_is_a_plain_private_404_found_without_the_database(
    client, guest_page, django_assert_num_queries, name, token
):
    with django_assert_num_queries(0):
        response = client.get(reverse(name, args=[token]))
    assert response.status_code == 404
    assert "no-store" in response["Cache-Control"]
    assert "noindex" in response["X-Robots-Tag"]
    assert response["Referrer-Policy"] == "no-referrer"
    html = response.content.decode()
    assert "navbar" not in html  # none of the backoffice's navigation
    assert reverse("login") not in html


def test_a_link_with_an_altered_key_or_signature_is_a_404(client, guest_page):
    key, signature = guest_page_token(guest_page).rsplit(":", 1)
    other_key = ("B" if key[0] != "B" else "C") + key[1:]
    other_signature = ("B" if signature[0] != "B" else "C") + signature[1:]
    for token in (f"{other_key}:{signature}", f"{key}:{other_signature}", key):
        assert client.get(reverse("guest-page", args=[token])).status_code == 404
    assert client.get(url(guest_page)).status_code == 200


def test_a_signed_key_of_no_page_is_a_404(client, guest_page):
    other = GuestPage(key=secrets.token_urlsafe(32))
    assert client.get(reverse("guest-page", args=[guest_page_token(other)])).status_code == 404


@pytest.mark.parametrize("days", [1, 3])
def test_the_link_works_until_some_days_after_the_night_then_404(
    client, guest_page, settings, days
):
    settings.COMPS_GUEST_PAGE_DAYS = days
    night = guest_page.ticket.event_night
    last_day = dt.datetime.combine(night + dt.timedelta(days=days), dt.time(12))
    with time_machine.travel(last_day - dt.timedelta(days=1)):
        assert client.get(url(guest_page)).status_code == 200
    with time_machine.travel(last_day):
        assert client.get(url(guest_page)).status_code == 200
    with time_machine.travel(last_day + dt.timedelta(days=1)):
        for name in ("guest-page", "guest-page-qr", "guest-page-pdf"):
            assert client.get(url(guest_page, name)).status_code == 404


def test_a_ticket_no_longer_valid_has_no_page(client, guest_page):
    guest_page.ticket.is_valid = False
    guest_page.ticket.save(update_fields=["is_valid"])
    for name in ("guest-page", "guest-page-qr", "guest-page-pdf"):
        assert client.get(url(guest_page, name)).status_code == 404


def test_the_page_is_only_read(client, guest_page):
    assert client.post(url(guest_page)).status_code == 405


def test_every_opening_is_counted_the_first_kept(client, guest_page):
    client.get(url(guest_page))
    guest_page.refresh_from_db()
    first = guest_page.first_opened_at
    client.get(url(guest_page))
    client.get(url(guest_page, "guest-page-qr"))  # the image is not an opening
    guest_page.refresh_from_db()
    assert guest_page.opens == 2
    assert guest_page.first_opened_at == first
    assert guest_page.last_opened_at >= first


@pytest.mark.parametrize(
    ("language", "accept_language", "words"),
    [("en", "es-ES,es", "Show this QR code"), ("es", "en-GB,en", "Enseña")],
)
def test_the_page_speaks_the_guest_language_whatever_the_browser(
    client, guest_page, language, accept_language, words
):
    # (Not `browser` nor `page`: pytest-playwright's fixtures, which would start Playwright here.)
    guest_page.ticket.line.language = language
    guest_page.ticket.line.save(update_fields=["language"])
    html = client.get(url(guest_page), HTTP_ACCEPT_LANGUAGE=accept_language).content.decode()
    assert f'<html lang="{language}">' in html
    assert words in html


def test_a_guest_with_no_language_chosen_reads_their_browser_language(client, guest_page, settings):
    settings.LANGUAGE_CODE = "en"
    guest_page.ticket.line.language = ""
    guest_page.ticket.line.save(update_fields=["language"])
    html = client.get(url(guest_page), HTTP_ACCEPT_LANGUAGE="es-ES,es").content.decode()
    assert '<html lang="es">' in html
    assert "Descargar la entrada (PDF)" in html


def test_a_flood_of_requests_is_throttled_with_a_short_private_page(client, guest_page, settings):
    settings.COMPS_GUEST_PAGE_RATE = "3/m"
    answers = [client.get(url(guest_page)) for _ in range(5)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429, 429]
    throttled = answers[-1]
    assert "Please wait a minute" in throttled.content.decode()
    assert "no-store" in throttled["Cache-Control"]
    assert "noindex" in throttled["X-Robots-Tag"]
    guest_page.refresh_from_db()
    assert guest_page.opens == 3


def test_made_up_links_count_towards_the_limit(client, guest_page, settings):
    settings.COMPS_GUEST_PAGE_RATE = "2/m"
    for _ in range(2):
        assert client.get(reverse("guest-page", args=["made-up"])).status_code == 404
    assert client.get(url(guest_page)).status_code == 429


def test_the_qr_a_page_loads_does_not_eat_into_its_openings(client, guest_page, settings):
    settings.COMPS_GUEST_PAGE_RATE = "2/m"
    for _ in range(2):
        assert client.get(url(guest_page)).status_code == 200
        assert client.get(url(guest_page, "guest-page-qr")).status_code == 200
    assert client.get(url(guest_page)).status_code == 429
    assert client.get(url(guest_page, "guest-page-pdf")).status_code == 200


def test_the_limit_is_per_address(client, guest_page, settings):
    settings.COMPS_GUEST_PAGE_RATE = "1/m"
    assert client.get(url(guest_page), REMOTE_ADDR="192.0.2.1").status_code == 200
    assert client.get(url(guest_page), REMOTE_ADDR="192.0.2.1").status_code == 429
    assert client.get(url(guest_page), REMOTE_ADDR="192.0.2.2").status_code == 200


# The worker commits; serialized_rollback restores the roles and reasons the migrations made.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_link_a_guest_receives_opens_their_page_in_their_language(
    client, issuing, mail_server, settings
):
    settings.COMPS_PUBLIC_URL = "http://testserver"
    holder = HolderData(full_name="Grace Hopper", email="grace@example.com", language="es")
    issuance = issuing.submit((holder,))
    drain_tasks()
    [message] = mail_server.messages()
    text = message.get_body(preferencelist=("plain",)).get_content()
    [link] = re.findall(r"http://testserver(/\S+)", text)
    response = client.get(link, HTTP_ACCEPT_LANGUAGE="en-GB,en")
    assert response.status_code == 200
    html = response.content.decode()
    ticket = issuance.lines.get().ticket
    assert ticket.code in html
    assert "Grace Hopper" in html
    assert '<html lang="es">' in html
    qr = client.get(re.search(r'<img[^>]+src="([^"]+)"', html).group(1))
    assert qr["Content-Type"] == "image/svg+xml"
