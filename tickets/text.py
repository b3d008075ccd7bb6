"""Text normalisation shared by validation, matching and (later) search."""

import unicodedata


def fold(text: str | None) -> str:
    """Lowercase, accents removed, whitespace collapsed: "  José  PÉREZ" -> "jose perez"."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(stripped.casefold().split())
