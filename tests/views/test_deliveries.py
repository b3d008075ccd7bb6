"""What staff see and do about delivery on the issuance page: each holder's state, the guest
link, resend, change of address, resend of the failed ones, and WhatsApp. Issued for real
against the sandbox, sent by the real worker to the real SMTP server."""

import re
import urllib.parse
from collections import Counter

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tests.fixtures.worker import drain_tasks
from tickets.drafts import HolderData
from tickets.guest_links import guest_page_path, guest_page_url
from tickets.models import (
    AuditEntry,
    Delivery,
    DeliveryChannel,
    DeliveryMode,
    DeliveryState,
    GuestPage,
    LineState,
)

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

PHONE = "+34600123456"


def guests(*emails: str, phone: str = "") -> tuple[HolderData, ...]:
    return tuple(
        HolderData(full_name=f"Guest Number{i}", email=email, phone=phone)
        for i, email in enumerate(emails, start=1)
    )


def issued(issuing, holders, **overrides):
    """An issuance whose tickets are confirmed and whose e-mails the worker has sent."""
    issuance = issuing.submit(holders, **overrides)
    drain_tasks()
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.CONFIRMED}
    return issuance


def received(mail_server) -> Counter:
    return Counter(message["To"] for message in mail_server.messages())


@pytest.fixture
def staff(client, issuing):
    client.force_login(issuing.issuer)
    return client


def page(client, issuance) -> str:
    response = client.get(reverse("issuance-detail", args=[issuance.pk]))
    assert response.status_code == 200
    return response.content.decode()


def line_url(name, issuance, position=1):
    line = issuance.lines.get(position=position)
    return reverse(name, args=[issuance.pk, line.pk])


def emails_of(issuance, position=1):
    return list(
        Delivery.objects.filter(
            ticket__line__issuance=issuance,
            ticket__line__position=position,
            channel=DeliveryChannel.EMAIL,
        ).order_by("id")
    )


# --- What the issuance page shows ----------------------------------------------------------------


def test_each_holder_shows_its_sent_email_its_guest_page_and_its_link(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com", "bo@example.com"))
    assert received(mail_server) == {"ana@example.com": 1, "bo@example.com": 1}
    html = page(staff, issuance)
    assert html.count('data-testid="delivery-state"') == 2
    assert len(re.findall(r"E-mail sent at \d\d:\d\d", html)) == 2
    assert "Guest page not opened yet" in html
    for guest_page in GuestPage.objects.filter(ticket__line__issuance=issuance):
        link = f"http://testserver{guest_page_path(guest_page)}"
        assert f'readonly value="{link}"' in html
    assert html.count("Copy guest link") == 2
    assert "js/deliveries.js" in html
    assert "Resend all failed" not in html  # nothing failed


def test_a_queued_email_says_so_and_the_page_keeps_updating(staff, issuing):
    from tickets.services.sending import send_pending_lines

    issuance = issuing.submit(guests("ana@example.com"))
    send_pending_lines(issuance_id=issuance.pk)  # confirmed; the e-mail waits for the worker
    html = page(staff, issuance)
    assert "E-mail queued" in html
    assert 'hx-trigger="every 1s"' in html


def test_guest_page_openings_are_counted_on_the_page(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com"))
    GuestPage.objects.filter(ticket__line__issuance=issuance).update(
        opens=3, first_opened_at=timezone.now(), last_opened_at=timezone.now()
    )
    assert "Guest page opened 3 times, first at" in page(staff, issuance)


@pytest.mark.parametrize(
    ("mode", "label"),
    [(DeliveryMode.HAND_OUT, "Hand out"), (DeliveryMode.FOURVENUES, "Fourvenues sends")],
)
def test_the_other_ways_are_named_on_each_holder(staff, issuing, mail_server, mode, label):
    issuing.credential.fourvenues_sends_tickets = True
    issuing.credential.save()
    issuance = issued(issuing, guests("ana@example.com"), delivery_mode=mode)
    html = page(staff, issuance)
    assert f'<span class="badge text-bg-secondary">{label}</span>' in html
    assert "E-mail queued" not in html
    assert "E-mail sent" not in html
    assert received(mail_server) == {}
    assert "Send by e-mail" in html  # nothing went out: the button says what it does


def test_a_holder_handed_out_for_want_of_an_address_says_why(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com", "nobody@guest.invalid"))
    html = page(staff, issuance)
    assert "Hand out: No e-mail address that can receive mail: hand the ticket out." in html
    assert received(mail_server) == {"ana@example.com": 1}


def test_a_failed_email_shows_its_reason_and_offers_resending_all_failed(
    staff, issuing, mail_server
):
    mail_server.faults.refuse_recipients.add("ana@example.com")
    issuance = issued(issuing, guests("ana@example.com", "bo@example.com"))
    html = page(staff, issuance)
    assert "E-mail failed" in html
    assert "550" in html  # the server's reason
    assert 'data-testid="resend-failed"' in html

    mail_server.faults.refuse_recipients.clear()
    response = staff.post(reverse("issuance-resend-failed", args=[issuance.pk]), follow=True)
    assert "One e-mail will be sent again." in response.content.decode()
    resent = emails_of(issuance, 1)[-1]
    assert resent.is_resend
    assert resent.requested_by == issuing.issuer
    assert len(emails_of(issuance, 2)) == 1  # the one that went out is left alone
    drain_tasks()
    assert received(mail_server) == {"ana@example.com": 1, "bo@example.com": 1}


def test_resend_all_failed_with_none_failed_says_so(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com"))
    response = staff.post(reverse("issuance-resend-failed", args=[issuance.pk]), follow=True)
    assert "No e-mail of this issuance has failed." in response.content.decode()
    assert len(emails_of(issuance)) == 1


# --- Resend, change of address ---------------------------------------------------------------


def test_resend_queues_one_more_message_audited_and_the_worker_sends_it(
    staff, issuing, mail_server
):
    issuance = issued(issuing, guests("ana@example.com"))
    response = staff.post(line_url("issuance-line-resend", issuance))
    line = issuance.lines.get()
    assert response.status_code == 302
    assert (
        response["Location"] == f"{reverse('issuance-detail', args=[issuance.pk])}#line-{line.pk}"
    )
    first, again = emails_of(issuance)
    assert not first.is_resend
    assert again.is_resend
    assert again.requested_by == issuing.issuer
    assert again.recipient == "ana@example.com"
    assert again.state == DeliveryState.QUEUED
    assert AuditEntry.objects.filter(
        action="delivery.resend_requested", data__delivery=again.pk
    ).exists()
    drain_tasks()
    assert received(mail_server) == {"ana@example.com": 2}


def test_resend_before_the_ticket_exists_is_a_message_not_an_error(staff, issuing):
    issuance = issuing.submit(guests("ana@example.com"))  # not sent to Fourvenues yet
    response = staff.post(line_url("issuance-line-resend", issuance), follow=True)
    assert response.status_code == 200
    assert "This guest has no ticket yet" in response.content.decode()
    assert not Delivery.objects.exists()


def test_the_change_email_page_shows_where_it_goes_now(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com"))
    response = staff.get(line_url("issuance-line-email", issuance))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-testid="current-address">ana@example.com<', html)
    assert 'name="email"' in html


@pytest.mark.parametrize("bad", ["not-an-address", "ana@guest.invalid", ""])
def test_a_bad_new_address_is_a_form_error_and_changes_nothing(staff, issuing, mail_server, bad):
    issuance = issued(issuing, guests("ana@example.com"))
    audit_before = AuditEntry.objects.count()
    response = staff.post(line_url("issuance-line-email", issuance), {"email": bad})
    assert response.status_code == 200
    assert 'class="invalid-feedback' in response.content.decode()
    assert len(emails_of(issuance)) == 1
    assert AuditEntry.objects.count() == audit_before


def test_a_new_address_gets_the_ticket_and_the_change_is_audited(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com"))
    response = staff.post(
        line_url("issuance-line-email", issuance), {"email": " Ana.New@Example.com "}
    )
    assert response.status_code == 302
    latest = emails_of(issuance)[-1]
    assert latest.recipient == "ana.new@example.com"
    assert latest.is_resend
    assert latest.requested_by == issuing.issuer
    change = AuditEntry.objects.get(action="delivery.email_changed")
    assert change.data["from"] == "ana@example.com"
    assert change.data["to"] == "ana.new@example.com"
    drain_tasks()
    assert received(mail_server) == {"ana@example.com": 1, "ana.new@example.com": 1}
    # The next resend goes where the last message went.
    html = staff.get(line_url("issuance-line-email", issuance)).content.decode()
    assert 'data-testid="current-address">ana.new@example.com<' in html


def test_a_new_address_clears_the_hand_out_note(staff, issuing, mail_server):
    issuance = issued(issuing, guests("nobody@guest.invalid"))
    staff.post(line_url("issuance-line-email", issuance), {"email": "found@example.com"})
    assert issuance.lines.get().hand_out_reason == ""
    drain_tasks()
    assert received(mail_server) == {"found@example.com": 1}


# --- WhatsApp ------------------------------------------------------------------------------------


def test_whatsapp_opens_a_wa_me_link_with_the_guest_page_and_records_it(
    staff, issuing, mail_server
):
    issuance = issued(issuing, guests("ana@example.com", phone=PHONE))
    html = page(staff, issuance)
    assert 'target="_blank" rel="noopener"' in html
    response = staff.post(line_url("issuance-line-whatsapp", issuance))
    assert response.status_code == 302
    location = urllib.parse.urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == ("https", "wa.me", "/34600123456")
    (text,) = urllib.parse.parse_qs(location.query)["text"]
    guest_page = GuestPage.objects.get(ticket__line__issuance=issuance)
    assert guest_page_url(guest_page) in text
    assert "Guest Number1" in text
    whatsapp = Delivery.objects.get(channel=DeliveryChannel.WHATSAPP)
    assert whatsapp.recipient == PHONE
    assert whatsapp.requested_by == issuing.issuer
    assert AuditEntry.objects.filter(action="delivery.whatsapp").exists()
    assert re.search(r"WhatsApp sent once, at \d\d:\d\d", page(staff, issuance))


def test_whatsapp_for_a_holder_without_phone_is_a_message(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com"))
    assert "WhatsApp" not in page(staff, issuance)
    response = staff.post(line_url("issuance-line-whatsapp", issuance), follow=True)
    assert "This guest has no phone number." in response.content.decode()
    assert not Delivery.objects.filter(channel=DeliveryChannel.WHATSAPP).exists()


def test_whatsapp_all_lists_the_holders_with_a_phone_and_marks_those_sent(
    staff, issuing, mail_server
):
    holders = (
        HolderData(full_name="Ana Phone", email="ana@example.com", phone=PHONE),
        HolderData(full_name="Bo Nophone", email="bo@example.com"),
        HolderData(full_name="Cy Phone", email="cy@example.com", phone="+34600123457"),
    )
    issuance = issued(issuing, holders)
    assert 'data-testid="whatsapp-all"' in page(staff, issuance)
    staff.post(line_url("issuance-line-whatsapp", issuance, position=1))
    response = staff.get(reverse("issuance-whatsapp", args=[issuance.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ana Phone" in html
    assert "Cy Phone" in html
    assert "Bo Nophone" not in html
    assert html.count('data-testid="whatsapp-sent"') == 1
    assert html.count('target="_blank" rel="noopener"') == 2


# --- Who may ------------------------------------------------------------------------------------


def test_an_issuer_who_cannot_see_the_issuance_gets_404_and_nothing_happens(
    client, issuing, mail_server
):
    issuance = issued(issuing, guests("ana@example.com", phone=PHONE))
    client.force_login(f.issuer())
    posts = [
        line_url("issuance-line-resend", issuance),
        line_url("issuance-line-email", issuance),
        line_url("issuance-line-whatsapp", issuance),
        reverse("issuance-resend-failed", args=[issuance.pk]),
    ]
    for url in posts:
        assert client.post(url, {"email": "x@example.com"}).status_code == 404, url
    for url in (
        line_url("issuance-line-email", issuance),
        reverse("issuance-whatsapp", args=[issuance.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert Delivery.objects.count() == 1  # the first e-mail only


def test_a_manager_may_resend_anyones(client, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com"))
    client.force_login(f.manager())
    assert client.post(line_url("issuance-line-resend", issuance)).status_code == 302
    assert len(emails_of(issuance)) == 2


# --- The ticket page ---------------------------------------------------------------------------


def test_the_ticket_page_lists_its_deliveries(staff, issuing, mail_server):
    issuance = issued(issuing, guests("ana@example.com", phone=PHONE))
    staff.post(line_url("issuance-line-resend", issuance))
    staff.post(line_url("issuance-line-whatsapp", issuance))
    ticket = issuance.lines.get().ticket
    html = staff.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    table = re.search(
        r'<table class="table table-sm" id="ticket-deliveries">.*?</table>', html, re.S
    )[0]
    assert table.count("<tr>") == 4  # the header and three deliveries
    assert "Sent with the confirmation" in table
    assert "resend" in table
    assert "WhatsApp" in table
    assert "ana@example.com" in table


def test_the_delivery_state_reads_in_spanish(staff, issuing, mail_server, settings):
    issuance = issued(issuing, guests("ana@example.com", phone=PHONE))
    staff.cookies[settings.LANGUAGE_COOKIE_NAME] = "es"
    html = page(staff, issuance)
    assert re.search(r"Correo enviado a las \d\d:\d\d", html)
    assert "Copiar enlace del invitado" in html
    assert "Página del invitado aún sin abrir" in html
    assert "E-mail sent" not in html
