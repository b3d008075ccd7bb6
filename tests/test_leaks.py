"""The leak test: with a credential whose secrets are known strings, and a holder whose document
number is known, run the whole product (credentials pages, connection tests, a catalogue refresh,
an issuance sent by the real worker to the sandbox over HTTP), then open every page, every
export, the log output, every ApiCall, audit entry and history row, and find neither anywhere."""

import io
import logging
import zipfile

import pytest
from django.contrib import admin as django_admin
from django.core import mail
from django.db import connection
from django.urls import reverse

from tests import factories
from tests.fixtures.issuing import IssuingSetup
from tests.fixtures.worker import drain_tasks
from tests.test_url_matrix import MATRIX, World, _a_received_message
from tickets.drafts import HolderData
from tickets.guest_links import guest_page_token
from tickets.models import (
    ApiCall,
    AuditEntry,
    Channel,
    Credential,
    Discrepancy,
    DiscrepancyKind,
    Event,
    GuestPage,
    IssuedTicket,
    PriceOption,
    Rate,
    Reason,
    RunStatus,
    RunTrigger,
    SavedSearch,
    TicketChange,
)
from tickets.services.reconciliation import runs as reconciliation_runs

API_KEY = "ik_live_CANARYkey_7f3a9c51d2"
INTEGRATION_ID = "integration-CANARY-5521"
SECRET = "v1-secret-CANARY-0b8e44"
SECRETS = (API_KEY, INTEGRATION_ID, SECRET)
DOCUMENT = "X9876543CANARY"
PASSWORD = "a-long-password-1"


def _raw_rows(table: str) -> str:
    """A table as stored (ciphertext stays ciphertext), as one string."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table}")
        return str(cursor.fetchall())


def _body(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if content.startswith(b"PK"):  # an XLSX: search the XML inside
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            return "".join(archive.read(name).decode() for name in archive.namelist())
    return content.decode(errors="replace")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_known_secrets_and_documents_appear_nowhere(client, sandbox_factory, caplog, settings):
    settings.FOURVENUES_BACKOFF_SECONDS = 0.01
    caplog.set_level(logging.DEBUG)
    sandbox = sandbox_factory(api_key=API_KEY, integration_id=INTEGRATION_ID, secret=SECRET)
    factories.admin(username="ada", is_staff=True)
    seen: list[str] = []

    # The admin logs in for real, stores the key, tests it, switches to the v1 pair, tests again.
    client.post(reverse("login"), {"username": "ada", "password": PASSWORD})
    client.post(
        reverse("credential-new"),
        {
            "name": "Canary",
            "environment": "alpha",
            "base_url_override": sandbox.base_url,
            "auth_scheme": "api_key",
            "api_key": API_KEY,
            "activate": "on",
        },
    )
    credential = Credential.objects.get()
    detail = reverse("credential-detail", args=[credential.pk])
    seen.append(_body(client.post(reverse("credential-test", args=[credential.pk]))))
    edit = {
        "name": "Canary",
        "environment": "alpha",
        "base_url_override": sandbox.base_url,
        "auth_scheme": "legacy",
        "integration_id": INTEGRATION_ID,
        "secret": "a-wrong-secret-value",
    }
    client.post(detail, edit)
    refused = _body(client.post(reverse("credential-test", args=[credential.pk])))
    assert "HTTP 401" in refused
    seen.append(refused)
    client.post(detail, {**edit, "secret": SECRET})
    tested = _body(client.post(reverse("credential-test", args=[credential.pk])))
    assert "The connection works" in tested
    seen.append(tested)
    client.post(reverse("catalogue-refresh"), {"next": "/"})
    drain_tasks()  # the refresh runs in the background

    # An issuer's issuance, with a document number, sent by the worker (the catalogue refresh
    # above mirrored what it needs).
    issuer = factories.issuer(username="ivy")
    event = Event.objects.get(remote_id=sandbox.catalogue.events[0]["_id"])
    rate = Rate.objects.get(remote_id=sandbox.catalogue.free_rate(event.remote_id)["_id"])
    setup = IssuingSetup(
        sandbox=sandbox,
        credential=credential,
        issuer=issuer,
        event=event,
        rate=rate,
        option=PriceOption.objects.filter(rate=rate).first(),
        channel=Channel.objects.get(remote_id=sandbox.catalogue.channels[1]["_id"]),
        reason=Reason.objects.first(),
    )
    holder = HolderData(
        full_name="Dora Canary",
        email="dora@example.com",
        document_type="dni",
        document_number=DOCUMENT,
    )
    issuance = setup.submit(holders=(holder,))
    drain_tasks()
    ticket = IssuedTicket.objects.get(line__issuance=issuance)
    # Fourvenues changes the holder (a document on the ticket too) and checks it in, and a
    # ticket of ours turns up that Comps never issued: a reconciliation run records all of it.
    sandbox.app.store.update(
        ticket.remote_id,
        {"name": "Dora Changed", "enter": 1, "personal_document_number": DOCUMENT},
    )
    sandbox.app.store.load(
        [
            {
                "event_id": event.remote_id,
                "qr_code": "COMPS-BYHAND",
                "personal_document_number": DOCUMENT,
            }
        ]
    )
    run = reconciliation_runs.request_run(event=event, trigger=RunTrigger.COMMAND, enqueue=False)
    run = reconciliation_runs.execute_run(run_id=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    discrepancy = Discrepancy.objects.filter(kind=DiscrepancyKind.UNKNOWN_LOCALLY).get()
    assert Discrepancy.objects.filter(kind=DiscrepancyKind.DRIFT).exists()
    assert TicketChange.objects.exists()

    # Every page of the app, as the admin (who sees the most) and as the issuer.
    world = World(
        ticket=ticket,
        saved_search=SavedSearch.objects.create(owner=issuer, name="mine"),
        credential=credential,
        person=issuer,
        discrepancy=discrepancy,
        mailbox_key=_a_received_message(ticket),
        guest_token=guest_page_token(GuestPage.objects.get(ticket=ticket)),
    )
    for user in (issuer, factories.manager(), factories.admin(is_staff=True)):
        client.force_login(user)
        for name, (args, _expected) in MATRIX.items():
            seen.append(_body(client.get(reverse(name, args=args(world)))))
        for fmt in ("csv", "xlsx"):
            seen.append(_body(client.get(reverse("ticket-export"), {"format": fmt})))
    # ...and every page of Django's admin: each list, and each object's page.
    for model in django_admin.site._registry:
        meta = model._meta
        seen.append(
            _body(client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")))
        )
        for pk in model.objects.values_list("pk", flat=True)[:5]:
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
            seen.append(_body(client.get(url)))

    assert ApiCall.objects.filter(credential=credential).count() >= 4
    assert [message.to for message in mail.outbox] == [["dora@example.com"]]  # checked below
    assert ticket.line.document_number == DOCUMENT  # stored, readable to the app only
    stored = {
        "pages and exports": "\n".join(seen),
        # The guest's e-mail (with its PDF), as the worker sent it (the test outbox).
        "messages to guests": "\n".join(message.message().as_string() for message in mail.outbox),
        "deliveries (as stored)": _raw_rows("tickets_delivery"),
        "log output": caplog.text,
        "ApiCall rows": str(list(ApiCall.objects.values())),
        "audit entries": str(list(AuditEntry.objects.values())),
        "credential history (as stored)": _raw_rows("tickets_historicalcredential"),
        "credentials (as stored)": _raw_rows("tickets_credential"),
        "holders (as stored)": _raw_rows("tickets_issuanceline"),
        "discrepancies (as stored)": _raw_rows("tickets_discrepancy"),
        "ticket history (as stored)": _raw_rows("tickets_ticketchange"),
        "reconciliation runs (as stored)": _raw_rows("tickets_reconciliationrun"),
    }
    for where, text in stored.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} found in {where}"
        assert DOCUMENT not in text, f"the full document number found in {where}"
    # The masked form is what pages show: proof the document was there to leak.
    assert DOCUMENT[-3:] in stored["pages and exports"]
