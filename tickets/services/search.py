"""Acts on mirrored tickets: seeing a holder's full document number (audited), and the
searches users keep."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, QueryDict

from tickets import roles
from tickets.models import IssuedTicket, SavedSearch
from tickets.selectors import search as search_selectors
from tickets.services import audit
from tickets.text import document_digest as digest_of

# How a saved search keeps a search by document number: the number's digest, never the number.
# Only a saved search holds it (the search page's URL carries a session token instead, see
# tickets.views.search), so it never appears in a link, a page or an access log.
DOCUMENT_DIGEST_PARAM = "doc_digest"
# The session token of the search page, meaningless once saved (the session ends).
DOCUMENT_TOKEN_PARAM = "doc"  # noqa: S105 (a parameter's name, not a secret)


def reveal_document_number(
    *,
    ticket: IssuedTicket,
    user: AbstractBaseUser | AnonymousUser,
    request: HttpRequest | None = None,
) -> str:
    """The holder's full document number, for a user allowed to see it; every call is audited
    (the number itself never goes into the audit log)."""
    if not user.has_perm(roles.VIEW_DOCUMENT_NUMBERS):
        raise PermissionDenied("You may not see document numbers.")
    line = ticket.line
    number = line.document_number if line is not None else ""
    audit.record(
        action="ticket.document_viewed",
        actor=user,
        target=ticket,
        data={
            "issuance": line.issuance_id if line is not None else None,
            "line": line.pk if line is not None else None,
            "document_type": line.document_type if line is not None else "",
        },
        request=request,
    )
    return number


def stored_query(query: str, *, document_digest: str = "") -> str:
    """`query` (the search page's query string) as a saved search keeps it: the session's
    document token replaced by `document_digest` (what it stood for), and a search box holding
    some holder's full document number turned into that number's digest. Any other query is
    kept exactly as it is."""
    params = QueryDict(query, mutable=True)
    term = params.get("q", "")
    found_in_box = bool(term) and search_selectors.is_document_number(term)
    carries_document = DOCUMENT_TOKEN_PARAM in params or DOCUMENT_DIGEST_PARAM in params
    if not carries_document and not found_in_box:
        return query
    params.pop(DOCUMENT_TOKEN_PARAM, None)
    params.pop(DOCUMENT_DIGEST_PARAM, None)  # never taken from what was posted
    if found_in_box:
        params.pop("q")
        document_digest = document_digest or digest_of(term)
    if document_digest:
        params[DOCUMENT_DIGEST_PARAM] = document_digest
    return params.urlencode()


def save_search(
    *, owner: AbstractBaseUser, name: str, query: str, document_digest: str = ""
) -> bool:
    """Keep the search `query` (a query string) under `name`; the same name replaces it.
    A search by document number keeps the number's digest only (`stored_query`).
    Returns whether a new saved search was created."""
    _, created = SavedSearch.objects.update_or_create(
        owner=owner,
        name=name,
        defaults={"query": stored_query(query, document_digest=document_digest)},
    )
    return created


def delete_saved_search(*, saved_search: SavedSearch) -> None:
    saved_search.delete()
