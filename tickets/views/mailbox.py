"""The training mailbox: what the local mail server received, so staff in training see what
guests get. Only where `COMPS_MAILBOX_DIR` is set (`make run`); a plain 404 anywhere else.

A message's HTML part is never put into our page (its inline styles break the page's Content
Security Policy and its markup would be a way in for script): the page shows the plain-text
part, the inline images (the QR) as data: URIs, the links the HTML carries, and the attachments.
"""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from tickets import roles
from tickets.demo import mailbox as training_mailbox


@require_GET
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def mailbox(request: HttpRequest) -> HttpResponse:
    if not training_mailbox.is_enabled():
        raise Http404
    return render(
        request,
        "tickets/mailbox/list.html",
        {"received": training_mailbox.received_messages()},
    )


@require_GET
@permission_required(roles.ISSUE_COMPS, raise_exception=True)
def mailbox_message(request: HttpRequest, key: str) -> HttpResponse:
    if not training_mailbox.is_enabled():
        raise Http404
    message = training_mailbox.received_message(key)
    if message is None:
        raise Http404
    return render(request, "tickets/mailbox/message.html", {"message": message})
