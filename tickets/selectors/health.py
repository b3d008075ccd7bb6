"""Reads of the background processes' signs of life (`services.health`)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from tickets.models import ProcessBeat

PROCESSES = ("scheduler", "worker")


def seconds_since_seen(*, now: dt.datetime | None = None) -> dict[str, float | None]:
    """Per process kind, how long ago one was last seen working; None: never."""
    now = now or timezone.now()
    seen = dict(ProcessBeat.objects.values_list("process", "seen_at"))
    return {
        process: (now - seen[process]).total_seconds() if process in seen else None
        for process in PROCESSES
    }


def is_alive(age: float | None) -> bool:
    """Seen within COMPS_PROCESS_SILENCE_SECONDS (a few scheduler passes)."""
    return age is not None and age <= settings.COMPS_PROCESS_SILENCE_SECONDS
