"""What the mail provider tells us after a message left (django-anymail's tracking webhooks,
signature checked by anymail before any event reaches us): a bounce or a rejection makes the
delivery `bounced` with the provider's reason, an opening makes it `opened`.

Webhooks repeat and arrive out of order: an event only moves a delivery forward (an opening
never hides a bounce, the first opening's time stays), and an event for a message we did not
send (another system's mail, a delivery since purged) is dropped.
"""

from __future__ import annotations

import logging

from anymail.signals import AnymailTrackingEvent, EventType
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tickets.models import Delivery, DeliveryState

logger = logging.getLogger(__name__)

BOUNCES = {EventType.BOUNCED, EventType.REJECTED, EventType.FAILED}
_DELIVERED = {DeliveryState.SENT, DeliveryState.OPENED}
_ERROR_LENGTH = 500  # Delivery.last_error


def record_tracking_event(*, event: AnymailTrackingEvent) -> Delivery | None:
    """Apply one tracking event to the delivery it names; the delivery, or None when the event
    names none of ours or changes nothing."""
    if event.event_type not in BOUNCES and event.event_type != EventType.OPENED:
        return None  # "delivered" and the rest: a sent message stays sent
    ids = _id_forms(event.message_id)
    if not ids:
        return None
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(Q(message_id__in=ids)).first()
        if delivery is None:
            logger.info("Tracking event %s for a message that is not ours", event.event_type)
            return None
        if event.event_type in BOUNCES:
            return _bounced(delivery, event)
        return _opened(delivery, event)


def _bounced(delivery: Delivery, event: AnymailTrackingEvent) -> Delivery | None:
    if delivery.state not in _DELIVERED:
        return None  # already bounced (a repeated webhook), or never handed over
    delivery.state = DeliveryState.BOUNCED
    delivery.bounced_at = event.timestamp or timezone.now()
    reason = " ".join(str(part).strip() for part in (event.description, event.mta_response) if part)
    delivery.last_error = (reason or str(event.reject_reason or event.event_type))[:_ERROR_LENGTH]
    delivery.save(update_fields=["state", "bounced_at", "last_error"])
    return delivery


def _opened(delivery: Delivery, event: AnymailTrackingEvent) -> Delivery | None:
    if delivery.state not in _DELIVERED:
        return None  # a bounce stays a bounce
    delivery.state = DeliveryState.OPENED
    delivery.opened_at = delivery.opened_at or event.timestamp or timezone.now()
    delivery.save(update_fields=["state", "opened_at"])
    return delivery


def _id_forms(message_id: str | None) -> list[str]:
    """Providers write a Message-ID with or without its angle brackets; we keep whichever the
    sending answered."""
    bare = (message_id or "").strip().strip("<>").strip()
    return [bare, f"<{bare}>"] if bare else []
