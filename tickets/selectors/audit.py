"""Reads of the audit log."""

from __future__ import annotations

import datetime as dt

from django.db.models import Q, QuerySet

from tickets.models import AuditEntry

AUDIT_PAGE_SIZE = 100


def audit_entries(
    *,
    action: str = "",
    actor: str = "",
    target: str = "",
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> QuerySet[AuditEntry]:
    """The audit log, newest first; `action` matches a code or a dotted prefix ("credential");
    `target` a target's key exactly or part of its label."""
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(Q(action=action) | Q(action__startswith=f"{action}."))
    if actor:
        entries = entries.filter(actor_label__icontains=actor)
    if target:
        # "issuance:42" or what staff know a thing by ("ivy", "Production key").
        entries = entries.filter(Q(target__iexact=target) | Q(target_label__icontains=target))
    if since:
        entries = entries.filter(created_at__date__gte=since)
    if until:
        entries = entries.filter(created_at__date__lte=until)
    return entries
