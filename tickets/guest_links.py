"""The signed links to guest pages: a page's random key and its signature, so a link cannot be
guessed (the key) nor forged or altered (the signature) and a wrong one is refused before any
database read."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from tickets.models import GuestPage

_SIGNER = signing.Signer(salt="tickets.guest_page")


def guest_page_token(page: GuestPage) -> str:
    return _SIGNER.sign(page.key)


def key_from_token(token: str) -> str | None:
    """The page key a token carries, or None when its signature does not hold."""
    try:
        return _SIGNER.unsign(token)
    except signing.BadSignature:
        return None


def guest_page_path(page: GuestPage) -> str:
    return reverse("guest-page", args=[guest_page_token(page)])


def guest_page_url(page: GuestPage) -> str:
    """The absolute link for messages (written by the worker, where no request is at hand)."""
    return settings.COMPS_PUBLIC_URL + guest_page_path(page)
