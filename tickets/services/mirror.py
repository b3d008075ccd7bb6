"""The local mirror of remote tickets: one `IssuedTicket` per Fourvenues ticket, never two."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from tickets.fourvenues.schemas import Ticket
from tickets.models import Event, IssuanceLine, IssuedTicket, TicketSupplement
from tickets.redaction import mask_document
from tickets.text import search_text

# The keys under which a Fourvenues ticket carries a holder's document number
# (`personal_document_number`, echoed back from our create; any key naming one, at any depth).
_DOCUMENT_KEY = re.compile(r"document_number", re.IGNORECASE)


def raw_without_documents(data: Any) -> Any:
    """A copy of a ticket's raw JSON with every document number masked as staff see it: the
    mirror keeps Fourvenues' answer, but never a full document number in clear (the number
    itself is kept once, encrypted, on the ledger line). Masking a masked value changes nothing,
    so re-mirroring and the 0019 repair are idempotent."""
    if isinstance(data, Mapping):
        return {
            key: (
                mask_document(str(value))
                if _DOCUMENT_KEY.search(str(key)) and value not in (None, "")
                else raw_without_documents(value)
            )
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [raw_without_documents(item) for item in data]
    return data


def remote_state_fields(ticket: Ticket) -> dict[str, object]:
    """What Fourvenues changes after issuing (the door, refunds, cancellations): reconciliation
    copies these into the mirror and records each change."""
    return {
        "status": ticket.statuses[0] if ticket.statuses else "",
        "statuses": list(ticket.statuses),
        "is_valid": ticket.is_valid,
        "admits": ticket.admits,
        "entered": ticket.entered,
        "entry_date": ticket.entry_date,
        "refunded": ticket.refunded,
        "total_paid": ticket.total_paid,
    }


def holder_fields(ticket: Ticket) -> dict[str, object]:
    """Who the ticket is for: a difference here is drift, for a manager to look at."""
    return {"name": ticket.name or "", "email": ticket.email or "", "phone": ticket.phone or ""}


def _mirror_fields(ticket: Ticket) -> dict[str, object]:
    return {
        **remote_state_fields(ticket),
        **holder_fields(ticket),
        "event_remote_id": ticket.event_id or "",
        "code": ticket.code or "",
        "qr_code": ticket.qr_code or "",
        "activation_date": ticket.activation_date,
        "event_night": ticket.event_date,
        "rate_remote_id": ticket.rate_id or "",
        "rate_name": ticket.rate_name or "",
        "price_option_remote_id": ticket.price_id or "",
        "price": ticket.price,
        "channel_remote_id": ticket.channel_id or "",
        "referral_remote_id": ticket.referral_id or "",
        "payment_id": ticket.payment_id or "",
        "sale_type": ticket.sale_type or "",
        "gender": ticket.gender or "",
        "address": ticket.address or "",
        "postal_code": ticket.postal_code or "",
        "country": ticket.country or "",
        "language": ticket.language or "",
        "total_extras": ticket.total_extras,
        "total_fees": ticket.total_fees,
        "invoice_reference": ticket.invoice_reference or "",
        "remote_created_at": ticket.created_at,
        "remote_updated_at": ticket.updated_at,
        "raw": raw_without_documents(ticket.raw),
        "search_text": search_text(
            ticket.name,
            ticket.email,
            ticket.code,
            ticket.qr_code,
            ticket.payment_id,
            ticket.id,
            phone=ticket.phone,
        ),
    }


def mirror_ticket(
    *,
    ticket: Ticket,
    environment: str,
    line: IssuanceLine | None = None,
    event: Event | None = None,
) -> IssuedTicket:
    """Create or update the mirror of one remote ticket (see `mirror_tickets`)."""
    (mirrored,) = mirror_tickets(pairs=[(ticket, line)], environment=environment, event=event)
    return mirrored


@transaction.atomic(savepoint=False)  # part of the caller's transaction when there is one
def mirror_tickets(
    *,
    pairs: list[tuple[Ticket, IssuanceLine | None]],
    environment: str,
    event: Event | None = None,
    issued_at: dt.datetime | None = None,
    just_created: bool = False,
) -> list[IssuedTicket]:
    """Create or update the mirrors of remote tickets, each linked to the ledger line that issued
    it (or to none, for a ticket adopted without one). A constant number of queries however many
    tickets: new tickets, the common case, are inserted in bulk.

    `issued_at` is when Comps issued them (their issuance's creation); a ticket issued elsewhere
    counts from its remote creation.

    A ticket already mirrored for another line is never re-linked: that would hide a duplicate.

    `just_created`: the tickets come from the answer to our own create, so none can be mirrored
    yet and the lookup is skipped. Were one mirrored all the same (adopted in the milliseconds
    between the answer and this insert), the unique constraint refuses the insert and the whole
    transaction, and the line, still `sending`, is settled by the resolver.
    """
    existing = (
        {}
        if just_created
        else {
            mirrored.remote_id: mirrored
            for mirrored in IssuedTicket.objects.select_for_update().filter(
                environment=environment, remote_id__in=[ticket.id for ticket, _ in pairs]
            )
        }
    )
    events = _events_by_remote_id(
        environment, {t.event_id for t, _ in pairs if t.event_id}, known=event
    )
    now = timezone.now()
    created: list[IssuedTicket] = []
    result: list[IssuedTicket] = []
    for ticket, line in pairs:
        fields = {**_mirror_fields(ticket), "event": events.get(ticket.event_id or "")}
        mirrored = existing.get(ticket.id)
        if mirrored is None:
            mirrored = IssuedTicket(
                environment=environment,
                remote_id=ticket.id,
                line=line,
                issued_at=issued_at or ticket.created_at or now,
                **fields,
            )
            created.append(mirrored)
        else:
            if line is not None and mirrored.line_id not in (None, line.pk):
                raise TicketAlreadyMirrored(
                    f"Ticket {ticket.id} is already recorded for another holder."
                )
            for name, value in fields.items():
                setattr(mirrored, name, value)
            if line is not None:
                mirrored.line = line
            if issued_at is not None or mirrored.issued_at is None:
                mirrored.issued_at = issued_at or ticket.created_at or now
            mirrored.save()
            mirrored.supplements.all().delete()
        result.append(mirrored)
    IssuedTicket.objects.bulk_create(created)
    TicketSupplement.objects.bulk_create(
        TicketSupplement(
            ticket=mirrored,
            remote_id=supplement.id or "",
            label=supplement.label or "",
            price=supplement.price,
            product_quantity=supplement.product_quantity,
            product_quantity_used=supplement.product_quantity_used,
            raw=raw_without_documents(supplement.raw),
        )
        for (ticket, _), mirrored in zip(pairs, result, strict=True)
        for supplement in ticket.supplements
    )
    return result


def _events_by_remote_id(
    environment: str, remote_ids: set[str], *, known: Event | None
) -> dict[str, Event]:
    events = {known.remote_id: known} if known is not None else {}
    missing = remote_ids - set(events)
    if missing:
        events.update(
            (e.remote_id, e)
            for e in Event.objects.filter(environment=environment, remote_id__in=missing)
        )
    return events


class TicketAlreadyMirrored(Exception):
    pass
