"""Reads of the exports prepared in the background: a person sees their own only (a manager
too: an export holds the data of whoever asked for it, no one else's business)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from tickets.models import ExportJob, ExportJobState

RECENT_EXPORTS = 20  # what the list of one's exports shows


def export_jobs_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[ExportJob]:
    return ExportJob.objects.filter(owner_id=user.pk).order_by("-created_at", "-id")


def recent_export_jobs_of(user: AbstractBaseUser | AnonymousUser) -> list[ExportJob]:
    return list(export_jobs_of(user)[:RECENT_EXPORTS])


def is_settled(job: ExportJob) -> bool:
    """Whether the job's state can no longer change by itself (the page stops asking)."""
    return job.state not in (ExportJobState.QUEUED, ExportJobState.RUNNING)
