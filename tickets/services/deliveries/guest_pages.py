"""A guest opened their page: counted in one UPDATE, so simultaneous openings all count."""

from __future__ import annotations

from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from tickets.models import GuestPage


def record_opening(page: GuestPage) -> None:
    now = timezone.now()
    GuestPage.objects.filter(pk=page.pk).update(
        opens=F("opens") + 1,
        first_opened_at=Coalesce(F("first_opened_at"), now),
        last_opened_at=now,
    )
