"""Withdrawing an issued comp: a call that changes Fourvenues, kept to the ledger's discipline.

A `Withdrawal` row is written and committed before anything is sent. Then, by the credential's
setting (`Credential.withdraw_through_api`):

* **api**: `pending`; the `withdraw_ticket` task claims it (`pending -> sending`, committed),
  calls `POST /tickets/refund/{id}` with amount 0 once, and settles it: `withdrawn` on success;
  `failed` on a definite refusal (after one look at the ticket, which may have been cancelled
  already); `unknown` when the call may or may not have been applied (a timeout, a reset, a 5xx,
  an unreadable answer), to be looked up, never sent again blindly; back to `pending` with
  backoff when the call provably never left (429, unreachable). An unknown withdrawal is settled
  by a lookup of the ticket: cancelled -> `withdrawn`, still valid -> `failed` (safe to try again).
* **dashboard**: `awaiting_dashboard`; the manager cancels the ticket in the Fourvenues
  dashboard, and reconciliation settles it `withdrawn` when the ticket comes back cancelled.

A confirmed withdrawal marks the ticket (`IssuedTicket.withdrawn_at`, status `cancelled`), fails
its ticket e-mails not yet sent, and, when Comps sends the issuance's e-mails, queues a notice to
the guest in the same transaction. A failed withdrawal is tried again only by a deliberate action
(`retry_withdrawal`). The scheduler turns a `sending` withdrawal whose worker died into `unknown`
(`reap_stale_withdrawals`) and queues the lost ones (`enqueue_lost_withdrawals`).
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from tickets import tasks
from tickets.fourvenues.endpoints import FourvenuesClient
from tickets.fourvenues.errors import (
    AuthenticationFailed,
    CredentialUnusable,
    FourvenuesError,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Unavailable,
)
from tickets.fourvenues.schemas import Ticket
from tickets.models import (
    Delivery,
    DeliveryChannel,
    DeliveryKind,
    DeliveryMode,
    DeliveryState,
    IssuedTicket,
    TicketChange,
    Withdrawal,
    WithdrawalMethod,
    WithdrawalState,
)
from tickets.selectors import withdrawals as withdrawal_selectors
from tickets.services import audit
from tickets.services.credentials import build_client
from tickets.services.deliveries.queueing import (
    current_address,
    enqueue_sending,
    guest_language,
    undeliverable,
)
from tickets.services.mirror import remote_state_fields

logger = logging.getLogger(__name__)

CANCELLED = "cancelled"
REFUND_AMOUNT = Decimal("0")
MAX_LOOKUP_DELAY = dt.timedelta(hours=1)
MIN_LOOKUP_DELAY = dt.timedelta(seconds=30)

# Stored in English (records, like the ledger's errors) and translated where pages show them.
WORKER_STOPPED = gettext_noop("The worker stopped while withdrawing; checking with Fourvenues.")
STILL_VALID = gettext_noop(
    "Fourvenues still has the ticket valid: the withdrawal did not go through. "
    "It is safe to try again."
)
NOT_ON_FOURVENUES = gettext_noop("Fourvenues has no such ticket, so there was nothing to withdraw.")
# On the ticket e-mails a withdrawal stops: stored in English, translated where pages show it.
NOT_SENT_WITHDRAWN = gettext_noop("Not sent: the comp was withdrawn.")


class WithdrawalError(Exception):
    """A withdrawal staff asked for cannot be done; the message says why, for them."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- What staff do ------------------------------------------------------------------------------


def request_withdrawal(
    *,
    ticket: IssuedTicket,
    user: AbstractBaseUser,
    reason: str,
    request: HttpRequest | None = None,
) -> Withdrawal:
    """Record the request to withdraw `ticket` (committed before any call), and set it going:
    queued for the API, or waiting for the manager to act in the Fourvenues dashboard."""
    reason = _clean_reason(reason)
    refusal = withdrawal_selectors.refusal(ticket, user)
    if refusal is not None:
        raise WithdrawalError(refusal)
    issuance = ticket.line.issuance  # refusal() made sure there is one
    credential = issuance.credential
    method = WithdrawalMethod.API if credential.withdraw_through_api else WithdrawalMethod.DASHBOARD
    try:
        with transaction.atomic():
            withdrawal = Withdrawal.objects.create(
                ticket=ticket,
                credential=credential,
                method=method,
                state=_first_state(method),
                reason=reason,
                requested_by=user,
            )
            audit.record(
                action="withdrawal.requested",
                actor=user,
                target=ticket,
                data=_audit_data(withdrawal),
                request=request,
            )
            _set_going(withdrawal)
    except IntegrityError:  # another request for this ticket got there first
        raise WithdrawalError(_("This comp is already being withdrawn.")) from None
    return withdrawal


def retry_withdrawal(
    *, withdrawal: Withdrawal, user: AbstractBaseUser, request: HttpRequest | None = None
) -> Withdrawal:
    """Try a failed withdrawal again: deliberate, audited, by the credential's setting now."""
    refusal = withdrawal_selectors.retry_refusal(withdrawal, user)
    if refusal is not None:
        raise WithdrawalError(refusal)
    credential = withdrawal.ticket.line.issuance.credential
    method = WithdrawalMethod.API if credential.withdraw_through_api else WithdrawalMethod.DASHBOARD
    with transaction.atomic():
        moved = Withdrawal.objects.filter(pk=withdrawal.pk, state=WithdrawalState.FAILED).update(
            state=_first_state(method),
            method=method,
            credential=credential,
            attempts=0,
            last_error="",
            next_check_at=None,
            settled_at=None,
        )
        if not moved:
            raise WithdrawalError(_("This withdrawal is no longer failed: reload the page."))
        withdrawal.refresh_from_db()
        audit.record(
            action="withdrawal.retried",
            actor=user,
            target=withdrawal.ticket,
            data=_audit_data(withdrawal),
            request=request,
        )
        _set_going(withdrawal)
    return withdrawal


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise WithdrawalError(_("Say why the comp is withdrawn."))
    max_length = Withdrawal._meta.get_field("reason").max_length or 300
    if len(reason) > max_length:
        raise WithdrawalError(
            _("Keep the reason under %(count)s characters.") % {"count": max_length}
        )
    return reason


def _first_state(method: str) -> str:
    if method == WithdrawalMethod.API:
        return WithdrawalState.PENDING
    return WithdrawalState.AWAITING_DASHBOARD


@transaction.atomic(savepoint=False)
def _set_going(withdrawal: Withdrawal) -> None:
    """In the request's transaction: a ticket Fourvenues already shows cancelled is withdrawn at
    once (nothing to call); else the task is queued (api) or the manager acts (dashboard)."""
    ticket = withdrawal.ticket
    if ticket.status == CANCELLED or CANCELLED in (ticket.statuses or []):
        _confirm(withdrawal, how="mirror")
        return
    if withdrawal.method == WithdrawalMethod.API:
        tasks.withdraw_ticket.enqueue(withdrawal.pk)


def _audit_data(withdrawal: Withdrawal, **extra: object) -> dict[str, object]:
    # No personal data: the ticket's code and ids, the method, the reason staff wrote.
    return {
        "withdrawal": withdrawal.pk,
        "code": withdrawal.ticket.code,
        "method": withdrawal.method,
        "reason": withdrawal.reason,
        **extra,
    }


# --- The worker -----------------------------------------------------------------------------------


def process_withdrawal(*, withdrawal_id: int) -> None:
    """The `withdraw_ticket` task: send a pending withdrawal, or look up an unknown one, when
    due. Safe to run twice: the claim takes a pending withdrawal once, and a lookup only settles
    one still unknown."""
    withdrawal = (
        Withdrawal.objects.select_related("ticket__line__issuance", "credential")
        .filter(pk=withdrawal_id)
        .first()
    )
    if withdrawal is None:
        return
    now = timezone.now()
    if withdrawal.next_check_at is not None and withdrawal.next_check_at > now:
        return  # a task queued for later covers it
    if withdrawal.state == WithdrawalState.PENDING:
        if _claim(withdrawal):
            _send(withdrawal)
    elif withdrawal.state == WithdrawalState.UNKNOWN:
        look_up(withdrawal)


def _claim(withdrawal: Withdrawal) -> bool:
    """`pending -> sending`, committed before the call (one UPDATE, its own transaction)."""
    now = timezone.now()
    claimed = Withdrawal.objects.filter(
        Q(next_check_at__isnull=True) | Q(next_check_at__lte=now),
        pk=withdrawal.pk,
        state=WithdrawalState.PENDING,
    ).update(
        state=WithdrawalState.SENDING,
        sent_at=now,
        attempts=F("attempts") + 1,
        last_error="",
        next_check_at=None,
    )
    if claimed:
        withdrawal.state = WithdrawalState.SENDING
        withdrawal.sent_at = now
        withdrawal.attempts += 1
    return claimed == 1


def _send(withdrawal: Withdrawal) -> None:
    """The one call, and its settling; nothing here sends it again."""
    with build_client(withdrawal.credential) as client:
        try:
            client.refund_ticket(withdrawal.ticket.remote_id, amount=REFUND_AMOUNT)
        except OutcomeUnknown as exc:
            _mark_unknown(withdrawal, reason=exc.message, from_state=WithdrawalState.SENDING)
        except (AuthenticationFailed, PermissionDenied, CredentialUnusable) as exc:
            # Refused before anything was done (CredentialUnusable before it was even sent).
            _mark_failed(withdrawal, reason=exc.message, from_state=WithdrawalState.SENDING)
        except (RateLimited, Unavailable) as exc:
            _requeue(withdrawal, error=exc)
        except FourvenuesError as exc:  # Rejected, Refused, NotFound: this call changed nothing
            _settle_refusal(withdrawal, exc, client)
        except Exception as exc:
            # A bug of ours while the call was in flight: it may have been applied. Looked up.
            logger.exception("Withdrawal %s: unexpected failure", withdrawal.pk)
            reason = f"An unexpected error ({type(exc).__name__}) while withdrawing."
            _mark_unknown(withdrawal, reason=reason, from_state=WithdrawalState.SENDING)
        else:
            with transaction.atomic():
                if _move(withdrawal, WithdrawalState.SENDING):
                    _confirm(withdrawal, how="answer")


def _settle_refusal(
    withdrawal: Withdrawal, error: FourvenuesError, client: FourvenuesClient
) -> None:
    """Fourvenues refused the refund, so this call did nothing; but the ticket may be cancelled
    already (in the dashboard, by an earlier call): one look tells which, so the withdrawal says
    the truth. A look that fails leaves the refusal's word."""
    try:
        remote = client.get_ticket(withdrawal.ticket.remote_id)
    except FourvenuesError:
        remote = None
    if remote is not None and _is_cancelled(remote):
        with transaction.atomic():
            if _move(withdrawal, WithdrawalState.SENDING):
                _confirm(withdrawal, how="lookup", remote=remote)
        return
    _mark_failed(withdrawal, reason=error.message, from_state=WithdrawalState.SENDING)


def look_up(withdrawal: Withdrawal) -> None:
    """Settle an unknown withdrawal by the ticket as Fourvenues has it now (a GET, safe)."""
    try:
        with build_client(withdrawal.credential) as client:
            remote = client.get_ticket(withdrawal.ticket.remote_id)
    except NotFound:
        _mark_failed(withdrawal, reason=NOT_ON_FOURVENUES, from_state=WithdrawalState.UNKNOWN)
        return
    except FourvenuesError as exc:
        _look_again_later(withdrawal, reason=exc.message)
        return
    if _is_cancelled(remote):
        with transaction.atomic():
            if _move(withdrawal, WithdrawalState.UNKNOWN):
                _confirm(withdrawal, how="lookup", remote=remote)
        return
    _mark_failed(withdrawal, reason=STILL_VALID, from_state=WithdrawalState.UNKNOWN)


def _is_cancelled(ticket: Ticket) -> bool:
    return CANCELLED in ticket.statuses


def _move(withdrawal: Withdrawal, from_state: str, **fields: object) -> bool:
    """Move on only from the state this settling started from: whoever settled it first wins."""
    return bool(
        Withdrawal.objects.filter(pk=withdrawal.pk, state=from_state).update(
            state=fields.pop("state", WithdrawalState.WITHDRAWN), **fields
        )
    )


def _mark_unknown(withdrawal: Withdrawal, *, reason: str, from_state: str) -> None:
    when = timezone.now() + dt.timedelta(seconds=settings.FOURVENUES_RESOLVE_DELAY_SECONDS)
    with transaction.atomic():
        if not _move(
            withdrawal,
            from_state,
            state=WithdrawalState.UNKNOWN,
            last_error=reason[:500],
            next_check_at=when,
        ):
            return
        withdrawal.state = WithdrawalState.UNKNOWN
        audit.record(
            action="withdrawal.unknown",
            target=withdrawal.ticket,
            data=_audit_data(withdrawal, error=reason[:300]),
        )
        tasks.withdraw_ticket.using(run_after=when).enqueue(withdrawal.pk)


def _look_again_later(withdrawal: Withdrawal, *, reason: str) -> None:
    """Fourvenues could not be asked: keep it unknown and ask again, backing off (half the time
    it has been unknown, between 30 s and an hour), never giving up on the truth."""
    now = timezone.now()
    waited = now - (withdrawal.sent_at or now)
    delay = min(MAX_LOOKUP_DELAY, max(MIN_LOOKUP_DELAY, waited / 2))
    with transaction.atomic():
        if Withdrawal.objects.filter(pk=withdrawal.pk, state=WithdrawalState.UNKNOWN).update(
            last_error=reason[:500], next_check_at=now + delay
        ):
            tasks.withdraw_ticket.using(run_after=now + delay).enqueue(withdrawal.pk)


def _mark_failed(withdrawal: Withdrawal, *, reason: str, from_state: str) -> None:
    with transaction.atomic():
        if not _move(
            withdrawal,
            from_state,
            state=WithdrawalState.FAILED,
            last_error=reason[:500],
            next_check_at=None,
            settled_at=timezone.now(),
        ):
            return
        withdrawal.state = WithdrawalState.FAILED
        audit.record(
            action="withdrawal.failed",
            target=withdrawal.ticket,
            data=_audit_data(withdrawal, error=reason[:300]),
        )


def _requeue(withdrawal: Withdrawal, *, error: FourvenuesError) -> None:
    """Provably not sent (429, unreachable): back to the queue with backoff; after the send
    attempts allowed, failed, with nothing withdrawn and safe to try again."""
    attempts = withdrawal.attempts
    if attempts >= settings.FOURVENUES_SEND_ATTEMPTS:
        reason = f"{error.message} (gave up after {attempts} attempts)"
        _mark_failed(withdrawal, reason=reason, from_state=WithdrawalState.SENDING)
        return
    delay = min(300.0, 5.0 * 3 ** (attempts - 1))
    if error.retry_after is not None:
        delay = max(delay, min(error.retry_after, 300.0))
    when = timezone.now() + dt.timedelta(seconds=delay)
    with transaction.atomic():
        if _move(
            withdrawal,
            WithdrawalState.SENDING,
            state=WithdrawalState.PENDING,
            last_error=error.message[:500],
            next_check_at=when,
        ):
            tasks.withdraw_ticket.using(run_after=when).enqueue(withdrawal.pk)


# --- Confirmed ------------------------------------------------------------------------------------


@transaction.atomic(savepoint=False)
def _confirm(withdrawal: Withdrawal, *, how: str, remote: Ticket | None = None) -> None:
    """The withdrawal is true (the caller moved its state): mark the ticket withdrawn and
    cancelled, stop its e-mails, tell the guest, audit. In the caller's transaction."""
    now = timezone.now()
    Withdrawal.objects.filter(pk=withdrawal.pk).update(
        state=WithdrawalState.WITHDRAWN, settled_at=now, last_error="", next_check_at=None
    )
    withdrawal.state = WithdrawalState.WITHDRAWN
    ticket = IssuedTicket.objects.select_for_update().get(pk=withdrawal.ticket_id)
    state: dict[str, object] = (
        remote_state_fields(remote)
        if remote is not None
        else {"status": CANCELLED, "statuses": [CANCELLED], "is_valid": False}
    )
    if ticket.status != state["status"]:
        TicketChange.objects.create(
            ticket=ticket, field="status", old=ticket.status, new=str(state["status"]), at=now
        )
    IssuedTicket.objects.filter(pk=ticket.pk).update(withdrawn_at=now, updated_at=now, **state)
    withdrawal.ticket.withdrawn_at = now
    Delivery.objects.filter(
        ticket_id=ticket.pk, kind=DeliveryKind.TICKET, state=DeliveryState.QUEUED
    ).update(state=DeliveryState.FAILED, last_error=NOT_SENT_WITHDRAWN)
    _queue_notice(ticket)
    audit.record(
        action="withdrawal.confirmed",
        target=ticket,
        data=_audit_data(withdrawal, how=how),
    )


def _queue_notice(ticket: IssuedTicket) -> None:
    """When Comps e-mails this issuance's guests: tell this one the comp was withdrawn, at the
    address their ticket went to."""
    line = ticket.line
    if line is None or line.issuance.delivery_mode != DeliveryMode.COMPS:
        return
    recipient = current_address(line)
    if undeliverable(recipient):
        return
    Delivery.objects.bulk_create(
        [
            Delivery(
                ticket=ticket,
                channel=DeliveryChannel.EMAIL,
                kind=DeliveryKind.WITHDRAWN,
                recipient=recipient,
                language=guest_language(line),
            )
        ],
        ignore_conflicts=True,  # one automatic notice per ticket, whichever path confirms it
    )
    enqueue_sending()


def settle_cancelled_tickets(*, ticket_ids: list[int]) -> int:
    """Reconciliation saw these mirrored tickets come back cancelled: each withdrawal of theirs
    not yet settled withdrawn is (a dashboard withdrawal done, an unknown one answered). In the
    caller's transaction; returns how many."""
    if not ticket_ids:
        return 0
    settled = 0
    with transaction.atomic(savepoint=False):
        open_ones = Withdrawal.objects.select_related("ticket__line__issuance").filter(
            ticket_id__in=ticket_ids
        )
        for withdrawal in open_ones.exclude(state=WithdrawalState.WITHDRAWN):
            if _move(withdrawal, withdrawal.state):
                _confirm(withdrawal, how="reconciliation")
                settled += 1
    return settled


# --- The scheduler --------------------------------------------------------------------------------


def reap_stale_withdrawals(*, now: dt.datetime) -> int:
    """A withdrawal `sending` longer than any call lasts may have been sent by a worker that
    then died: it is unknown and looked up, never put back to pending."""
    longest_call = settings.FOURVENUES_CONNECT_TIMEOUT + settings.FOURVENUES_READ_TIMEOUT + 60
    cutoff = now - dt.timedelta(seconds=longest_call)
    stale = list(
        Withdrawal.objects.select_related("ticket").filter(
            state=WithdrawalState.SENDING, sent_at__lt=cutoff
        )
    )
    for withdrawal in stale:
        with transaction.atomic():
            if Withdrawal.objects.filter(pk=withdrawal.pk, state=WithdrawalState.SENDING).update(
                state=WithdrawalState.UNKNOWN, last_error=WORKER_STOPPED, next_check_at=now
            ):
                audit.record(
                    action="withdrawal.unknown",
                    target=withdrawal.ticket,
                    data=_audit_data(withdrawal, error=WORKER_STOPPED),
                )
    return len(stale)


def enqueue_lost_withdrawals(*, now: dt.datetime) -> int:
    """Queue the task for due pending and unknown withdrawals that no task covers."""
    due = Withdrawal.objects.filter(
        Q(next_check_at__isnull=True) | Q(next_check_at__lte=now),
        state__in=[WithdrawalState.PENDING, WithdrawalState.UNKNOWN],
    )
    path = f"{tasks.withdraw_ticket.func.__module__}.{tasks.withdraw_ticket.func.__name__}"
    enqueued = 0
    for withdrawal_id in due.values_list("pk", flat=True):
        queued = DBTaskResult.objects.filter(
            status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING],
            task_path=path,
            args_kwargs={"args": [withdrawal_id], "kwargs": {}},
        ).exists()
        if not queued:
            tasks.withdraw_ticket.enqueue(withdrawal_id)
            enqueued += 1
    return enqueued
