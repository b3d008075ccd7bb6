"""Allowances and groups of issuers: managers set them; `submit_issuance` checks them.

The check runs inside the submitting transaction: the applicable allowance rows are locked first
(PostgreSQL row locks; SQLite's write transactions already run one at a time), and only then is
their use summed. Two issuers racing for the last places therefore see each other: the second
reads what the first committed.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import IntegrityError, connection, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tickets.models import (
    Allowance,
    AllowancePeriod,
    Event,
    IssuerGroup,
    Promoter,
    Rate,
)
from tickets.selectors import allowances as selectors
from tickets.services import audit


class AllowanceError(Exception):
    """A change managers asked for cannot be made; the message is fit to show them.

    `field`: the form field it is about (None: the whole form)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


# --- What an allowance says, for the audit log -------------------------------------------------


def _facts(allowance: Allowance) -> dict[str, Any]:
    return {
        "holder_kind": selectors.holder_kind(allowance),
        "holder": selectors.holder_label(allowance),
        "user": allowance.user_id,
        "promoter": allowance.promoter_id,
        "issuer_group": allowance.issuer_group_id,
        "event": allowance.event_id,
        "event_name": allowance.event.name if allowance.event else None,
        "rate": allowance.rate_id,
        "rate_name": allowance.rate.name if allowance.rate else None,
        "period": allowance.period,
        "people": allowance.people,
        "face_value": str(allowance.face_value) if allowance.face_value is not None else None,
    }


def _validate(
    *,
    user: User | None,
    promoter: Promoter | None,
    issuer_group: IssuerGroup | None,
    event: Event | None,
    rate: Rate | None,
    period: str,
    people: int,
    face_value: Decimal | None,
) -> None:
    holders = [h for h in (user, promoter, issuer_group) if h is not None]
    if len(holders) != 1:
        raise AllowanceError(
            _("Choose exactly one: an issuer, a promoter or a group of issuers."), field=None
        )
    if rate is not None and (event is None or rate.event_id != event.pk):
        raise AllowanceError(_("That rate is not one of the chosen event's."), field="rate")
    if period not in AllowancePeriod.values:
        raise AllowanceError(_("Choose how the allowance is counted."), field="period")
    if people < 1:
        raise AllowanceError(_("An allowance is for at least one person."), field="people")
    if face_value is not None and face_value < 0:
        raise AllowanceError(_("The face value cannot be negative."), field="face_value")
    if promoter is not None and event is not None and promoter.environment != event.environment:
        raise AllowanceError(
            _("That promoter belongs to another Fourvenues environment than the event."),
            field="promoter",
        )


@transaction.atomic
def create_allowance(
    *,
    actor: AbstractBaseUser,
    user: User | None = None,
    promoter: Promoter | None = None,
    issuer_group: IssuerGroup | None = None,
    event: Event | None = None,
    rate: Rate | None = None,
    period: str = AllowancePeriod.EVENT,
    people: int,
    face_value: Decimal | None = None,
    request: HttpRequest | None = None,
) -> Allowance:
    _validate(
        user=user,
        promoter=promoter,
        issuer_group=issuer_group,
        event=event,
        rate=rate,
        period=period,
        people=people,
        face_value=face_value,
    )
    allowance = Allowance.objects.create(
        user=user,
        promoter=promoter,
        issuer_group=issuer_group,
        event=event,
        rate=rate,
        period=period,
        people=people,
        face_value=face_value,
        created_by=actor,
    )
    audit.record(
        action="allowance.created",
        actor=actor,
        target=allowance,
        data=_facts(allowance),
        request=request,
    )
    return allowance


ALLOWANCE_FIELDS = (
    "user",
    "promoter",
    "issuer_group",
    "event",
    "rate",
    "period",
    "people",
    "face_value",
)


@transaction.atomic
def change_allowance(
    *,
    allowance: Allowance,
    actor: AbstractBaseUser,
    request: HttpRequest | None = None,
    **changes: Any,
) -> Allowance:
    """Change the given fields (of ALLOWANCE_FIELDS); the log keeps what each was and became."""
    unknown = set(changes) - set(ALLOWANCE_FIELDS)
    if unknown:
        raise ValueError(f"Not an allowance field: {sorted(unknown)}")
    before = _facts(allowance)
    values = {name: changes.get(name, getattr(allowance, name)) for name in ALLOWANCE_FIELDS}
    _validate(**values)
    for name, value in values.items():
        setattr(allowance, name, value)
    allowance.save()
    _record_changes(
        "allowance.changed", allowance, before, _facts(allowance), actor=actor, request=request
    )
    return allowance


@transaction.atomic
def delete_allowance(
    *, allowance: Allowance, actor: AbstractBaseUser, request: HttpRequest | None = None
) -> None:
    facts = _facts(allowance)
    target = audit.Ref(Allowance, allowance.pk)
    allowance.delete()
    audit.record(
        action="allowance.deleted", actor=actor, target=target, data=facts, request=request
    )


# --- Groups of issuers -------------------------------------------------------------------------


def _group_facts(group: IssuerGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "members": sorted(group.members.values_list("username", flat=True)),
        "approval_required": group.approval_required,
    }


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise AllowanceError(_("Give the group a name."), field="name")
    if len(name) > 100:
        raise AllowanceError(_("Keep the name under 100 characters."), field="name")
    return name


@transaction.atomic
def create_issuer_group(
    *,
    actor: AbstractBaseUser,
    name: str,
    members: Iterable[User] = (),
    approval_required: bool = True,
    request: HttpRequest | None = None,
) -> IssuerGroup:
    name = _clean_name(name)
    if IssuerGroup.objects.filter(name__iexact=name).exists():
        raise AllowanceError(_("There is already a group with that name."), field="name")
    try:
        with transaction.atomic():
            group = IssuerGroup.objects.create(name=name, approval_required=approval_required)
    except IntegrityError as exc:
        raise AllowanceError(_("There is already a group with that name."), field="name") from exc
    group.members.set(list(members))
    audit.record(
        action="issuer_group.created",
        actor=actor,
        target=group,
        data=_group_facts(group),
        request=request,
    )
    return group


@transaction.atomic
def change_issuer_group(
    *,
    group: IssuerGroup,
    actor: AbstractBaseUser,
    name: str,
    members: Iterable[User],
    approval_required: bool,
    request: HttpRequest | None = None,
) -> IssuerGroup:
    before = _group_facts(group)
    name = _clean_name(name)
    if IssuerGroup.objects.filter(name__iexact=name).exclude(pk=group.pk).exists():
        raise AllowanceError(_("There is already a group with that name."), field="name")
    group.name = name
    group.approval_required = approval_required
    group.save(update_fields=["name", "approval_required"])
    group.members.set(list(members))
    _record_changes(
        "issuer_group.changed", group, before, _group_facts(group), actor=actor, request=request
    )
    return group


def _record_changes(
    action: str,
    target: Allowance | IssuerGroup,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    actor: AbstractBaseUser,
    request: HttpRequest | None,
) -> None:
    """Audit what a change made, old -> new per field; nothing when nothing changed."""
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        audit.record(
            action=action,
            actor=actor,
            target=target,
            data={**after, "changes": changed},
            request=request,
        )


@transaction.atomic
def delete_issuer_group(
    *, group: IssuerGroup, actor: AbstractBaseUser, request: HttpRequest | None = None
) -> None:
    """Deleting a group deletes its allowances too (they were the group's)."""
    facts = _group_facts(group)
    facts["allowances_deleted"] = group.allowances.count()
    target = audit.Ref(IssuerGroup, group.pk)
    group.delete()
    audit.record(
        action="issuer_group.deleted", actor=actor, target=target, data=facts, request=request
    )


# --- The check at submit -----------------------------------------------------------------------


def check_submission(
    *,
    user: AbstractBaseUser | AnonymousUser,
    event: Event,
    rate: Rate,
    promoter: Promoter | None,
    price: Decimal,
    holders: int,
) -> selectors.Verdict:
    """Lock the allowances an issuance of `holders` people counts against, then judge it.

    Call inside the transaction that writes the issuance: the locks are held until it commits,
    so a second submitter for the same allowance waits and then counts the first one's lines.
    Before mirroring each line counts one person; the face value is `price` per person.
    """
    ids = list(
        selectors.applicable_allowances(
            user=user, event=event, rate=rate, promoter=promoter
        ).values_list("pk", flat=True)
    )
    if not ids:
        return selectors.Verdict(asked_people=holders, asked_value=price * holders)
    locked = Allowance.objects.filter(pk__in=ids).select_related(
        "user", "promoter", "issuer_group", "event", "rate"
    )
    if connection.features.has_select_for_update:
        # In primary-key order, so that two submitters never lock the same rows crosswise.
        locked = locked.select_for_update(of=("self",)).order_by("pk")
    allowances = list(locked.order_by("pk"))
    usages = selectors.usage_for_event(allowances, event)
    return selectors.judge(usages, people=holders, value=price * holders)


def describe_over(over: list[dict[str, Any]]) -> str:
    """What is left, in words for the issuer refused."""
    parts = []
    for item in over:
        left = ngettext("%(count)s place left", "%(count)s places left", item["people_left"]) % {
            "count": item["people_left"]
        }
        if item["value_left"] is not None:
            left = _("%(places)s and %(value)s € of face value") % {
                "places": left,
                "value": item["value_left"],
            }
        parts.append(
            _("%(holder)s's allowance: %(left)s; this issuance asks for %(asked)s.")
            % {"holder": item["holder"], "left": left, "asked": item["people_asked"]}
        )
    return " ".join(parts)
