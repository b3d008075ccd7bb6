"""Issuing comps: the ledger is written before any call, and a create is never sent twice.

The flow (design.md, "The one rule that shapes everything"):

1. `submit_issuance` turns a reviewed draft into an `Issuance` with one `IssuanceLine` per holder,
   keyed by the idempotency key minted when the form was first rendered, and enqueues the
   sending task in the same transaction. A second submit with the same key finds the same row.
2. The worker sends (`services.sending`) and the lines settle through `services.ledger`.
3. Afterwards the issuer may retry a failed line or ask for an unknown one to be checked now.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets import roles, tasks
from tickets.drafts import IssuanceDraft
from tickets.models import (
    ApprovalRequest,
    Channel,
    Credential,
    DeliveryMode,
    Event,
    FailureCause,
    Issuance,
    IssuanceLine,
    IssuanceStatus,
    IssuedTicket,
    LineState,
    PriceOption,
    Promoter,
    Rate,
    Reason,
)
from tickets.selectors import credentials as credential_selectors
from tickets.selectors import policies
from tickets.services import allowances, audit
from tickets.services.ledger import move, refresh_status
from tickets.services.preferences import remember_issuing_choices
from tickets.text import document_digest


class IssuanceError(Exception):
    """The issuance cannot go ahead; the message is fit to show to staff."""


QR_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are read aloud at doors


def new_qr_code() -> str | None:
    """A unique code of ours, sent as `qr_code`, by which the resolver finds the ticket again."""
    if not settings.FOURVENUES_GENERATE_QR_CODES:
        return None
    suffix = "".join(secrets.choice(QR_ALPHABET) for _ in range(12))
    return f"{settings.FOURVENUES_QR_PREFIX}{suffix}"


@dataclass(frozen=True)
class _Catalogue:
    event: Event
    rate: Rate
    price_option: PriceOption
    reason: Reason
    channel: Channel | None
    promoter: Promoter | None


def _load_catalogue(draft: IssuanceDraft, credential: Credential) -> _Catalogue:
    environment = credential.environment
    try:
        # One query for the option, its rate and its event, all checked to belong together.
        price_option = PriceOption.objects.select_related("rate__event").get(
            pk=draft.price_option_id,
            rate_id=draft.rate_id,
            rate__event_id=draft.event_id,
            rate__event__environment=environment,
        )
        reason = Reason.objects.get(pk=draft.reason_id)
        channel = (
            Channel.objects.get(pk=draft.channel_id, environment=environment)
            if draft.channel_id
            else None
        )
        promoter = (
            Promoter.objects.get(pk=draft.promoter_id, environment=environment)
            if draft.promoter_id
            else None
        )
    except ObjectDoesNotExist as exc:
        raise IssuanceError(
            _(
                "The event, rate, price option or attribution chosen no longer matches the "
                "catalogue. Please fill in the form again."
            )
        ) from exc
    if channel is not None and promoter is not None:
        raise IssuanceError(_("Attribute comps to a channel or to a promoter, never both."))
    rate = price_option.rate
    event = rate.event
    if event.night < timezone.localdate():
        raise IssuanceError(_("%(event)s has already taken place.") % {"event": event.name})
    return _Catalogue(event, rate, price_option, reason, channel, promoter)


def credential_problem(credential: Credential | None) -> str:
    """Why issuing cannot use `credential` (the active one), for issuers; "" if it can."""
    if credential is None:
        return _("No Fourvenues credential is active, so comps cannot be issued. Ask an admin.")
    if credential.is_expired:
        return _(
            "The Fourvenues API key in use expired on %(date)s, so comps cannot be issued until "
            "an admin adds a new one."
        ) % {"date": date_format(credential.expires_on, "DATE_FORMAT")}
    return ""


def submit_issuance(
    *,
    idempotency_key: uuid.UUID,
    draft: IssuanceDraft,
    user: AbstractBaseUser,
    request: HttpRequest | None = None,
    cut_off_override_reason: str = "",
) -> tuple[Issuance, bool]:
    """Write the issuance and its lines, and queue the sending; the same key gives the same row.

    Returns the issuance and whether this call created it. Nothing is sent to Fourvenues here:
    the worker sends, after this transaction has committed. After the event's cut-off only a
    manager giving `cut_off_override_reason` may issue. Over an allowance, or over the size
    managers set, the lines wait for approval (nothing is queued) or, where approval is switched
    off, nothing is written.
    """
    if not draft.holders:
        raise IssuanceError(_("Add at least one ticket holder."))
    credential = credential_selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        raise IssuanceError(problem)
    catalogue = _load_catalogue(draft, credential)
    if draft.delivery_mode not in DeliveryMode.values:
        raise IssuanceError(_("Choose how the guests get their tickets."))
    # The review re-checks it; this is the guarantee (the credential may have changed since).
    if draft.delivery_mode == DeliveryMode.FOURVENUES and not credential.fourvenues_sends_tickets:
        raise IssuanceError(
            _("Fourvenues does not send this credential's tickets: choose another way.")
        )
    # A resubmit finds its issuance even once the cut-off has passed or the allowance is used.
    existing = _existing_issuance(idempotency_key, user)
    if existing is not None:
        return existing, False
    override_reason = _cut_off_override(catalogue.event, user, cut_off_override_reason)
    try:
        with transaction.atomic():
            grounds = _approval_grounds(catalogue, draft, user)
            # The allowances are locked now: a twin request that held them has committed.
            existing = _existing_issuance(idempotency_key, user)
            if existing is not None:
                return existing, False
            waits = bool(grounds)
            issuance = Issuance.objects.create(
                idempotency_key=idempotency_key,
                created_by=user,
                credential=credential,
                event=catalogue.event,
                rate=catalogue.rate,
                price_option=catalogue.price_option,
                channel=catalogue.channel,
                promoter=catalogue.promoter,
                sale_type=draft.sale_type,
                reason=catalogue.reason,
                note=draft.note,
                delivery_mode=draft.delivery_mode,
                cut_off_override_reason=override_reason,
                status=IssuanceStatus.AWAITING_APPROVAL if waits else IssuanceStatus.IN_PROGRESS,
            )
            IssuanceLine.objects.bulk_create(
                IssuanceLine(
                    issuance=issuance,
                    position=position,
                    full_name=holder.full_name,
                    email=holder.email,
                    phone=holder.phone,
                    gender=holder.gender,
                    birthday=holder.birthday,
                    address=holder.address,
                    country=holder.country,
                    postal_code=holder.postal_code,
                    document_type=holder.document_type,
                    document_number=holder.document_number,
                    document_digest=document_digest(holder.document_number),
                    supplements=[
                        {"supplement_id": s.supplement_id, "label": s.label, "price": str(s.price)}
                        for s in holder.supplements
                    ],
                    total_price=draft.total_price,
                    fee=draft.fee,
                    qr_code=new_qr_code(),
                    language=holder.language,
                    state=LineState.PENDING_APPROVAL if waits else LineState.PENDING,
                )
                for position, holder in enumerate(draft.holders, start=1)
            )
            audit.record(
                action="issuance.created",
                actor=user,
                target=issuance,
                data={
                    "event": catalogue.event.name,
                    "rate": catalogue.rate.name,
                    "holders": len(draft.holders),
                    "reason": catalogue.reason.label,
                    "credential": credential.name,
                },
                request=request,
            )
            if override_reason:
                audit.record(
                    action="issuance.cut_off_overridden",
                    actor=user,
                    target=issuance,
                    data={
                        "event": catalogue.event.name,
                        "cut_off": policies.effective_cut_off(catalogue.event).isoformat(),
                        "reason": override_reason,
                    },
                    request=request,
                )
            # The issuer's next form starts from these choices (with the issuance or not at all).
            remember_issuing_choices(issuance)
            if waits:
                # Sent once approved (services.approvals moves the lines on and queues them).
                ApprovalRequest.objects.create(issuance=issuance, grounds=grounds)
                audit.record(
                    action="approval.requested",
                    actor=user,
                    target=issuance,
                    data={"grounds": grounds, "holders": len(draft.holders)},
                    request=request,
                )
            else:
                # Enqueued inside the transaction: the task row commits with the ledger or not
                # at all.
                tasks.send_issuance.enqueue(issuance.pk)
    except IntegrityError:
        # The key was used already: a resubmit, or another request that won the race (two tabs,
        # a double click). Views look the key up first; this is the guarantee behind them.
        existing = _existing_issuance(idempotency_key, user)
        if existing is None:
            raise
        return existing, False
    return issuance, True


def _cut_off_override(event: Event, user: AbstractBaseUser, reason: str) -> str:
    """The reason stored when issuing after the event's cut-off ("" before it), or refuse."""
    if not policies.is_past_cut_off(event):
        return ""
    when = date_format(
        timezone.localtime(policies.effective_cut_off(event)), "SHORT_DATETIME_FORMAT"
    )
    if not user.has_perm(roles.MANAGE_ALLOWANCES):
        raise IssuanceError(
            _(
                "Issuing for %(event)s closed at %(when)s (its cut-off). Only a manager can "
                "issue after it, giving a reason."
            )
            % {"event": event.name, "when": when}
        )
    reason = " ".join(reason.split())
    if not reason:
        raise IssuanceError(
            _(
                "Issuing for %(event)s closed at %(when)s (its cut-off). To issue all the same, "
                "give the reason for the exception."
            )
            % {"event": event.name, "when": when}
        )
    if len(reason) > CUT_OFF_REASON_MAX_LENGTH:
        raise IssuanceError(
            _("Keep the reason for issuing after the cut-off under %(max)s characters.")
            % {"max": CUT_OFF_REASON_MAX_LENGTH}
        )
    return reason


CUT_OFF_REASON_MAX_LENGTH = Issuance._meta.get_field("cut_off_override_reason").max_length or 300


def _approval_grounds(
    catalogue: _Catalogue, draft: IssuanceDraft, user: AbstractBaseUser
) -> list[dict[str, object]]:
    """Why this issuance must wait for a manager ([] when it need not), or refuse it where
    approval is switched off. Locks the applicable allowances until the transaction ends."""
    holders = len(draft.holders)
    verdict = allowances.check_submission(
        user=user,
        event=catalogue.event,
        rate=catalogue.rate,
        promoter=catalogue.promoter,
        price=catalogue.price_option.price,
        holders=holders,
    )
    grounds: list[dict[str, object]] = list(verdict.over)
    size = policies.approval_over_size(catalogue.event)
    if size is not None and holders > size:
        grounds.append({"kind": "size", "size": size, "holders": holders})
    if not grounds or policies.approval_available(catalogue.event, user):
        return grounds
    if verdict.over:
        raise IssuanceError(
            _("This issuance is over an allowance, and approval is switched off for it: %(left)s")
            % {"left": allowances.describe_over(verdict.over)}
        )
    raise IssuanceError(
        _(
            "Issuances of more than %(size)s holders need a manager's approval, which is "
            "switched off here: issue at most %(size)s at once, or ask a manager."
        )
        % {"size": size}
    )


def _existing_issuance(key: uuid.UUID, user: AbstractBaseUser) -> Issuance | None:
    issuance = Issuance.objects.filter(idempotency_key=key).first()
    if issuance is not None and issuance.created_by_id != user.pk:
        raise IssuanceError(_("This form was already submitted by someone else."))
    return issuance


# --- What the issuer can do afterwards ---------------------------------------------------------


def retry_line(
    *, line: IssuanceLine, user: AbstractBaseUser, request: HttpRequest | None = None
) -> IssuanceLine:
    """Send a `failed` line again. Only failed lines: an unknown one may already exist.

    A failed line whose ticket is mirrored all the same (kept when it turned up while the line
    was between states) is confirmed instead: its ticket exists, and sending would be a second.
    """
    mirrored = (
        IssuedTicket.objects.filter(line=line, line__state=LineState.FAILED)
        .values_list("code", flat=True)
        .first()
    )
    if mirrored is not None:
        with transaction.atomic():
            confirmed = move(
                [line.pk],
                to=LineState.CONFIRMED,
                only_from=[LineState.FAILED],
                last_error="",
                failure_cause=FailureCause.NONE,
                settled_at=timezone.now(),
            )
            if confirmed:
                audit.record(
                    action="issuance.lines_confirmed",
                    actor=user,
                    target=line.issuance,
                    data={"lines": {str(line.position): mirrored}},
                    request=request,
                )
                refresh_status(line.issuance)
        line.refresh_from_db()
        raise IssuanceError(
            _(
                "%(name)s's ticket exists on Fourvenues already, so it was not sent again: it is "
                "now shown as issued."
            )
            % {"name": line.full_name}
        )
    with transaction.atomic():
        # Only a failed line: an unknown one may already exist on Fourvenues.
        updated = move(
            [line.pk],
            to=LineState.PENDING,
            only_from=[LineState.FAILED],
            last_error="",
            failure_cause=FailureCause.NONE,
            settled_at=None,
            batch_id=None,
        )
        if not updated:
            line.refresh_from_db()
            raise IssuanceError(
                _(
                    "%(name)s's ticket cannot be retried: it is %(state)s. Only failed tickets "
                    "can be sent again."
                )
                % {"name": line.full_name, "state": str(line.get_state_display()).lower()}
            )
        issuance = line.issuance
        Issuance.objects.filter(pk=issuance.pk).update(
            status=IssuanceStatus.IN_PROGRESS, completed_at=None
        )
        audit.record(
            action="issuance.line_retried",
            actor=user,
            target=issuance,
            data={"line": line.position},
            request=request,
        )
        tasks.send_issuance.enqueue(issuance.pk)
    line.refresh_from_db()
    return line


def resolve_now(
    *, issuance: Issuance, user: AbstractBaseUser, request: HttpRequest | None = None
) -> None:
    """Ask the resolver to check the issuance's unknown lines with Fourvenues right away."""
    with transaction.atomic():
        due = issuance.lines.filter(state=LineState.UNKNOWN).update(next_resolve_at=timezone.now())
        if not due:
            raise IssuanceError(_("No ticket of this issuance is waiting to be checked."))
        audit.record(
            action="issuance.resolve_requested",
            actor=user,
            target=issuance,
            data={"lines": due},
            request=request,
        )
        tasks.resolve_issuance.enqueue(issuance.pk)
