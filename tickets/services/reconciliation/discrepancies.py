"""What a manager does with a difference a run found: acknowledge it (known and accepted,
with the reason why), adopt a ticket unknown here into the local records, or ask Fourvenues
again and resolve it if it no longer holds. Every action is audited.
"""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.fourvenues.errors import FourvenuesError, NotFound
from tickets.fourvenues.schemas import Ticket
from tickets.models import Discrepancy, DiscrepancyKind, DiscrepancyState, IssuedTicket
from tickets.selectors import credentials as credential_selectors
from tickets.services import audit
from tickets.services.credentials import build_client
from tickets.services.mirror import holder_fields, mirror_tickets
from tickets.services.reconciliation.compare import snapshot
from tickets.services.reconciliation.errors import ReconciliationError


def acknowledge(
    *,
    discrepancy_ids: list[int],
    reason: str,
    actor: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> int:
    """Close open discrepancies as known and accepted, with the reason why. Returns how many."""
    reason = reason.strip()
    if not reason:
        raise ReconciliationError(_("Say why these differences are acceptable."))
    now = timezone.now()
    with transaction.atomic():
        rows = list(
            Discrepancy.objects.select_for_update().filter(
                pk__in=discrepancy_ids, state=DiscrepancyState.OPEN
            )
        )
        if not rows:
            raise ReconciliationError(_("None of the selected differences is still open."))
        Discrepancy.objects.filter(pk__in=[row.pk for row in rows]).update(
            state=DiscrepancyState.ACKNOWLEDGED,
            settled_by=actor if actor.is_authenticated else None,
            settled_at=now,
            reason=reason[:500],
        )
        for row in rows:
            audit.record(
                action="discrepancy.acknowledged",
                actor=actor,
                target=_target(row),
                data={"kind": row.kind, "remote_id": row.remote_id, "reason": reason[:500]},
                request=request,
            )
    return len(rows)


def adopt(
    *,
    discrepancy_id: int,
    actor: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> IssuedTicket:
    """Take a ticket Fourvenues holds and Comps does not into the local records, linked to no
    issuance and marked as adopted. It is read again from Fourvenues first."""
    row = _open(discrepancy_id)
    if row.kind != DiscrepancyKind.UNKNOWN_LOCALLY:
        raise ReconciliationError(_("Only a ticket unknown here can be adopted."))
    ticket = _fetch(row)
    if ticket is None:
        raise ReconciliationError(_("Fourvenues no longer has this ticket; re-check it instead."))
    now = timezone.now()
    with transaction.atomic():
        row = _open(discrepancy_id, lock=True)
        (mirrored,) = mirror_tickets(
            pairs=[(ticket, None)], environment=row.environment, event=row.event
        )
        IssuedTicket.objects.filter(pk=mirrored.pk).update(adopted_at=now)
        mirrored.adopted_at = now
        _settle(row, DiscrepancyState.ADOPTED, actor=actor, now=now, ticket=mirrored)
        audit.record(
            action="discrepancy.adopted",
            actor=actor,
            target=_target(row),
            data={"remote_id": row.remote_id, "code": ticket.code, "ticket": mirrored.pk},
            request=request,
        )
    return mirrored


def recheck(
    *,
    discrepancy_id: int,
    actor: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> Discrepancy:
    """Ask Fourvenues about one ticket again; resolve the discrepancy if it no longer holds."""
    row = _open(discrepancy_id)
    ticket = _fetch(row)
    mirrored = IssuedTicket.objects.filter(
        environment=row.environment, remote_id=row.remote_id
    ).first()
    if row.kind == DiscrepancyKind.MISSING_REMOTELY:
        still = ticket is None
    elif row.kind == DiscrepancyKind.UNKNOWN_LOCALLY:
        still = ticket is not None and mirrored is None
    else:
        still = (
            ticket is not None
            and mirrored is not None
            and any(getattr(mirrored, n) != v for n, v in holder_fields(ticket).items())
        )
    now = timezone.now()
    with transaction.atomic():
        row = _open(discrepancy_id, lock=True)
        if still:
            row.last_seen_at = now
            if ticket is not None:
                row.remote_snapshot = snapshot(ticket)
            row.save(update_fields=["last_seen_at", "remote_snapshot"])
        else:
            _settle(row, DiscrepancyState.RESOLVED, actor=actor, now=now)
        audit.record(
            action="discrepancy.rechecked",
            actor=actor,
            target=_target(row),
            data={"kind": row.kind, "remote_id": row.remote_id, "still_differs": still},
            request=request,
        )
    return row


def _open(discrepancy_id: int, *, lock: bool = False) -> Discrepancy:
    rows = Discrepancy.objects.select_related("event", "run__credential")
    if lock:
        rows = rows.select_for_update(of=("self",))
    row = rows.filter(pk=discrepancy_id).first()
    if row is None:
        raise ReconciliationError(_("No such difference."))
    if row.state != DiscrepancyState.OPEN:
        raise ReconciliationError(
            _("This difference is already %(state)s.")
            % {"state": str(row.get_state_display()).lower()}
        )
    return row


def _fetch(row: Discrepancy) -> Ticket | None:
    """The ticket as Fourvenues holds it now, or None if it has none. Staff-readable errors."""
    credential = (
        credential_selectors.active_credential(environment=row.environment) or row.run.credential
    )
    client = build_client(credential)
    try:
        return client.get_ticket(row.remote_id)
    except NotFound:
        return None
    except FourvenuesError as exc:
        raise ReconciliationError(
            _("Fourvenues could not be asked: %(error)s") % {"error": exc.message}
        ) from None
    finally:
        client.close()


def _settle(
    row: Discrepancy,
    state: str,
    *,
    actor: AbstractBaseUser | AnonymousUser,
    now: dt.datetime,
    ticket: IssuedTicket | None = None,
) -> None:
    row.state = state
    row.settled_by = actor if actor.is_authenticated else None
    row.settled_at = now
    fields = ["state", "settled_by", "settled_at"]
    if ticket is not None:
        row.ticket = ticket
        fields.append("ticket")
    row.save(update_fields=fields)


def _target(row: Discrepancy) -> audit.Ref | Discrepancy:
    """The ticket a difference is about, so that it shows in the ticket's history; else itself."""
    return audit.Ref(IssuedTicket, row.ticket_id) if row.ticket_id else row
