"""Issuing comps: the ledger is written before any call, and a create is never sent twice.

The flow (design.md, "The one rule that shapes everything"):

1. `submit_issuance` turns a reviewed draft into an `Issuance` with one `IssuanceLine` per holder,
   keyed by the idempotency key minted when the form was first rendered, and enqueues the
   sending task in the same transaction. A second submit with the same key finds the same row.
2. `send_pending_lines` (run by the worker) claims lines in chunks, marks them `sending`, commits,
   and only then calls Fourvenues. The answer settles each line: `confirmed` (ticket mirrored),
   `failed` (refused: safe to retry) or `unknown` (may exist remotely: the resolver decides).
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from tickets import selectors, tasks
from tickets.fourvenues.client import FourvenuesClient
from tickets.fourvenues.errors import (
    AuthenticationFailed,
    FourvenuesError,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Unavailable,
)
from tickets.fourvenues.schemas import CreateTicketsRequest, NewTicket, SupplementChoice, Ticket
from tickets.models import (
    Channel,
    Credential,
    Event,
    Issuance,
    IssuanceLine,
    IssuanceStatus,
    LineState,
    PriceOption,
    Promoter,
    Rate,
    Reason,
)
from tickets.services import audit
from tickets.services.credentials import build_client, mark_used
from tickets.services.mirror import mirror_tickets
from tickets.text import document_digest, fold

# Remote and local clocks differ; look a little before the moment we sent.
LOOKUP_MARGIN = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class SupplementLine:
    supplement_id: str
    label: str
    price: Decimal


@dataclass(frozen=True)
class HolderData:
    """One ticket holder, already validated and normalised (email lowercased, phone E.164)."""

    full_name: str
    email: str
    phone: str = ""
    gender: str = ""
    birthday: dt.date | None = None
    address: str = ""
    country: str = ""  # ISO 3166-1 alpha-2
    postal_code: str = ""
    document_type: str = ""
    document_number: str = ""
    supplements: tuple[SupplementLine, ...] = ()


@dataclass(frozen=True)
class IssuanceDraft:
    """What the issuer asked for, between the form and the confirm button (kept in the session).

    Ids are local primary keys of the catalogue mirror and of `Reason`.
    """

    event_id: int
    rate_id: int
    price_option_id: int
    reason_id: int
    sale_type: str
    holders: tuple[HolderData, ...]
    channel_id: int | None = None
    promoter_id: int | None = None
    note: str = ""
    total_price: Decimal = Decimal("0")
    fee: Decimal = Decimal("0")
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_session(self) -> dict[str, Any]:
        """A JSON-safe dict (the session serialiser is JSON)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> IssuanceDraft:
        holders = tuple(
            HolderData(
                **{
                    **holder,
                    "birthday": dt.date.fromisoformat(holder["birthday"])
                    if holder.get("birthday")
                    else None,
                    "supplements": tuple(
                        SupplementLine(
                            supplement_id=s["supplement_id"],
                            label=s["label"],
                            price=Decimal(s["price"]),
                        )
                        for s in holder.get("supplements", ())
                    ),
                }
            )
            for holder in data["holders"]
        )
        return cls(
            **{
                **data,
                "holders": holders,
                "total_price": Decimal(data.get("total_price", "0")),
                "fee": Decimal(data.get("fee", "0")),
                "warnings": tuple(data.get("warnings", ())),
            }
        )


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
            "The event, rate, price option or attribution chosen no longer matches the "
            "catalogue. Please fill in the form again."
        ) from exc
    if channel is not None and promoter is not None:
        raise IssuanceError("Attribute comps to a channel or to a promoter, never both.")
    rate = price_option.rate
    event = rate.event
    if event.night < timezone.localdate():
        raise IssuanceError(f"{event.name} has already taken place.")
    return _Catalogue(event, rate, price_option, reason, channel, promoter)


def credential_problem(credential: Credential | None) -> str:
    """Why issuing cannot use `credential` (the active one), for issuers; "" if it can."""
    if credential is None:
        return "No Fourvenues credential is active, so comps cannot be issued. Ask an admin."
    if credential.is_expired:
        return (
            f"The Fourvenues API key in use expired on {credential.expires_on:%d %b %Y}, so "
            "comps cannot be issued until an admin adds a new one."
        )
    return ""


def submit_issuance(
    *,
    idempotency_key: uuid.UUID,
    draft: IssuanceDraft,
    user: AbstractBaseUser,
    request: HttpRequest | None = None,
) -> tuple[Issuance, bool]:
    """Write the issuance and its lines, and queue the sending; the same key gives the same row.

    Returns the issuance and whether this call created it. Nothing is sent to Fourvenues here:
    the worker sends, after this transaction has committed.
    """
    if not draft.holders:
        raise IssuanceError("Add at least one ticket holder.")
    credential = selectors.active_credential()
    problem = credential_problem(credential)
    if problem or credential is None:
        raise IssuanceError(problem)
    catalogue = _load_catalogue(draft, credential)
    try:
        with transaction.atomic():
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
                status=IssuanceStatus.IN_PROGRESS,
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
                    state=LineState.PENDING,
                )
                for position, holder in enumerate(draft.holders, start=1)
            )
            audit.record(
                action="issuance.created",
                actor=user,
                target=f"issuance:{issuance.pk}",
                data={
                    "event": catalogue.event.name,
                    "rate": catalogue.rate.name,
                    "holders": len(draft.holders),
                    "reason": catalogue.reason.label,
                    "credential": credential.name,
                },
                request=request,
            )
            # Enqueued inside the transaction: the task row commits with the ledger or not at all.
            tasks.send_issuance.enqueue(issuance.pk)
    except IntegrityError:
        # The key was used already: a resubmit, or another request that won the race (two tabs,
        # a double click). Views look the key up first; this is the guarantee behind them.
        existing = _existing_issuance(idempotency_key, user)
        if existing is None:
            raise
        return existing, False
    return issuance, True


def _existing_issuance(key: uuid.UUID, user: AbstractBaseUser) -> Issuance | None:
    issuance = Issuance.objects.filter(idempotency_key=key).first()
    if issuance is not None and issuance.created_by_id != user.pk:
        raise IssuanceError("This form was already submitted by someone else.")
    return issuance


# --- Sending (runs in the worker) --------------------------------------------------------------


def send_pending_lines(*, issuance_id: int) -> None:
    """Send every `pending` line of the issuance, chunk by chunk, within the rate limit."""
    # Not the channel and promoter: most comps have neither, and each join makes PostgreSQL's
    # planning of this query dearer than fetching the one that is set, when it is.
    issuance = Issuance.objects.select_related("credential", "event", "rate", "price_option").get(
        pk=issuance_id
    )
    client = build_client(issuance.credential)
    # Read once, then claimed chunk by chunk. Lines made pending later (a retry) come with a
    # task of their own.
    pending = list(issuance.lines.filter(state=LineState.PENDING).order_by("position"))
    size = settings.FOURVENUES_TICKETS_PER_CALL
    chunks = iter([pending[i : i + size] for i in range(0, len(pending), size)])
    claim_next = partial(_claim_next, chunks)
    sent = False
    try:
        batch = claim_next()
        sent = bool(batch)
        while batch:  # the last call's settle stores the status too
            batch = _send_batch(issuance, batch, client, claim_next=claim_next)
    except BaseException:
        refresh_status(issuance)  # whatever was settled before the failure
        raise
    finally:
        client.close()
        if sent:
            mark_used(issuance.credential)
    if not sent:
        refresh_status(issuance)  # nothing was left to send (another worker took it all)


def _claim_next(chunks: Iterator[list[IssuanceLine]]) -> list[IssuanceLine]:
    """Claim the next chunk that still has pending lines; [] when none is left."""
    for chunk in chunks:
        if claimed := _claim(chunk):
            return claimed
    return []


def _claim(lines: list[IssuanceLine]) -> list[IssuanceLine]:
    """Mark those of `lines` still pending `sending`: committed before any call is made (in
    autocommit, one UPDATE is its own transaction; after a call, it joins the caller's).

    The UPDATE only takes lines still `pending`, so two workers never claim the same line; the
    batch id says which ones this claim took when another worker got there first.
    """
    claim = {
        "state": LineState.SENDING,
        "batch_id": uuid.uuid4(),
        "sent_at": timezone.now(),
        "last_error": "",
    }
    taken = IssuanceLine.objects.filter(
        pk__in=[line.pk for line in lines], state=LineState.PENDING
    ).update(attempts=F("attempts") + 1, **claim)
    if taken < len(lines):
        mine = set(
            IssuanceLine.objects.filter(batch_id=claim["batch_id"]).values_list("pk", flat=True)
        )
        lines = [line for line in lines if line.pk in mine]
    for line in lines:
        line.attempts += 1
        for name, value in claim.items():
            setattr(line, name, value)
    return lines


def create_request_for(issuance: Issuance, lines: list[IssuanceLine]) -> CreateTicketsRequest:
    """Exactly what is sent for `lines` (one rate and one price option per call)."""
    return CreateTicketsRequest(
        ticket_rate_id=issuance.rate.remote_id,
        sale_type=issuance.sale_type,
        channel_id=issuance.channel.remote_id if issuance.channel_id else None,
        referral_id=issuance.promoter.remote_id if issuance.promoter_id else None,
        tickets=tuple(
            NewTicket(
                full_name=line.full_name,
                email=line.email,
                price_id=issuance.price_option.remote_id,
                total_price=line.total_price,
                fee=line.fee,
                qr_code=line.qr_code,
                phone=line.phone or None,
                gender=line.gender or None,
                birthday=line.birthday,
                address=line.address or None,
                country_code=line.country or None,
                postal_code=line.postal_code or None,
                personal_document_type=line.document_type or None,
                personal_document_number=line.document_number or None,
                supplements=tuple(
                    SupplementChoice(supplement_id=s["supplement_id"], price=Decimal(s["price"]))
                    for s in line.supplements
                ),
            )
            for line in lines
        ),
    )


def _send_batch(
    issuance: Issuance,
    batch: list[IssuanceLine],
    client: FourvenuesClient,
    *,
    claim_next: Callable[[], list[IssuanceLine]],
) -> list[IssuanceLine]:
    """Send one chunk and settle its lines. Returns the next chunk, claimed in the transaction
    that settles this one (one commit per call, not two), or [] when sending stops: then that
    transaction also stores the issuance's status, so no commit shows the lines settled and the
    status behind them."""
    settle: Callable[[], None]
    try:
        request = create_request_for(issuance, batch)
    except ValueError as exc:  # the ledger holds something the API cannot take: nothing sent
        settle = partial(mark_failed, issuance, batch, reason=f"Not sent: {exc}.")
    else:
        try:
            tickets = client.create_tickets(request)
        except OutcomeUnknown as exc:
            settle = partial(mark_unknown, issuance, batch, reason=exc.message)
        except (RateLimited, Unavailable) as exc:
            # Provably not created: back to the queue, and try again later.
            with transaction.atomic():
                _requeue(issuance, batch, reason=exc.message)
                refresh_status(issuance)
            return []
        except (AuthenticationFailed, PermissionDenied) as exc:
            # Every other line would be refused the same way: stop and fail them all, retryable.
            with transaction.atomic():
                mark_failed(issuance, batch, reason=exc.message)
                remaining = list(issuance.lines.filter(state=LineState.PENDING))
                mark_failed(issuance, remaining, reason=exc.message)
                refresh_status(issuance)
            return []
        except FourvenuesError as exc:  # Rejected, NotFound: refused, nothing created
            settle = partial(mark_failed, issuance, batch, reason=exc.message)
        else:
            # Any lookup by HTTP happens here, before the transaction below opens.
            settle = partial(
                settle_matching, issuance, match_answer(issuance, batch, tickets, client)
            )
    with transaction.atomic():
        settle()
        following = claim_next()
        if not following:
            refresh_status(issuance)
        return following


def mark_failed(issuance: Issuance, lines: list[IssuanceLine], *, reason: str) -> None:
    if not lines:
        return
    with transaction.atomic(savepoint=False):
        # Never over a confirmed line: its ticket exists, whatever happened after.
        IssuanceLine.objects.filter(pk__in=[line.pk for line in lines]).exclude(
            state=LineState.CONFIRMED
        ).update(state=LineState.FAILED, last_error=reason[:500], settled_at=timezone.now())
        audit.record(
            action="issuance.lines_failed",
            target=f"issuance:{issuance.pk}",
            data={"lines": [line.position for line in lines], "reason": reason},
        )


def mark_unknown(issuance: Issuance, lines: list[IssuanceLine], *, reason: str) -> None:
    """The create may have reached Fourvenues: never resend; let the resolver find out."""
    resolve_at = timezone.now() + dt.timedelta(seconds=settings.FOURVENUES_RESOLVE_DELAY_SECONDS)
    with transaction.atomic(savepoint=False):
        # Only lines still `sending`: a line settled meanwhile (the reaper racing a slow but
        # live worker) keeps its outcome.
        IssuanceLine.objects.filter(
            pk__in=[line.pk for line in lines], state=LineState.SENDING
        ).update(state=LineState.UNKNOWN, last_error=reason[:500], next_resolve_at=resolve_at)
        audit.record(
            action="issuance.lines_unknown",
            target=f"issuance:{issuance.pk}",
            data={"lines": [line.position for line in lines], "reason": reason},
        )
        tasks.resolve_issuance.using(run_after=resolve_at).enqueue(issuance.pk)


@transaction.atomic(savepoint=False)  # the caller's transaction when there is one
def _requeue(issuance: Issuance, lines: list[IssuanceLine], *, reason: str) -> None:
    attempts = max(line.attempts for line in lines)
    if attempts >= settings.FOURVENUES_SEND_ATTEMPTS:
        mark_failed(issuance, lines, reason=f"{reason} (gave up after {attempts} attempts)")
        return
    retry_at = timezone.now() + dt.timedelta(seconds=min(300, 5 * 3 ** (attempts - 1)))
    IssuanceLine.objects.filter(pk__in=[line.pk for line in lines]).update(
        state=LineState.PENDING, last_error=reason[:500], batch_id=None
    )
    tasks.send_issuance.using(run_after=retry_at).enqueue(issuance.pk)


@dataclass
class Matching:
    pairs: list[tuple[IssuanceLine, Ticket]]
    lines: list[IssuanceLine]  # lines no ticket matched
    tickets: list[Ticket]  # tickets no line matched


def match_tickets(lines: list[IssuanceLine], tickets: list[Ticket]) -> Matching:
    """Pair lines with remote tickets: by our `qr_code` when the remote echoes it (certain),
    else by email and name (the same person on the same call)."""
    free = list(tickets)
    pairs: list[tuple[IssuanceLine, Ticket]] = []
    unmatched: list[IssuanceLine] = []
    for line in lines:
        found = next(
            (t for t in free if line.qr_code and line.qr_code in (t.qr_code, t.code)), None
        )
        if found is None:
            # Only tickets that carry no code of ours may match by identity: a ticket showing
            # another line's code belongs to that line.
            found = next(
                (
                    t
                    for t in free
                    if not (t.qr_code and t.qr_code != line.qr_code)
                    and fold(t.email) == fold(line.email)
                    and fold(t.name) == fold(line.full_name)
                ),
                None,
            )
        if found is None:
            unmatched.append(line)
        else:
            free.remove(found)
            pairs.append((line, found))
    return Matching(pairs=pairs, lines=unmatched, tickets=free)


def match_answer(
    issuance: Issuance,
    lines: list[IssuanceLine],
    tickets: list[Ticket],
    client: FourvenuesClient,
) -> Matching:
    """Match the tickets a create returned to the lines sent; look up what did not come back."""
    matching = match_tickets(lines, tickets)
    if not (matching.lines and tickets):
        return matching
    # Fewer tickets came back than were sent (the documented single-object answer): the others
    # share the call's payment_id.
    payment_ids = {t.payment_id for t in tickets if t.payment_id}
    known = {t.id for t in tickets}
    try:
        siblings = [
            t
            for t in client.iter_tickets(
                event_id=issuance.event.remote_id,
                start_date=min(line.sent_at for line in lines) - LOOKUP_MARGIN,
            )
            if t.payment_id in payment_ids and t.id not in known
        ]
    except FourvenuesError:
        siblings = []  # the resolver will look again
    more = match_tickets(matching.lines, siblings)
    return Matching(
        pairs=matching.pairs + more.pairs,
        lines=more.lines,
        tickets=matching.tickets + more.tickets,
    )


@transaction.atomic(savepoint=False)  # the caller's transaction when there is one
def settle_matching(issuance: Issuance, matching: Matching) -> None:
    """Matched lines are confirmed, stray tickets kept; lines still without a ticket are unknown."""
    confirm_lines(issuance, matching.pairs, just_created=True)
    adopt_strays(issuance, matching.tickets)
    if matching.lines:
        mark_unknown(
            issuance,
            matching.lines,
            reason="Fourvenues answered without these tickets; checking whether they exist.",
        )


def confirm_lines(
    issuance: Issuance, pairs: list[tuple[IssuanceLine, Ticket]], *, just_created: bool = False
) -> None:
    if not pairs:
        return
    now = timezone.now()
    environment = issuance.credential.environment
    with transaction.atomic(savepoint=False):
        mirror_tickets(
            pairs=[(ticket, line) for line, ticket in pairs],
            environment=environment,
            event=issuance.event,
            issued_at=issuance.created_at,
            just_created=just_created,
        )
        IssuanceLine.objects.filter(pk__in=[line.pk for line, _ in pairs]).update(
            state=LineState.CONFIRMED, settled_at=now, last_error="", next_resolve_at=None
        )
        audit.record(
            action="issuance.lines_confirmed",
            target=f"issuance:{issuance.pk}",
            data={"lines": {str(line.position): ticket.code for line, ticket in pairs}},
        )


def adopt_strays(issuance: Issuance, tickets: list[Ticket]) -> None:
    """A ticket came back that matches no line: mirror it anyway so it is never lost, and say so."""
    if tickets:
        mirror_tickets(
            pairs=[(ticket, None) for ticket in tickets],
            environment=issuance.credential.environment,
        )
    for ticket in tickets:
        audit.record(
            action="issuance.unmatched_ticket",
            target=f"issuance:{issuance.pk}",
            data={"remote_id": ticket.id, "code": ticket.code},
        )


# --- Status ------------------------------------------------------------------------------------


def derive_status(states: set[str]) -> str:
    """An issuance's status, from the states of its lines."""
    if not states:
        return IssuanceStatus.FAILED
    if LineState.PENDING_APPROVAL in states:
        return IssuanceStatus.AWAITING_APPROVAL
    if states & {LineState.PENDING, LineState.SENDING}:
        return IssuanceStatus.IN_PROGRESS
    if LineState.UNKNOWN in states:
        return IssuanceStatus.CHECKING
    if states == {LineState.CONFIRMED}:
        return IssuanceStatus.COMPLETED
    if states == {LineState.REJECTED}:
        return IssuanceStatus.REJECTED
    if LineState.CONFIRMED in states:
        return IssuanceStatus.PARTIAL
    return IssuanceStatus.FAILED


@transaction.atomic(savepoint=False)  # the caller's transaction when there is one
def refresh_status(issuance: Issuance) -> str:
    """Store the issuance's status, derived from its lines.

    Whoever settles lines refreshes it after committing: the worker (two, when a retry runs
    beside a send), the resolver, reconciliation. The issuance row is locked before the lines
    are read, so of two refreshes at once the second waits and reads what the first committed:
    an older picture of the lines is never written over a newer one. (SQLite has no row locks;
    its write transactions run one at a time, which gives the same.)
    """
    if connection.features.has_select_for_update:
        Issuance.objects.select_for_update().values_list("pk", flat=True).get(pk=issuance.pk)
    states = set(issuance.lines.order_by().values_list("state", flat=True).distinct())
    status = derive_status(states)
    finished = status not in (
        IssuanceStatus.IN_PROGRESS,
        IssuanceStatus.CHECKING,
        IssuanceStatus.AWAITING_APPROVAL,
    )
    Issuance.objects.filter(pk=issuance.pk).update(
        status=status, completed_at=timezone.now() if finished else None
    )
    issuance.status = status
    return status


# --- What the issuer can do afterwards ---------------------------------------------------------


def retry_line(
    *, line: IssuanceLine, user: AbstractBaseUser, request: HttpRequest | None = None
) -> IssuanceLine:
    """Send a `failed` line again. Only failed lines: an unknown one may already exist."""
    with transaction.atomic():
        updated = IssuanceLine.objects.filter(pk=line.pk, state=LineState.FAILED).update(
            state=LineState.PENDING, last_error="", settled_at=None, batch_id=None
        )
        if not updated:
            line.refresh_from_db()
            raise IssuanceError(
                f"{line.full_name}'s ticket cannot be retried: it is "
                f"{line.get_state_display().lower()}. Only failed tickets can be sent again."
            )
        issuance = line.issuance
        Issuance.objects.filter(pk=issuance.pk).update(
            status=IssuanceStatus.IN_PROGRESS, completed_at=None
        )
        audit.record(
            action="issuance.line_retried",
            actor=user,
            target=f"issuance:{issuance.pk}",
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
            raise IssuanceError("No ticket of this issuance is waiting to be checked.")
        audit.record(
            action="issuance.resolve_requested",
            actor=user,
            target=f"issuance:{issuance.pk}",
            data={"lines": due},
            request=request,
        )
        tasks.resolve_issuance.enqueue(issuance.pk)
