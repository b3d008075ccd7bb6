"""An issuer issues a comp in a real browser; the worker e-mails it through the local SMTP
server; the message, opened from the training mailbox, leads to the guest page, which shows the
QR of the very code Fourvenues gave the ticket.

Real throughout except Fourvenues (the sandbox over HTTP): the pages, the worker, the SMTP
server and its store.
"""

import io
import re

import pytest
import segno
from playwright.sync_api import Page, expect

from tests import factories as f
from tests.browser.journeys import sandbox_free_option

SENT_TIMEOUT_MS = 30_000


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_guest_gets_an_email_whose_link_shows_the_qr_of_their_ticket(
    page: Page, live_server, sandbox, worker, mail_server, settings
):
    settings.COMPS_MAILBOX_DIR = str(mail_server.maildir_path)
    settings.COMPS_PUBLIC_URL = live_server.url
    event, rate, option = sandbox_free_option(sandbox)
    f.issuer(username="ivy", first_name="Ivy", last_name="Issuer")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("ivy")
    page.get_by_label("Password").fill("a-long-password-1")
    page.get_by_role("button", name="Log in").click()
    page.locator("#nav").get_by_role("link", name="Issue comps").click()
    page.locator("#id_event").select_option(str(event.pk))
    page.get_by_label("Rate").select_option(str(rate.pk))
    page.get_by_label("Price option").select_option(str(option.pk))
    page.get_by_label("Reason").select_option(label="Artist")
    row = page.locator("#holder-rows [data-holder-row]").first
    row.get_by_label("Full name").fill("Ada Lovelace")
    row.get_by_label("Email").fill("ada@example.com")
    page.get_by_role("button", name="Review before issuing").click()
    page.get_by_role("button", name="Confirm and issue one comp").click()

    expect(page.locator("#issuance-progress code.ticket-code")).to_have_count(
        1, timeout=SENT_TIMEOUT_MS
    )
    [remote] = sandbox.tickets()
    # The delivery state is on the issuance page once the worker has sent it.
    expect(page.get_by_text(re.compile("E-mail sent"))).to_be_visible(timeout=SENT_TIMEOUT_MS)

    page.get_by_test_id("training-mailbox-banner").get_by_role("link", name="Mailbox").click()
    page.get_by_role("link", name=re.compile("Your ticket for")).click()
    expect(page.get_by_text("ada@example.com").first).to_be_visible()
    page.locator(f'a[href^="{live_server.url}/g/"]').first.click()

    # The guest page, as the guest sees it: no login, the QR of the ticket's own code.
    expect(page.get_by_text("Ada Lovelace")).to_be_visible()
    expect(page.get_by_text(remote["code"], exact=True)).to_be_visible()
    qr = page.get_by_role("img", name=re.compile("QR"))
    expect(qr).to_be_visible()
    answer = page.request.get(live_server.url + qr.get_attribute("src"))
    expected = io.BytesIO()
    segno.make(remote["code"], error="m").save(expected, kind="svg", scale=10, border=2)
    assert answer.body() == expected.getvalue()
