"""The mail provider's tracking webhook (bounces, openings), through django-anymail.

Only Mailgun's is served, the one tested with signed requests; it answers 404 until its signing
key and the webhooks' basic-authentication secret are configured, so an unconfigured provider
is never an open door (or an error page). Another provider: add its anymail tracking view here
the same way.
"""

from __future__ import annotations

from anymail.webhooks.mailgun import MailgunTrackingWebhookView
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

_mailgun = MailgunTrackingWebhookView.as_view()


@login_not_required  # Mailgun calls it, not a person
@csrf_exempt  # signed by Mailgun and behind basic authentication instead
def mailgun_tracking(request: HttpRequest) -> HttpResponse:
    if not (
        settings.ANYMAIL.get("MAILGUN_WEBHOOK_SIGNING_KEY")
        and settings.ANYMAIL.get("WEBHOOK_SECRET")
    ):
        raise Http404
    return _mailgun(request)
