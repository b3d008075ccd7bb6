"""Reads of the ticket search: the tickets a user may see, filtered by validated, typed filters
(`TicketSearchFilters`, which tickets.forms.search builds from the page's URL) and sorted; the
page's rows; saved searches; and what the page of one ticket shows."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import F, OrderBy, Q, QuerySet, Value
from django.db.models.functions import Concat, Trim
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from tickets import roles
from tickets.models import (
    ApiCall,
    AuditEntry,
    DiscrepancyState,
    Event,
    IssuanceLine,
    IssuedTicket,
    Reason,
    SavedSearch,
)
from tickets.selectors import issuances as issuance_selectors
from tickets.text import digits, document_digest, fold, normalise_document

# Public sort keys (the `sort` parameter, optionally prefixed with "-") and what they order by.
SORT_FIELDS: dict[str, tuple[str, ...]] = {
    "code": ("code",),
    "name": ("name",),
    "email": ("email",),
    "event": ("event_night", "event__name"),
    "rate": ("rate_name",),
    "status": ("status",),
    "checked_in": ("entered",),
    "issued_by": ("line__issuance__created_by__username",),
    "reason": ("line__issuance__reason__label",),
    "issued": ("issued_at",),
}
DEFAULT_SORT = "-issued"

STATUS_VALID = "valid"
STATUS_INVALID = "invalid"
STATUS_REFUNDED = "refunded"
STATUS_WITHDRAWN = "withdrawn"  # withdrawn through Comps (IssuedTicket.withdrawn_at)
CHECKED_IN_YES = "yes"
CHECKED_IN_NO = "no"
ATTRIBUTION_NONE = "none"

# A term with this many digits may be a phone number, in any format ("+34 612 34 56 78").
PHONE_MIN_DIGITS = 6
# A national number without its country prefix: "0034 612…" and "+34 612…" find "612…".
PHONE_NATIONAL_DIGITS = 9
# A term this long, once normalised, may be a full document number (matched exactly, by digest).
DOCUMENT_MIN_LENGTH = 5
_PHONE_LIKE = re.compile(r"[\d\s+().\-/]+")


# A ticket's status as people read it, the same words on the search page, the ticket page and in
# the exports. Fourvenues's own status names (`status`) are kept for machines ("Fourvenues
# status" column) and for the technical details; a status it may add later shows as it comes.
REMOTE_STATUS_LABELS: dict[str, Promise] = {
    "activated": _("Not valid"),  # activated, but also cancelled: is_valid says it is not valid
    "cancelled": _("Cancelled"),
    "filling_client": _("Awaiting the holder's details"),
    "refunded": _("Refunded"),
}
STATUS_LABEL_VALID = _("Valid")
STATUS_LABEL_UNKNOWN = _("Status unknown")
STATUS_LABEL_NOT_VALID = _("Not valid")
STATUS_LABEL_WITHDRAWN = pgettext_lazy("ticket status", "Withdrawn")


def ticket_status_label(is_valid: bool | None, status: str, *, withdrawn: bool = False) -> str:
    """What a ticket's status is called, in the current language: "Withdrawn" (by Comps),
    "Valid", "Status unknown" (Fourvenues sent none, which must never read as "Not valid"),
    else the reason it is not."""
    if withdrawn:
        return str(STATUS_LABEL_WITHDRAWN)
    if is_valid:
        return str(STATUS_LABEL_VALID)
    if is_valid is None:
        return str(STATUS_LABEL_UNKNOWN)
    label = REMOTE_STATUS_LABELS.get(status or "")
    if label is not None:
        return str(label)
    return status or gettext("Not valid")


# Past this many matches the search says "1,000+": an exact count of a million rows would cost
# more than the page itself, and nobody reads a result past the first thousand.
COUNT_BOUND = 1000


def count_up_to(tickets: QuerySet[IssuedTicket], *, bound: int = COUNT_BOUND) -> int:
    """How many tickets `tickets` holds, counted up to `bound + 1` (a COUNT over a LIMIT
    subquery): a result above `bound` means "more than `bound`"."""
    return tickets.order_by().values("pk")[: bound + 1].count()


def can_search_tickets(user: AbstractBaseUser | AnonymousUser) -> bool:
    """Issuers search their own tickets, managers and admins all: the search and its exports."""
    return user.has_perm(roles.ISSUE_COMPS) or issuance_selectors.can_see_all_issuances(user)


@dataclass(frozen=True)
class TicketSearchFilters:
    """What the search applies, validated and typed; an empty value filters nothing. The
    defaults select every ticket the user may see, newest issued first."""

    q: str = ""  # the search box, see `ticket_text_query`
    event: Event | None = None
    rate: str = ""  # a rate name, any case
    status: str = ""  # STATUS_VALID, STATUS_INVALID or STATUS_REFUNDED
    issued_by: AbstractBaseUser | None = None
    reason: Reason | None = None
    # (ATTRIBUTION_NONE, None): neither channel nor promoter; ("channel" or "promoter", its pk).
    attribution: tuple[str, int | None] | None = None
    issued_from: dt.date | None = None
    issued_to: dt.date | None = None
    night_from: dt.date | None = None
    night_to: dt.date | None = None
    checked_in: str = ""  # CHECKED_IN_YES or CHECKED_IN_NO
    environment: str = ""
    sort: str = DEFAULT_SORT  # a key of SORT_FIELDS, "-" first for descending
    # The digest (`tickets.text.document_digest`) of a document number searched for: the number
    # itself never travels in a URL or a saved search, only a session token standing for this.
    document_digest: str = ""


def tickets_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[IssuedTicket]:
    """Issuers see the tickets of their own issuances; managers and admins see every ticket."""
    tickets = IssuedTicket.objects.select_related(
        "event",
        "line__issuance__created_by",
        "line__issuance__reason",
        "line__issuance__event",
        "line__issuance__channel",
        "line__issuance__promoter",
    )
    if issuance_selectors.can_see_all_issuances(user):
        return tickets
    # `issued_by` is the creator of the ticket's issuance, kept by the database (not a join
    # through lines and issuances: an issuer's search reads an index of their own tickets).
    return tickets.filter(issued_by_id=user.pk)


# What a row of the search page shows, and no more: plain rows, not model instances, and none
# of the raw JSON, search text or encrypted document numbers (building and decoding those
# cost more than the query itself).
LISTING_COLUMNS = (
    "pk",
    "code",
    "remote_id",
    "name",
    "email",
    "event_name",
    "event_remote_id",
    "event_night",
    "rate_name",
    "is_valid",
    "status",
    "withdrawn_at",
    "entered",
    "entry_date",
    "issued_at",
    "issuer_username",
    "issuer_full_name",
    "reason_label",
)


def ticket_listing(tickets: QuerySet[IssuedTicket], *, offset: int, limit: int) -> list[Any]:
    """Rows `offset` to `offset + limit` of `tickets` (ordered) as the search page lists them:
    named rows of `LISTING_COLUMNS`.

    The page's ids are chosen first, in a subquery that reads the ticket table alone; only those
    rows are then joined to their event, issuance, issuer and reason. Joined first, a deep page
    would join every row it skips.
    """
    page = tickets.values("pk")[offset : offset + limit]
    issuer = "line__issuance__created_by__"
    rows = (
        IssuedTicket.objects.filter(pk__in=page)
        .order_by(*tickets.query.order_by)
        .annotate(
            event_name=F("event__name"),
            issuer_username=F(f"{issuer}username"),
            issuer_full_name=Trim(
                Concat(F(f"{issuer}first_name"), Value(" "), F(f"{issuer}last_name"))
            ),
            reason_label=F("line__issuance__reason__label"),
        )
        .values_list(*LISTING_COLUMNS, named=True)
    )
    return list(rows)


def ticket_text_query(term: str) -> Q | None:
    """What the search box matches, as one OR: folded text, phone digits, a document's digest.

    The text and phone parts are a plain `contains` on the pre-folded `search_text`, which on
    PostgreSQL is a `LIKE '%…%'` the trigram index serves. The document part is resolved to line
    ids first, so the OR stays on the ticket table (an OR across a join defeats the index).
    """
    folded = fold(term)
    if not folded:
        return None
    fragments = [folded]
    term_digits = digits(term)
    if len(term_digits) >= PHONE_MIN_DIGITS:
        if _PHONE_LIKE.fullmatch(folded):  # "+34 612 34 56 78": only its digits can match
            fragments = []
        fragments.append(term_digits)
        if len(term_digits) > PHONE_NATIONAL_DIGITS:
            fragments.append(term_digits[-PHONE_NATIONAL_DIGITS:])
    query = Q()
    for fragment in dict.fromkeys(fragments):  # no duplicate arms in the OR
        query |= Q(search_text__contains=fragment)
    if len(normalise_document(term)) >= DOCUMENT_MIN_LENGTH:
        line_ids = lines_with_document(document_digest(term))
        if line_ids:
            query |= Q(line_id__in=line_ids)
    return query


# One person's document number is on a handful of lines; past this many the search is not a
# document search any more, and the OR (or IN) would only grow.
DOCUMENT_LINES_MAX = 100


def lines_with_document(digest: str) -> list[int]:
    """The ids of the lines whose holder has the document number of `digest`, resolved first so
    the ticket query stays on the ticket table (an OR across a join defeats its index)."""
    if not digest:
        return []
    return list(
        IssuanceLine.objects.filter(document_digest=digest).values_list("id", flat=True)[
            :DOCUMENT_LINES_MAX
        ]
    )


def is_document_number(term: str, *, user: AbstractBaseUser | AnonymousUser | None = None) -> bool:
    """Whether a search term is the full document number of some holder: what the search box
    would find by digest, and so what must not stay in a URL, a link or a saved search.

    With `user`, only the holders of lines they may see count: an issuer must not learn that a
    number belongs to a holder of someone else's issuance from how the page answers."""
    if len(normalise_document(term)) < DOCUMENT_MIN_LENGTH:
        return False
    lines = IssuanceLine.objects.filter(document_digest=document_digest(term))
    if user is not None and not issuance_selectors.can_see_all_issuances(user):
        lines = lines.filter(issuance__created_by_id=user.pk)
    return lines.exists()


def _ordering(sort: str) -> list[OrderBy]:
    descending = sort.startswith("-")
    fields = SORT_FIELDS[sort.removeprefix("-")]
    # Plain ASC/DESC (no NULLS LAST), so that the (issued_at, id) index serves the default sort
    # by a backward scan; `id` last makes pages stable.
    ordering = [F(name).desc() if descending else F(name).asc() for name in (*fields, "id")]
    return ordering


def search_tickets(
    *, user: AbstractBaseUser | AnonymousUser, filters: TicketSearchFilters
) -> QuerySet[IssuedTicket]:
    """The ticket search page (and its exports): the tickets `user` may see that match
    `filters`, in the order `filters.sort` asks for."""
    tickets = tickets_visible_to(user)

    text_query = ticket_text_query(filters.q)
    if text_query is not None:
        tickets = tickets.filter(text_query)
    if filters.document_digest:
        tickets = tickets.filter(line_id__in=lines_with_document(filters.document_digest))
    if filters.event is not None:
        tickets = tickets.filter(event=filters.event)
    if filters.rate:
        tickets = tickets.filter(rate_name__iexact=filters.rate.strip())
    if filters.status == STATUS_VALID:
        tickets = tickets.filter(is_valid=True)
    elif filters.status == STATUS_INVALID:
        tickets = tickets.filter(is_valid=False)
    elif filters.status == STATUS_REFUNDED:
        tickets = tickets.filter(refunded__gt=0)
    elif filters.status == STATUS_WITHDRAWN:
        tickets = tickets.filter(withdrawn_at__isnull=False)
    if filters.issued_by is not None:
        tickets = tickets.filter(issued_by=filters.issued_by)
    if filters.reason is not None:
        tickets = tickets.filter(line__issuance__reason=filters.reason)
    if filters.attribution is not None:
        kind, pk = filters.attribution
        if kind == ATTRIBUTION_NONE:
            tickets = tickets.filter(
                line__isnull=False,
                line__issuance__channel__isnull=True,
                line__issuance__promoter__isnull=True,
            )
        else:
            tickets = tickets.filter(**{f"line__issuance__{kind}_id": pk})
    if filters.issued_from:
        tickets = tickets.filter(line__issuance__created_at__date__gte=filters.issued_from)
    if filters.issued_to:
        tickets = tickets.filter(line__issuance__created_at__date__lte=filters.issued_to)
    if filters.night_from:
        tickets = tickets.filter(event_night__gte=filters.night_from)
    if filters.night_to:
        tickets = tickets.filter(event_night__lte=filters.night_to)
    if filters.checked_in == CHECKED_IN_YES:
        tickets = tickets.filter(entered__gt=0)
    elif filters.checked_in == CHECKED_IN_NO:
        tickets = tickets.filter(entered=0)
    if filters.environment:
        tickets = tickets.filter(environment=filters.environment)
    return tickets.order_by(*_ordering(filters.sort))


def saved_searches_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[SavedSearch]:
    return SavedSearch.objects.filter(owner_id=user.pk).order_by("name")


def ticket_detail_context(ticket: IssuedTicket) -> dict[str, object]:
    """What the ticket page shows beside the ticket: its supplements, the issuance it came from
    with its lines, the API calls around its sending, and the issuance's and ticket's history."""
    line = ticket.line
    issuance = line.issuance if line is not None else None
    api_calls: QuerySet[ApiCall] | list[ApiCall] = []
    lines: QuerySet[IssuanceLine] | list[IssuanceLine] = []
    targets = [f"ticket:{ticket.pk}"]
    if issuance is not None:
        lines = issuance_selectors.lines_of(issuance)
        targets.append(f"issuance:{issuance.pk}")
        if line.sent_at is not None:
            window = dt.timedelta(minutes=1)
            api_calls = ApiCall.objects.filter(
                credential_id=issuance.credential_id,
                created_at__gte=line.sent_at - window,
                created_at__lte=(line.settled_at or line.sent_at) + window,
            ).order_by("created_at", "id")[:TICKET_API_CALLS_SHOWN]
    return {
        "supplements": ticket.supplements.all(),
        "issuance": issuance,
        "lines": lines,
        "api_calls": api_calls,
        "history": AuditEntry.objects.filter(target__in=targets).order_by("created_at", "id"),
        "changes": ticket.changes.select_related("run").order_by("at", "id"),
        "open_discrepancies": list(
            ticket.discrepancies.filter(state=DiscrepancyState.OPEN).order_by("kind")
        ),
    }


TICKET_API_CALLS_SHOWN = 50
