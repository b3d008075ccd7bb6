"""Acts on mirrored tickets: seeing a holder's full document number (audited), and the
searches users keep."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from tickets import roles
from tickets.models import IssuedTicket, SavedSearch
from tickets.services import audit


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


def save_search(*, owner: AbstractBaseUser, name: str, query: str) -> bool:
    """Keep the search `query` (a query string) under `name`; the same name replaces it.
    Returns whether a new saved search was created."""
    _, created = SavedSearch.objects.update_or_create(
        owner=owner, name=name, defaults={"query": query}
    )
    return created


def delete_saved_search(*, saved_search: SavedSearch) -> None:
    saved_search.delete()
