"""Bounces and openings come back from the mail provider through django-anymail's tracking
webhooks: a signed Mailgun request, as Mailgun sends it, updates the delivery it names."""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import Delivery, DeliveryChannel, DeliveryState

SIGNING_KEY = "key-mailgun-webhook-signing-test"
BASIC_AUTH = "hooks:a-long-webhook-password"
MESSAGE_ID = "20261202.delivery-7@comps.localhost"


@pytest.fixture(autouse=True)
def _mailgun(settings):
    settings.ANYMAIL = {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY, "WEBHOOK_SECRET": BASIC_AUTH}


@pytest.fixture
def delivery(db) -> Delivery:
    return Delivery.objects.create(
        ticket=factories.IssuedTicketFactory(),
        channel=DeliveryChannel.EMAIL,
        state=DeliveryState.SENT,
        recipient="ada@example.com",
        language="en",
        attempts=1,
        sent_at=timezone.now(),
        message_id=f"<{MESSAGE_ID}>",  # as our Message-ID header writes it
    )


def _signed(event_data: dict, *, key: str = SIGNING_KEY) -> str:
    timestamp, token = str(int(time.time())), "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6a7b8c9"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return json.dumps(
        {
            "signature": {
                "timestamp": timestamp,
                "token": token,
                "signature": signature.hexdigest(),
            },
            "event-data": event_data,
        }
    )


def _event(event: str, message_id: str = MESSAGE_ID, **extra: object) -> dict:
    return {
        "event": event,
        "timestamp": time.time(),
        "id": "Ase7i2zsRYeDXztHGENqRA",
        "recipient": "ada@example.com",
        # Mailgun names the message by its Message-ID, without the angle brackets.
        "message": {"headers": {"message-id": message_id, "to": "ada@example.com"}},
        **extra,
    }


def _post(client, body: str):
    auth = base64.b64encode(BASIC_AUTH.encode()).decode()
    return client.post(
        reverse("mail-tracking-mailgun"),
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
    )


@pytest.mark.django_db
def test_a_permanent_failure_marks_the_delivery_bounced_with_the_reason(client, delivery):
    failed = _event(
        "failed",
        severity="permanent",
        reason="bounce",
        **{
            "delivery-status": {
                "code": 550,
                "description": "",
                "message": "5.1.1 The email account that you tried to reach does not exist.",
            }
        },
    )
    response = _post(client, _signed(failed))

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.BOUNCED
    assert delivery.bounced_at is not None
    assert "does not exist" in delivery.last_error


@pytest.mark.django_db
def test_an_opening_marks_the_delivery_opened_once(client, delivery):
    assert _post(client, _signed(_event("opened"))).status_code == 200
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.OPENED
    first_opened = delivery.opened_at
    assert first_opened is not None

    assert _post(client, _signed(_event("opened"))).status_code == 200
    delivery.refresh_from_db()
    assert delivery.opened_at == first_opened


@pytest.mark.django_db
def test_an_opening_never_hides_a_bounce(client, delivery):
    _post(client, _signed(_event("failed", severity="permanent")))
    _post(client, _signed(_event("opened")))
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.BOUNCED
    assert delivery.opened_at is None


@pytest.mark.django_db
def test_a_temporary_failure_or_a_delivery_keeps_it_sent(client, delivery):
    _post(client, _signed(_event("failed", severity="temporary")))
    _post(client, _signed(_event("delivered")))
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT


@pytest.mark.django_db
def test_a_request_with_a_bad_signature_is_refused_and_changes_nothing(client, delivery):
    forged = _signed(_event("failed", severity="permanent"), key="not-the-signing-key")
    response = _post(client, forged)

    assert response.status_code in (400, 403)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
    assert delivery.last_error == ""


@pytest.mark.django_db
def test_an_event_for_a_message_not_ours_is_accepted_and_ignored(client, delivery):
    response = _post(client, _signed(_event("failed", "someone-else@example.org")))

    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT


@pytest.mark.parametrize(
    "anymail",
    [{}, {"MAILGUN_WEBHOOK_SIGNING_KEY": SIGNING_KEY}, {"WEBHOOK_SECRET": BASIC_AUTH}],
)
def test_the_webhook_is_not_served_until_its_keys_are_configured(
    client, delivery, settings, anymail
):
    settings.ANYMAIL = anymail
    response = client.post(
        reverse("mail-tracking-mailgun"),
        _signed(_event("opened")),
        content_type="application/json",
    )
    assert response.status_code == 404
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SENT
