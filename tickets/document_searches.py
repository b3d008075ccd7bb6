"""Searches by a holder's document number, kept in the session under random tokens.

A document number never goes in an address: the search page, its links, exports and saved
searches carry a token (`?doc=<token>`) that this session maps to the number's digest (and to
the masked form staff may see). Like `drafts.py`, a request concern with a module of its own,
so the search and export views share one store.
"""

from __future__ import annotations

import secrets

from django.contrib.sessions.backends.base import SessionBase

SESSION_KEY = "ticket_document_searches"
# The most recent searches by document number a session keeps: enough for several tabs, and the
# session stays small. An older token's page says it expired.
KEPT = 20


def _searches(session: SessionBase) -> dict[str, dict[str, str]]:
    kept = session.get(SESSION_KEY)
    if not isinstance(kept, dict):
        return {}
    return {
        token: entry
        for token, entry in kept.items()
        if isinstance(entry, dict) and isinstance(entry.get("digest"), str)
    }


def tokens(session: SessionBase) -> dict[str, str]:
    """The session's searches by document number: token -> the number's digest."""
    return {token: entry["digest"] for token, entry in _searches(session).items()}


def remember(session: SessionBase, digest: str, *, hint: str = "") -> str:
    """A token standing for `digest` in this session (the same one for the same number, so a
    search's URL stays the same while signed in); `hint` is the number as staff may see it."""
    kept = _searches(session)
    token = next((t for t, entry in kept.items() if entry["digest"] == digest), None)
    if token is None:
        token = secrets.token_urlsafe(8)
    entry = kept.pop(token, {})
    kept[token] = {"digest": digest, "hint": hint or entry.get("hint", "")}
    session[SESSION_KEY] = dict(list(kept.items())[-KEPT:])
    return token


def hint(session: SessionBase, token: str) -> str:
    """The masked number a token stands for ("•••32W"), or ""."""
    return (_searches(session).get(token) or {}).get("hint", "")
