"""The worker's sending loop: claim lines, commit, call Fourvenues once, settle.

`send_pending_lines` (the `send_issuance` task) runs a `KeySender`: it claims lines a call at a
time, marks them `sending`, commits, and only then calls Fourvenues, several calls in flight.
The answer settles each line through the ledger: `confirmed` (ticket mirrored), `failed`
(refused: safe to retry) or `unknown` (may exist remotely: the resolver decides). A create is
never retried blindly.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from decimal import Decimal
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from tickets import tasks
from tickets.drafts import split_into_calls
from tickets.fourvenues.endpoints import FourvenuesClient
from tickets.fourvenues.errors import (
    AuthenticationFailed,
    CredentialUnusable,
    FourvenuesError,
    OutcomeUnknown,
    PermissionDenied,
    RateLimited,
    Unavailable,
)
from tickets.fourvenues.schemas import CreateTicketsRequest, NewTicket, SupplementChoice, Ticket
from tickets.models import (
    Credential,
    FailureCause,
    Issuance,
    IssuanceLine,
    IssuanceStatus,
    LineState,
)
from tickets.services import resolver
from tickets.services.credentials import build_client, mark_used
from tickets.services.heartbeat import Heartbeat
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


class KeySender:
    """Sends the pending lines of every issuance on one credential, several calls in flight.

    Fair between issuances: each next call goes to the issuance served least recently, so a
    two-guest issuance submitted while a 200-guest one is sending is sent within a call or two
    instead of after it (round-robin by call). Several workers may run this for the same key at
    once: claims are atomic, and the rate limit is the key's, shared through the database
    (`services.ratelimit`), so together they never send faster than it allows.

    The ledger protocol is the same for every call, whichever thread makes it: its lines are
    claimed and committed before the call, and settled after it; a create is never retried.
    """

    def __init__(self, credential: Credential, *, heartbeat: Heartbeat | None = None) -> None:
        self.credential = credential
        self.heartbeat = heartbeat or Heartbeat(None)
        self.sent = False
        # The first call goes alone: a refused key costs one call, not one per thread. Once a
        # call has gone through, the others follow side by side; once refused, none does.
        self.proven = False
        self.refused = False
        self._served: dict[int, int] = {}  # issuance id -> the turn it was last served in
        self._turn = 0
        self._issuances: dict[int, Issuance] = {}
        self._clients: list[FourvenuesClient] = []
        self._clients_lock = threading.Lock()
        self._local = threading.local()

    def run(self) -> None:
        in_flight = max(1, settings.FOURVENUES_SENDS_IN_FLIGHT)
        try:
            if in_flight == 1 or connection.in_atomic_block:
                # One call at a time, in this thread: inside a transaction (a test's, a caller's)
                # the lines are visible to this connection only.
                while claimed := self.claim_next():
                    self.heartbeat.beat()
                    self.send(*claimed)
            else:
                self._run_in_threads(in_flight)
        finally:
            for client in self._clients:
                client.close()
            if self.sent:
                mark_used(self.credential)

    def _run_in_threads(self, in_flight: int) -> None:
        with ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="comps-send") as pool:
            running: set[Future[None]] = set()
            try:
                while True:
                    self.heartbeat.beat()
                    while len(running) < (in_flight if self.proven else 1) and (
                        claimed := self.claim_next()
                    ):
                        running.add(pool.submit(self._send_in_thread, *claimed))
                    if not running:
                        return
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        future.result()  # a bug in a send stops the loop; its lines stay `sending`
            finally:
                wait(running)  # the calls already made are settled before the task ends

    def _send_in_thread(self, issuance: Issuance, batch: list[IssuanceLine]) -> None:
        try:
            self.send(issuance, batch)
        finally:
            connection.close()  # this thread's own connection

    def _client(self) -> FourvenuesClient:
        client = getattr(self._local, "client", None)
        if client is None:  # one per thread: a requests session is not shared across threads
            client = self._local.client = build_client(self.credential)
            with self._clients_lock:
                self._clients.append(client)
        return client

    def claim_next(self) -> tuple[Issuance, list[IssuanceLine]] | None:
        """Claim the next call's lines, from the issuance served least recently; None when no
        line of this key is waiting to be sent (or the key was refused)."""
        while not self.refused:
            sendable = IssuanceLine.objects.filter(
                Q(send_after__isnull=True) | Q(send_after__lte=timezone.now()),
                state=LineState.PENDING,
            )
            waiting = set(
                sendable.filter(
                    issuance__credential=self.credential,
                    issuance__status=IssuanceStatus.IN_PROGRESS,
                ).values_list("issuance_id", flat=True)
            )
            if not waiting:
                return None
            issuance_id = min(waiting, key=lambda pk: (self._served.get(pk, -1), pk))
            self._turn += 1
            self._served[issuance_id] = self._turn
            issuance = self._issuance(issuance_id)
            next_lines = sendable.filter(issuance_id=issuance_id).order_by("position")
            calls = split_into_calls(list(next_lines[: settings.FOURVENUES_TICKETS_PER_CALL]))
            if calls and (claimed := _claim(calls[0])):
                self.sent = True
                return issuance, claimed
            # Another worker took them first: look again.
        return None

    def known(self, issuance: Issuance) -> None:
        """An issuance already read (with what its calls need), so it is not read again."""
        self._issuances[issuance.pk] = issuance

    def _issuance(self, pk: int) -> Issuance:
        if pk not in self._issuances:
            self._issuances[pk] = Issuance.objects.select_related(
                "credential", "event", "rate", "price_option"
            ).get(pk=pk)
        return self._issuances[pk]

    def send(self, issuance: Issuance, batch: list[IssuanceLine]) -> None:
        if _send_batch(issuance, batch, self._client()):
            self.proven = True
        else:
            self.refused = True


def send_pending_lines(*, issuance_id: int, task_id: uuid.UUID | str | None = None) -> None:
    """Send every `pending` line of the issuance (the `send_issuance` task), and those of every
    other issuance on the same key while at it, fairly, within the key's rate limit."""
    # Not the channel and promoter: most comps have neither, and each join makes PostgreSQL's
    # planning of this query dearer than fetching the one that is set, when it is.
    issuance = Issuance.objects.select_related("credential", "event", "rate", "price_option").get(
        pk=issuance_id
    )
    sender = KeySender(issuance.credential, heartbeat=Heartbeat(task_id))
    sender.known(issuance)
    try:
        sender.run()
    finally:
        if not sender.sent:
            refresh_status(issuance)  # nothing was left to send (another worker took it all)


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


def _send_batch(issuance: Issuance, batch: list[IssuanceLine], client: FourvenuesClient) -> bool:
    """Send one call's lines and settle them; the same transaction stores the issuance's status,
    so no commit shows the lines settled and the status behind them. False when Fourvenues
    refused the key itself (every other call would be refused too)."""
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
        except (AuthenticationFailed, PermissionDenied, CredentialUnusable) as exc:
            # Every other line would be refused the same way: stop and fail them all, retryable.
            # (CredentialUnusable, before Unavailable which it is: the stored key cannot even go
            # in a request, so nothing was sent, and waiting would not help.)
            with transaction.atomic():
                refused = partial(mark_failed, reason=exc.message, cause=FailureCause.CREDENTIAL)
                refused(issuance, batch)
                refused(issuance, list(issuance.lines.filter(state=LineState.PENDING)))
                refresh_status(issuance)
            return False
        except (RateLimited, Unavailable) as exc:
            # Provably not created: back to the queue, and try again later.
            with transaction.atomic():
                _requeue(issuance, batch, reason=exc.message)
                refresh_status(issuance)
            return True
        except FourvenuesError as exc:  # Rejected, NotFound: refused, nothing created
            settle = partial(
                mark_failed, issuance, batch, reason=exc.message, cause=FailureCause.REFUSED
            )
            # Issue 13 §4.3 (a late commit): refused because our own QR code is taken, so that
            # ticket exists: look it up (unknown -> resolver), never "nothing was created".
            if taken := resolver.lines_with_taken_qr_codes(exc, batch):
                settle = partial(
                    resolver.settle_taken_qr_codes, issuance, batch, taken=taken, error=exc
                )
        else:
            # Any lookup by HTTP happens here, before the transaction below opens.
            settle = partial(
                settle_matching, issuance, match_answer(issuance, batch, tickets, client)
            )
    with transaction.atomic():
        settle()
        refresh_status(issuance)
    return True


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
        send_after=retry_at,  # a sender running meanwhile leaves them until then
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
