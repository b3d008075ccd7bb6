"""The worker's sending loop: claim lines, commit, call Fourvenues once, settle.

`send_pending_lines` (the `send_issuance` task) claims lines in chunks, marks them `sending`,
commits, and only then calls Fourvenues. The answer settles each line through the ledger:
`confirmed` (ticket mirrored), `failed` (refused: safe to retry) or `unknown` (may exist
remotely: the resolver decides). A create is never retried blindly.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tickets import tasks
from tickets.drafts import split_into_calls
from tickets.fourvenues.endpoints import FourvenuesClient
from tickets.fourvenues.errors import (
    AuthenticationFailed,
    FourvenuesError,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Unavailable,
)
from tickets.fourvenues.schemas import CreateTicketsRequest, NewTicket, SupplementChoice, Ticket
from tickets.models import FailureCause, Issuance, IssuanceLine, LineState
from tickets.services.credentials import build_client, mark_used
from tickets.services.ledger import (
    LOOKUP_MARGIN,
    Matching,
    mark_failed,
    mark_unknown,
    match_tickets,
    move,
    refresh_status,
    settle_matching,
)


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
    chunks = iter(split_into_calls(pending))
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
        "batch_id": uuid.uuid4(),
        "sent_at": timezone.now(),
        "last_error": "",
    }
    taken = move(
        [line.pk for line in lines],
        to=LineState.SENDING,
        only_from=[LineState.PENDING],
        attempts=F("attempts") + 1,
        **claim,
    )
    if taken < len(lines):
        mine = set(
            IssuanceLine.objects.filter(batch_id=claim["batch_id"]).values_list("pk", flat=True)
        )
        lines = [line for line in lines if line.pk in mine]
    for line in lines:
        line.attempts += 1
        line.state = LineState.SENDING
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
        settle = partial(
            mark_failed, issuance, batch, reason=f"Not sent: {exc}.", cause=FailureCause.NOT_SENT
        )
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
                refused = partial(mark_failed, reason=exc.message, cause=FailureCause.CREDENTIAL)
                refused(issuance, batch)
                refused(issuance, list(issuance.lines.filter(state=LineState.PENDING)))
                refresh_status(issuance)
            return []
        except FourvenuesError as exc:  # Rejected, NotFound: refused, nothing created
            settle = partial(
                mark_failed, issuance, batch, reason=exc.message, cause=FailureCause.REFUSED
            )
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


@transaction.atomic(savepoint=False)  # the caller's transaction when there is one
def _requeue(issuance: Issuance, lines: list[IssuanceLine], *, reason: str) -> None:
    attempts = max(line.attempts for line in lines)
    if attempts >= settings.FOURVENUES_SEND_ATTEMPTS:
        mark_failed(
            issuance,
            lines,
            reason=f"{reason} (gave up after {attempts} attempts)",
            cause=FailureCause.GAVE_UP,
        )
        return
    retry_at = timezone.now() + dt.timedelta(seconds=min(300, 5 * 3 ** (attempts - 1)))
    move(
        [line.pk for line in lines],
        to=LineState.PENDING,
        only_from=[LineState.SENDING],
        last_error=reason[:500],
        batch_id=None,
    )
    tasks.send_issuance.using(run_after=retry_at).enqueue(issuance.pk)


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
