"""The worker's delivery loop: hand each queued message to the mail server, once.

For each message: build it (a crash here leaves it queued), claim it (`sending`, committed),
hand it to the mail server, and mark it `sent` the moment the server accepts it. A server that
provably did not take it (refused for now, unreachable, disconnected before accepting) puts it
back in the queue with backoff; a permanent refusal (no such address) fails it with the server's
reason. A message left `sending` by a worker that died may or may not have been accepted: it is
failed with that said (`reap_stale_deliveries`), and only a person resends it, so no guest gets
the same message twice by accident.
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
import uuid

from anymail.exceptions import AnymailAPIError, AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_noop

from tickets import tasks
from tickets.models import Delivery, DeliveryChannel, DeliveryState
from tickets.services.deliveries.messages import build_email
from tickets.services.heartbeat import Heartbeat

logger = logging.getLogger(__name__)

# Stored in English and marked for translation: the issuance page translates it.
INTERRUPTED = gettext_noop(
    "The worker stopped while handing this message to the mail server: it may have gone out. "
    "Resend it if the guest has not received it."
)
NOT_BUILT = gettext_noop("The message could not be written: %(error)s")


class Refusal(Exception):
    """The mail server did not take a message; `permanent` when trying again cannot help."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def classify(exc: Exception) -> Refusal:
    """What a failed hand-over means. SMTP: 5xx is permanent, 4xx and no answer are not (a
    message the server never acknowledged with 250 was not accepted, RFC 5321 §4.1.1.4)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()))
        return Refusal(_smtp_reason(code, text), permanent=code >= 500)
    if isinstance(exc, smtplib.SMTPResponseException):
        return Refusal(_smtp_reason(exc.smtp_code, exc.smtp_error), permanent=exc.smtp_code >= 500)
    if isinstance(exc, AnymailRecipientsRefused):
        return Refusal(str(exc)[:300], permanent=True)
    if isinstance(exc, AnymailAPIError):
        status = exc.status_code or 0
        return Refusal(str(exc)[:300], permanent=400 <= status < 500 and status != 429)
    if isinstance(exc, (smtplib.SMTPException, AnymailError, OSError)):
        return Refusal(f"{type(exc).__name__}: {exc}"[:300], permanent=False)
    raise exc


def _smtp_reason(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"The mail server answered {code} {text}".strip()[:300]


def send_queued_deliveries(*, task_id: uuid.UUID | str | None = None) -> int:
    """Send every queued e-mail whose time has come (the `send_deliveries` task); how many went.
    One connection to the mail server for all of them, opened again after a failure."""
    heartbeat = Heartbeat(task_id)
    sent = 0
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    last_seen = 0  # walked forward by id: each message is looked at once per run
    try:
        while (delivery := _next_queued(after=last_seen)) is not None:
            heartbeat.beat()
            last_seen = delivery.pk
            if _send_one(delivery, connection):
                sent += 1
    finally:
        connection.close()
    return sent


def _next_queued(*, after: int) -> Delivery | None:
    return (
        Delivery.objects.filter(
            Q(send_after__isnull=True) | Q(send_after__lte=timezone.now()),
            state=DeliveryState.QUEUED,
            channel=DeliveryChannel.EMAIL,
            pk__gt=after,
        )
        .select_related("ticket__event", "ticket__line__issuance__event", "ticket__guest_page")
        .order_by("id")
        .first()
    )


def _open(connection: BaseEmailBackend) -> None:
    """Open the session the next messages share. A server that is down is found out by the
    message itself, which then waits for its retry."""
    try:
        connection.open()
    except Exception:  # the send that follows raises it again, classified
        connection.close()


def _send_one(delivery: Delivery, connection: BaseEmailBackend) -> bool:
    try:
        message = build_email(delivery, connection=connection)
    except Exception as exc:
        # Our own fault (a missing page, a template error): nothing left, say it and go on.
        logger.exception("Delivery %s could not be built", delivery.pk)
        _settle(delivery, state=DeliveryState.FAILED, last_error=NOT_BUILT % {"error": exc})
        return False
    if not _claim(delivery):
        return False
    _open(connection)
    try:
        connection.send_messages([message])
    except Exception as exc:  # classified: any other error is re-raised there
        connection.close()  # the session may be broken: the next message opens a new one
        _refused(delivery, classify(exc))
        return False
    _settle(
        delivery,
        state=DeliveryState.SENT,
        sent_at=timezone.now(),
        message_id=_message_id(message),
        last_error="",
    )
    return True


def _claim(delivery: Delivery) -> bool:
    """Mark it `sending`, committed before the mail server sees it; False when another worker
    claimed it first."""
    now = timezone.now()
    claimed = Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.QUEUED).update(
        state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    delivery.attempts += 1
    return claimed == 1


def _settle(delivery: Delivery, *, state: str, **fields: object) -> None:
    Delivery.objects.filter(
        pk=delivery.pk, state__in=[DeliveryState.SENDING, DeliveryState.QUEUED]
    ).update(state=state, **fields)


def _refused(delivery: Delivery, refusal: Refusal) -> None:
    if refusal.permanent:
        _settle(delivery, state=DeliveryState.FAILED, last_error=refusal.reason)
        return
    if delivery.attempts >= settings.COMPS_DELIVERY_ATTEMPTS:
        reason = f"{refusal.reason} (gave up after {delivery.attempts} attempts)"
        _settle(delivery, state=DeliveryState.FAILED, last_error=reason[:500])
        return
    retry_at = timezone.now() + dt.timedelta(
        seconds=min(3600, settings.COMPS_DELIVERY_BACKOFF_SECONDS * 3 ** (delivery.attempts - 1))
    )
    _settle(delivery, state=DeliveryState.QUEUED, send_after=retry_at, last_error=refusal.reason)
    tasks.send_deliveries.using(run_after=retry_at).enqueue()


def _message_id(message: EmailMessage) -> str:
    """The provider's id when it gave one (its webhooks name the message by it), else ours."""
    status = getattr(message, "anymail_status", None)
    if status is not None and status.message_id:
        return str(status.message_id)
    return str(message.extra_headers["Message-ID"])


def reap_stale_deliveries(*, now: dt.datetime) -> int:
    """Fail the messages left `sending` longer than any hand-over lasts: their worker died,
    perhaps after the server accepted them, so only a person may send them again."""
    cutoff = now - dt.timedelta(seconds=3 * settings.EMAIL_TIMEOUT + 60)
    return Delivery.objects.filter(state=DeliveryState.SENDING, claimed_at__lt=cutoff).update(
        state=DeliveryState.FAILED, last_error=INTERRUPTED
    )


def waiting_unsent(*, now: dt.datetime) -> bool:
    """Whether queued messages are due (the scheduler queues the task for them if none waits)."""
    return Delivery.objects.filter(
        Q(send_after__isnull=True) | Q(send_after__lte=now), state=DeliveryState.QUEUED
    ).exists()
