"""Reads of the audit log: the entries, each as people read it, and the failed logins."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets import roles
from tickets.models import AuditEntry, AuthScheme, Environment

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


# --- An entry as people read it ----------------------------------------------------------------

# The labels of the fields whose changes entries record (the credential's, a user's role). Other
# fields are named by their model's verbose name, else by their key.
FIELD_LABELS: dict[str, Promise] = {
    "name": gettext_lazy("Name"),
    "environment": gettext_lazy("Environment"),
    "base_url_override": gettext_lazy("Base URL"),
    "base_url": gettext_lazy("Base URL"),
    "auth_scheme": gettext_lazy("Authentication"),
    "expires_on": gettext_lazy("Expires on"),
    "notes": gettext_lazy("Notes"),
    "api_key": gettext_lazy("API key"),
    "integration_id": gettext_lazy("Integration id"),
    "secret": gettext_lazy("Secret"),
    "role": gettext_lazy("Role"),
    "is_active": gettext_lazy("Active"),
}
# Values stored as codes, shown as people know them.
_CHOICES: dict[str, dict[str, Any]] = {
    "environment": dict(Environment.choices),
    "auth_scheme": dict(AuthScheme.choices),
}


@dataclass(frozen=True, slots=True)
class Change:
    label: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class EntryView:
    """One entry for the log page: labelled old -> new values where the entry recorded them,
    the fields named where it recorded only names (secrets, Django admin edits), and the raw
    data for the technical details."""

    entry: AuditEntry
    changes: list[Change] = field(default_factory=list)
    changed_fields: list[str] = field(default_factory=list)
    replaces: str = ""


def _model_of(target: str) -> Any:
    kind = target.partition(":")[0]
    try:
        return apps.get_model("tickets", kind) if kind else None
    except LookupError:
        return None


def field_label(name: str, *, target: str = "") -> str:
    if name in FIELD_LABELS:
        return str(FIELD_LABELS[name])
    model = _model_of(target)
    if model is not None:
        try:
            return str(model._meta.get_field(name).verbose_name).capitalize()
        except FieldDoesNotExist:
            pass
    return name.replace("_", " ").capitalize()


def _value(name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if name == "role":
        return roles.role_label(str(value))
    if name in _CHOICES:
        return str(_CHOICES[name].get(value, value))
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


def describe(entry: AuditEntry) -> EntryView:
    data = entry.data if isinstance(entry.data, dict) else {}
    changes: list[Change] = []
    if "from" in data and "to" in data:  # a role change
        name = "role" if entry.action == "user.role_changed" else ""
        changes.append(
            Change(
                label=field_label(name) if name else _("Value"),
                old=_value(name, data["from"]),
                new=_value(name, data["to"]),
            )
        )
    values = data.get("changes")
    if isinstance(values, dict):
        for name, pair in values.items():
            if isinstance(pair, list | tuple) and len(pair) == 2:
                label = field_label(name, target=entry.target)
                changes.append(Change(label, _value(name, pair[0]), _value(name, pair[1])))
    shown = set(values) if isinstance(values, dict) else set()
    named = data.get("changed")
    changed_fields = (
        [field_label(n, target=entry.target) for n in named if n not in shown]
        if isinstance(named, list)
        else []
    )
    replaces = data.get("replaces")
    return EntryView(
        entry=entry,
        changes=changes,
        changed_fields=changed_fields,
        replaces=str(replaces.get("name", "")) if isinstance(replaces, dict) else "",
    )


# --- Failed logins (the admin's home page) -----------------------------------------------------

FAILED_LOGIN_ACTIONS = ("auth.login_failed", "auth.locked_out")


@dataclass(frozen=True, slots=True)
class FailedLogins:
    days: int
    count: int
    # The newest few: when, the username typed (as the log has it), from where.
    recent: list[AuditEntry]


def recent_failed_logins(*, days: int = 7, limit: int = 5) -> FailedLogins:
    """Failed sign-ins and lockouts of the last `days` days: how many, and the newest `limit`."""
    since = timezone.now() - dt.timedelta(days=days)
    entries = AuditEntry.objects.filter(action__in=FAILED_LOGIN_ACTIONS, created_at__gte=since)
    return FailedLogins(days=days, count=entries.count(), recent=list(entries[:limit]))
