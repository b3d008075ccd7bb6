"""Personal data that does not outlive the night: holders' document numbers (with their digests
and types), birthdays, addresses (with postal codes) and phones are removed a number of days
(`COMPS_PURGE_AFTER_DAYS`) after the morning that ends their event's night, from everywhere
Comps keeps them:

- the ledger lines (`IssuanceLine`), and a line's last error when it quotes one of them;
- the mirror (`IssuedTicket` columns, its `raw` JSON and its `search_text`, which folds the
  phone's digits in: recomputed as the mirror computes it, without the phone), and the
  supplements' raw JSON;
- the ticket history (`TicketChange`) of a personal field, the discrepancies' remote snapshots
  and details;
- the call records (`ApiCall`): method, path, status and duration stay, the personal fields of
  the bodies go, for the calls that name the event, and for every call once it is older than
  the horizon itself (a call of an event always names its event or one of its rates; the age
  rule is the net for any that does not);
- WhatsApp deliveries' recipients (the phone; e-mail recipients are addresses, which stay);
- the reviewed drafts of the event kept in sessions, searches by a purged document number kept
  in sessions, and saved searches for a purged document or phone.

What counts, reports and reconciliation need stays: event, rate, issuer, reason, status,
admits, check-in, name and e-mail. Lines, tickets and the event's rules are marked `purged_at`;
each purge is one `personal_data.purged` audit entry per event, with counts only.

Work goes in chunks (a large event is never loaded whole) and is idempotent: a second run finds
nothing left and writes no entry. An event's purge holds its `EventPolicy` row's lock, so two
runs at once take turns; strays are claimed row by row.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from tickets.drafts import SESSION_DRAFTS
from tickets.fields import DecryptionError, decrypt
from tickets.models import (
    ApiCall,
    AuditAction,
    Delivery,
    DeliveryChannel,
    Discrepancy,
    Event,
    EventPolicy,
    IssuanceLine,
    IssuedTicket,
    Rate,
    SavedSearch,
    TicketChange,
    TicketSupplement,
)
from tickets.redaction import has_personal_data, without_personal_data
from tickets.selectors import purge as purge_selectors
from tickets.services import audit
from tickets.services.search import DOCUMENT_DIGEST_PARAM
from tickets.text import digits, search_text

CHUNK = 500
# How far before the horizon the call records are looked at again on each run.
CALL_RECORDS_MARGIN = dt.timedelta(days=7)
# A phone typed in a saved search's box is recognised by this many digits at least.
MIN_PHONE_DIGITS = 6
DOCUMENT_SEARCHES_SESSION_KEY = "ticket_document_searches"  # tickets.document_searches
# What stands for a line's last error that quoted a holder's removed value.
REMOVED_ERROR = "The error quoted the holder's personal data, since removed."


class PurgeError(Exception):
    """A purge that cannot be done (its message is fit for staff)."""


@dataclass
class PurgeCounts:
    """How many rows had personal data removed (never the data itself)."""

    lines: int = 0
    tickets: int = 0
    supplements: int = 0
    deliveries: int = 0
    discrepancies: int = 0
    ticket_changes: int = 0
    api_calls: int = 0
    drafts: int = 0
    document_searches: int = 0
    saved_searches: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())

    def as_data(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class PurgeResult:
    counts: PurgeCounts
    dry_run: bool
    event: Event | None = None
    through: dt.date | None = None  # strays: the last night purged


@dataclass(frozen=True)
class PurgeReport:
    events: list[PurgeResult] = field(default_factory=list)
    strays: PurgeResult | None = None
    old_api_calls: int = 0
    expired_sessions_cleared: bool = False


@dataclass
class _Seen:
    """What was removed in this purge that other places may still refer to."""

    digests: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)  # their digits


# --- Entry points --------------------------------------------------------------------------------


def purge_due(
    *, now: dt.datetime | None = None, dry_run: bool = False, all_call_records: bool = False
) -> PurgeReport:
    """Purge every event (and stray ticket) past the horizon; the scheduler's and the
    command's step. Safe to run at any time, twice, or twice at once. Call records are looked
    at from the week before the horizon on (`all_call_records`: every one, for a first run)."""
    now = now or timezone.now()
    cleared = False
    if not dry_run:
        cleared = _clear_expired_sessions()
    results = [
        purge_event(event=event, now=now, dry_run=dry_run)
        for event in purge_selectors.events_due(now=now)
    ]
    strays = purge_strays(now=now, dry_run=dry_run)
    old_calls = purge_old_api_calls(now=now, dry_run=dry_run, everything=all_call_records)
    return PurgeReport(
        events=results,
        strays=strays,
        old_api_calls=old_calls,
        expired_sessions_cleared=cleared,
    )


def purge_event(
    *,
    event: Event,
    now: dt.datetime | None = None,
    dry_run: bool = False,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    request: HttpRequest | None = None,
    manual: bool = False,
) -> PurgeResult:
    """Remove the personal data of one event's holders. Before the horizon only on request
    (`manual`: a manager's "purge now", the command's --event), and only once the night is
    over."""
    now = now or timezone.now()
    if not purge_selectors.night_has_passed(event.night, now=now):
        raise PurgeError(_("The night of this event is not over yet: nothing was removed."))
    if dry_run:
        return PurgeResult(counts=_count_event(event, now=now), dry_run=True, event=event)
    EventPolicy.objects.get_or_create(event=event)
    with transaction.atomic():
        # Two purges of one event take turns here; the second finds nothing left.
        policy = EventPolicy.objects.select_for_update().get(event=event)
        counts = PurgeCounts()
        seen = _Seen()
        counts.lines = _purge_lines(purge_selectors.event_lines(event), now=now, seen=seen)
        _purge_tickets(purge_selectors.event_tickets(event), now=now, counts=counts, seen=seen)
        counts.discrepancies = _purge_discrepancies(event)
        counts.api_calls = _purge_api_calls(_calls_naming(event, now=now))
        counts.drafts, counts.document_searches = _purge_sessions(
            event_ids={event.pk}, digests=_no_longer_held(seen.digests)
        )
        counts.saved_searches = _purge_saved_searches(
            digests=_no_longer_held(seen.digests), phones=seen.phones
        )
        first_time = policy.purged_at is None
        if counts.total or first_time:
            EventPolicy.objects.filter(pk=policy.pk).update(purged_at=now, updated_at=now)
            audit.record(
                action=AuditAction.PERSONAL_DATA_PURGED,
                actor=actor,
                target=event,
                data={
                    "night": event.night.isoformat(),
                    "after_days": purge_selectors.purge_after_days(),
                    "manual": manual,
                    "counts": counts.as_data(),
                },
                request=request,
            )
    return PurgeResult(counts=counts, dry_run=False, event=event)


def purge_strays(*, now: dt.datetime | None = None, dry_run: bool = False) -> PurgeResult:
    """Tickets of no event Comps knows (adopted strays), by their own night."""
    now = now or timezone.now()
    through = purge_selectors.due_through(now=now)
    tickets = purge_selectors.stray_tickets(through=through)
    if dry_run:
        counts = PurgeCounts(tickets=tickets.filter(purge_selectors.TICKET_HOLDS_DATA).count())
        return PurgeResult(counts=counts, dry_run=True, through=through)
    counts = PurgeCounts()
    seen = _Seen()
    with transaction.atomic():
        _purge_tickets(tickets, now=now, counts=counts, seen=seen, claim=True)
        counts.saved_searches = _purge_saved_searches(digests=set(), phones=seen.phones)
        if counts.total:
            audit.record(
                action=AuditAction.PERSONAL_DATA_PURGED,
                data={
                    "strays_through": through.isoformat(),
                    "after_days": purge_selectors.purge_after_days(),
                    "manual": False,
                    "counts": counts.as_data(),
                },
            )
    return PurgeResult(counts=counts, dry_run=False, through=through)


def purge_old_api_calls(
    *, now: dt.datetime | None = None, dry_run: bool = False, everything: bool = False
) -> int:
    """Call records older than the horizon keep no personal field in their bodies, whatever
    they were about. Those that became older since the last runs are looked at (a week's
    margin for a scheduler that was down): the older ones were cleaned then, and a body kept as
    text keeps its cleaned keys, so looking at them again would find nothing, ever slower."""
    now = now or timezone.now()
    before = now - dt.timedelta(days=purge_selectors.purge_after_days())
    calls = ApiCall.objects.filter(created_at__lt=before)
    if not everything:
        calls = calls.filter(created_at__gte=before - CALL_RECORDS_MARGIN)
    if dry_run:
        return _calls_with_personal_keys(calls).count()
    with transaction.atomic():
        return _purge_api_calls(calls)


# --- Counting (the dry run) ---------------------------------------------------------------------


def _count_event(event: Event, *, now: dt.datetime) -> PurgeCounts:
    tickets = purge_selectors.event_tickets(event)
    return PurgeCounts(
        lines=purge_selectors.event_lines(event).filter(purge_selectors.LINE_HOLDS_DATA).count(),
        tickets=tickets.filter(purge_selectors.TICKET_HOLDS_DATA).count(),
        deliveries=Delivery.objects.filter(
            ticket__in=tickets.values("pk"), channel=DeliveryChannel.WHATSAPP
        )
        .exclude(recipient="")
        .count(),
        discrepancies=purge_selectors.discrepancies_holding_data(event).count(),
        ticket_changes=TicketChange.objects.filter(
            ticket__in=tickets.values("pk"), field__in=purge_selectors.PERSONAL_CHANGE_FIELDS
        ).count(),
        api_calls=_calls_with_personal_keys(_calls_naming(event, now=now)).count(),
    )


# --- The ledger and the mirror ------------------------------------------------------------------


def _purge_lines(lines: QuerySet[IssuanceLine], *, now: dt.datetime, seen: _Seen) -> int:
    """Blank the lines' personal fields, a chunk at a time; how many held some."""
    purged = 0
    pending = lines.filter(purge_selectors.LINE_HOLDS_DATA | Q(purged_at__isnull=True))
    after = 0
    while True:
        chunk = list(
            pending.filter(pk__gt=after)
            .order_by("pk")
            .only(
                "pk",
                "phone",
                "birthday",
                "address",
                "postal_code",
                "document_type",
                "document_number",
                "document_digest",
                "last_error",
            )[:CHUNK]
        )
        if not chunk:
            return purged
        after = chunk[-1].pk
        for line in chunk:
            values = _line_values(line)
            if values or line.document_digest or line.document_type:
                purged += 1
            if line.document_digest:
                seen.digests.add(line.document_digest)
            if len(digits(line.phone)) >= MIN_PHONE_DIGITS:
                seen.phones.add(digits(line.phone))
            if line.last_error and any(value in line.last_error for value in values):
                # An error quoting a holder's value says only that it was removed.
                IssuanceLine.objects.filter(pk=line.pk).update(last_error=REMOVED_ERROR)
        IssuanceLine.objects.filter(pk__in=[line.pk for line in chunk]).update(
            phone="",
            birthday=None,
            address="",
            postal_code="",
            document_type="",
            document_number="",
            document_digest="",
            purged_at=now,
        )


def _line_values(line: IssuanceLine) -> list[str]:
    values = [line.phone, line.address, line.postal_code, line.document_number]
    if line.birthday is not None:
        values.append(line.birthday.isoformat())
    return [value for value in values if value]


def _purge_tickets(
    tickets: QuerySet[IssuedTicket],
    *,
    now: dt.datetime,
    counts: PurgeCounts,
    seen: _Seen,
    claim: bool = False,
) -> None:
    """Blank the mirror's personal columns and raw keys, recompute the search text without the
    phone, and clean what hangs off each ticket (supplements, WhatsApp recipients, history)."""
    pending = tickets.filter(purge_selectors.TICKET_HOLDS_DATA | Q(purged_at__isnull=True))
    if claim and connection.features.has_select_for_update_skip_locked:
        # Another run working on some of these has them: leave them to it.
        pending = pending.select_for_update(skip_locked=True, of=("self",))
    after = 0
    while True:
        chunk = list(
            pending.filter(pk__gt=after)
            .order_by("pk")
            .only(
                "pk",
                "remote_id",
                "name",
                "email",
                "code",
                "qr_code",
                "payment_id",
                "phone",
                "address",
                "postal_code",
                "raw",
                "search_text",
            )[:CHUNK]
        )
        if not chunk:
            return
        for ticket in chunk:
            holds = bool(
                ticket.phone
                or ticket.address
                or ticket.postal_code
                or has_personal_data(ticket.raw)
            )
            counts.tickets += holds
            if len(digits(ticket.phone)) >= MIN_PHONE_DIGITS:
                seen.phones.add(digits(ticket.phone))
            ticket.phone = ticket.address = ticket.postal_code = ""
            ticket.raw = without_personal_data(ticket.raw)
            # As services.mirror computes it, with no phone to fold in.
            ticket.search_text = search_text(
                ticket.name,
                ticket.email,
                ticket.code,
                ticket.qr_code,
                ticket.payment_id,
                ticket.remote_id,
            )
            ticket.purged_at = now
        after = chunk[-1].pk
        IssuedTicket.objects.bulk_update(
            chunk, ["phone", "address", "postal_code", "raw", "search_text", "purged_at"]
        )
        pks = [ticket.pk for ticket in chunk]
        counts.supplements += _purge_supplements(pks)
        counts.deliveries += (
            Delivery.objects.filter(ticket_id__in=pks, channel=DeliveryChannel.WHATSAPP)
            .exclude(recipient="")
            .update(recipient="")
        )
        counts.ticket_changes += TicketChange.objects.filter(
            ticket_id__in=pks, field__in=purge_selectors.PERSONAL_CHANGE_FIELDS
        ).delete()[0]


def _purge_supplements(ticket_pks: list[int]) -> int:
    rows = list(
        purge_selectors.with_json_text(
            TicketSupplement.objects.filter(ticket_id__in=ticket_pks), "raw"
        )
        .filter(purge_selectors.json_may_hold_personal_keys("raw"))
        .only("pk", "raw")
    )
    changed = [row for row in rows if has_personal_data(row.raw)]
    for row in changed:
        row.raw = without_personal_data(row.raw)
    TicketSupplement.objects.bulk_update(changed, ["raw"])
    return len(changed)


# --- Reconciliation and call records ------------------------------------------------------------


def _purge_discrepancies(event: Event) -> int:
    purged = 0
    after = 0
    while True:
        chunk = list(
            purge_selectors.discrepancies_holding_data(event)
            .filter(pk__gt=after)
            .order_by("pk")
            .only("pk", "remote_snapshot", "details")[:CHUNK]
        )
        if not chunk:
            return purged
        after = chunk[-1].pk
        changed = [
            row
            for row in chunk
            if has_personal_data(row.remote_snapshot) or has_personal_data(row.details)
        ]
        for row in changed:
            row.remote_snapshot = without_personal_data(row.remote_snapshot)
            row.details = without_personal_data(row.details)
        Discrepancy.objects.bulk_update(changed, ["remote_snapshot", "details"])
        purged += len(changed)


CALL_JSON_FIELDS = ("query", "request_body", "response_body")


def _calls_naming(event: Event, *, now: dt.datetime) -> QuerySet[ApiCall]:
    """The call records that name the event or one of its rates (a create names its rate, a
    listing or a ticket its event), from the horizon on: older ones go by their age."""
    remote_ids = [
        event.remote_id,
        *Rate.objects.filter(event=event).values_list("remote_id", flat=True),
    ]
    mentions = Q()
    for remote_id in filter(None, remote_ids):
        for name in CALL_JSON_FIELDS:
            mentions |= Q(**{f"_text_{name}__contains": remote_id})
    since = now - dt.timedelta(days=purge_selectors.purge_after_days()) - CALL_RECORDS_MARGIN
    calls = purge_selectors.with_json_text(
        ApiCall.objects.filter(created_at__gte=since), *CALL_JSON_FIELDS
    )
    return calls.filter(mentions) if mentions else calls.none()


def _calls_with_personal_keys(calls: QuerySet[ApiCall]) -> QuerySet[ApiCall]:
    return purge_selectors.with_json_text(calls, *CALL_JSON_FIELDS).filter(
        purge_selectors.json_may_hold_personal_keys(*CALL_JSON_FIELDS)
    )


def _purge_api_calls(calls: QuerySet[ApiCall]) -> int:
    purged = 0
    after = 0
    candidates = _calls_with_personal_keys(calls)
    while True:
        chunk = list(
            candidates.filter(pk__gt=after).order_by("pk").only("pk", *CALL_JSON_FIELDS)[:CHUNK]
        )
        if not chunk:
            return purged
        after = chunk[-1].pk
        changed = [
            call
            for call in chunk
            if any(has_personal_data(getattr(call, n)) for n in CALL_JSON_FIELDS)
        ]
        for call in changed:
            for name in CALL_JSON_FIELDS:
                setattr(call, name, without_personal_data(getattr(call, name)))
        ApiCall.objects.bulk_update(changed, list(CALL_JSON_FIELDS))
        purged += len(changed)


# --- Sessions and saved searches ----------------------------------------------------------------


def _no_longer_held(digests: set[str]) -> set[str]:
    """The digests no line still holds (the same person may hold a comp for a later night)."""
    if not digests:
        return set()
    held = set(
        IssuanceLine.objects.filter(document_digest__in=digests).values_list(
            "document_digest", flat=True
        )
    )
    return digests - held


def _session_model() -> Any | None:
    engine = import_module(settings.SESSION_ENGINE)
    store_class = engine.SessionStore
    return store_class if hasattr(store_class, "get_model_class") else None


def _clear_expired_sessions() -> bool:
    """Expired sessions may still hold drafts: database-backed ones are deleted."""
    store_class = _session_model()
    if store_class is None:
        return False
    store_class.clear_expired()
    return True


def _draft_event(token: str) -> int | None:
    try:
        return json.loads(decrypt(token)).get("event_id")
    except (DecryptionError, ValueError, AttributeError):
        return None


def _purge_sessions(*, event_ids: set[int], digests: set[str]) -> tuple[int, int]:
    """Drop the drafts of `event_ids` and the searches by a document in `digests` from every
    database-backed session. (Signed-cookie sessions live in browsers and end with the session,
    `SESSION_COOKIE_AGE` later.)"""
    store_class = _session_model()
    if store_class is None:
        return 0, 0
    model = store_class.get_model_class()
    store = store_class()
    drafts = searches = 0
    after = ""
    while True:
        chunk = list(
            model.objects.filter(session_key__gt=after)
            .order_by("session_key")
            .values_list("session_key", "session_data")[:CHUNK]
        )
        if not chunk:
            return drafts, searches
        after = chunk[-1][0]
        for key, encoded in chunk:
            data = store.decode(encoded)
            kept_drafts = {
                k: token
                for k, token in dict(data.get(SESSION_DRAFTS) or {}).items()
                if _draft_event(token) not in event_ids
            }
            dropped_drafts = len(data.get(SESSION_DRAFTS) or {}) - len(kept_drafts)
            kept_searches = {
                token: entry
                for token, entry in dict(data.get(DOCUMENT_SEARCHES_SESSION_KEY) or {}).items()
                if not (isinstance(entry, dict) and entry.get("digest") in digests)
            }
            dropped_searches = len(data.get(DOCUMENT_SEARCHES_SESSION_KEY) or {}) - len(
                kept_searches
            )
            if not dropped_drafts and not dropped_searches:
                continue
            if SESSION_DRAFTS in data:
                data[SESSION_DRAFTS] = kept_drafts
            if DOCUMENT_SEARCHES_SESSION_KEY in data:
                data[DOCUMENT_SEARCHES_SESSION_KEY] = kept_searches
            model.objects.filter(session_key=key).update(session_data=store.encode(data))
            drafts += dropped_drafts
            searches += dropped_searches


def _purge_saved_searches(*, digests: set[str], phones: set[str]) -> int:
    """Saved searches for a purged document (its digest) or a purged phone (typed in the box)
    lose that part of their query."""
    if not digests and not phones:
        return 0
    changed = 0
    candidates = SavedSearch.objects.filter(
        Q(query__contains=f"{DOCUMENT_DIGEST_PARAM}=") | Q(query__contains="q=")
    ).only("pk", "query")
    for saved in candidates.iterator(chunk_size=CHUNK):
        params = QueryDict(saved.query, mutable=True)
        drop = [
            name
            for name in _params_to_drop(params, digests=digests, phones=phones)
            if name in params
        ]
        if drop:
            for name in drop:
                del params[name]
            SavedSearch.objects.filter(pk=saved.pk).update(query=params.urlencode())
            changed += 1
    return changed


def _params_to_drop(params: QueryDict, *, digests: set[str], phones: set[str]) -> Iterable[str]:
    if params.get(DOCUMENT_DIGEST_PARAM, "") in digests:
        yield DOCUMENT_DIGEST_PARAM
    typed = digits(params.get("q", ""))
    if len(typed) >= MIN_PHONE_DIGITS and any(typed in phone for phone in phones):
        yield "q"
