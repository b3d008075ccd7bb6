"""Text normalisation shared by validation, matching and search, and how people are named."""

import re
import unicodedata

from django.utils.crypto import salted_hmac


def fold(text: str | None) -> str:
    """Lowercase, accents removed, whitespace collapsed: "  José  PÉREZ" -> "jose perez"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())


def person_label(username: str, first_name: str = "", last_name: str = "") -> str:
    """How staff are named on pages: "Ivy Issuer", or the username when no name is set."""
    return f"{first_name} {last_name}".strip() or username


def digits(text: str | None) -> str:
    """Only the digits: "+34 612-34-56-78" -> "34612345678"."""
    return re.sub(r"\D", "", text or "")


def normalise_document(number: str | None) -> str:
    """How a document number is compared: uppercase, no spaces, dots or dashes."""
    return re.sub(r"[\s.\-]", "", number or "").upper()


def document_digest(number: str | None) -> str:
    """A keyed hash of the normalised number, for exact search without keeping it readable.

    Keyed with SECRET_KEY: rotating that key means re-hashing the stored digests.
    """
    normalised = normalise_document(number)
    if not normalised:
        return ""
    return salted_hmac("comps.document_number", normalised, algorithm="sha256").hexdigest()


def search_text(*parts: str | None, phone: str | None = None) -> str:
    """The folded text a ticket is found by: every part, plus the phone's digits."""
    words = [fold(part) for part in parts if part]
    if phone:
        words.append(digits(phone))
    return " ".join(word for word in words if word)
