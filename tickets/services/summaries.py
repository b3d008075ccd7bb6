"""The morning-after summary: once an event's night is over (from COMPS_SUMMARY_HOUR on the
morning after), its figures are e-mailed once to every active manager and admin, each in their
own language, with a link to the same summary as a page.

"Once" rests on a claim: `EventPolicy.summary_sent_at` is set by a conditional update before any
message goes out, so two schedulers, two workers or a task run twice never both send. When not
one message could be handed to the mail server, the claim is given back and the next pass tries
again; once any went out the summary counts as sent (the audit entry says how many failed).
"""

from __future__ import annotations

import datetime as dt
import logging
import smtplib
from dataclasses import dataclass
from email.utils import formataddr

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist
from django.core.mail import EmailMessage, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from tickets.models import AuditAction, Event, EventPolicy
from tickets.selectors import reports as report_selectors
from tickets.selectors import summaries as summary_selectors
from tickets.services import audit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SummarySent:
    event: Event
    recipients: int  # messages the mail server took
    failed: int


def summary_url(event: Event) -> str:
    """The summary page's absolute link (the worker writes it: no request is at hand)."""
    return settings.COMPS_PUBLIC_URL + reverse("event-summary", args=[event.pk])


def claim_summary(*, event: Event, now: dt.datetime) -> bool:
    """Mark the event's summary as being sent, unless someone already did: True for the one
    caller that gets it. The rules row is created first when missing (get_or_create survives a
    concurrent creation: the loser reads the winner's row)."""
    EventPolicy.objects.get_or_create(event=event)
    claimed = EventPolicy.objects.filter(event=event, summary_sent_at__isnull=True).update(
        summary_sent_at=now
    )
    return claimed == 1


def _release_claim(*, event: Event, claimed_at: dt.datetime) -> None:
    EventPolicy.objects.filter(event=event, summary_sent_at=claimed_at).update(summary_sent_at=None)


def _language_of(user: User) -> str:
    try:
        chosen = user.preferences.language
    except ObjectDoesNotExist:
        chosen = ""
    return chosen or settings.LANGUAGE_CODE


def summary_message(
    *,
    summary: report_selectors.EventSummary,
    user: User,
    connection: BaseEmailBackend | None = None,
) -> EmailMessage:
    """The summary for one person, in their language."""
    with translation.override(_language_of(user)):
        context = {"summary": summary, "url": summary_url(summary.event), "user": user}
        subject = " ".join(
            render_to_string("tickets/reports/email/summary_subject.txt", context).split()
        )
        body = render_to_string("tickets/reports/email/summary.txt", context)
    return EmailMessage(
        subject=subject,
        body=body,
        from_email=formataddr((settings.COMPS_VENUE_NAME, settings.DEFAULT_FROM_EMAIL)),
        to=[user.email],
        connection=connection,
    )


def send_event_summary(*, event: Event, now: dt.datetime | None = None) -> SummarySent | None:
    """Send the event's summary if nobody has: None when it was already claimed, or when the
    mail server took none of the messages (the claim is then given back, to try again)."""
    now = now or timezone.now()
    if not claim_summary(event=event, now=now):
        return None
    summary = report_selectors.event_summary(event)
    recipients = summary_selectors.summary_recipients()
    connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
    sent = failed = 0
    try:
        for user in recipients:
            message = summary_message(summary=summary, user=user, connection=connection)
            try:
                sent += message.send()
            except (smtplib.SMTPException, OSError) as exc:
                failed += 1
                logger.warning(
                    "Morning-after summary of event %s not taken for user %s: %s",
                    event.pk,
                    user.pk,
                    type(exc).__name__,
                )
    finally:
        connection.close()
    if failed and not sent:
        _release_claim(event=event, claimed_at=now)
        return None
    totals = summary.totals
    audit.record(
        action=AuditAction.EVENT_SUMMARY_SENT,
        target=event,
        data={
            "recipients": sent,
            "failed": failed,
            "comps": totals.tickets,
            "people": totals.people,
            "came": totals.came,
            "withdrawn": totals.withdrawn,
            "open_discrepancies": summary.open_discrepancies,
        },
    )
    return SummarySent(event=event, recipients=sent, failed=failed)


def send_due_summaries(*, now: dt.datetime | None = None) -> list[SummarySent]:
    """Every summary due at `now` and not yet sent (the scheduler's task)."""
    now = now or timezone.now()
    results = []
    for event in summary_selectors.events_due_for_summary(now=now):
        result = send_event_summary(event=event, now=now)
        if result is not None:
            results.append(result)
    return results
