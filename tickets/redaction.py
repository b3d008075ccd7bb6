"""What may be kept of secrets and document numbers wherever something is written down: call
records, the audit log, pages, exports. Plain Python, as the Fourvenues client uses it too and
knows nothing of Django."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

SECRET_MASK = "[redacted]"  # noqa: S105 (what stands in for a secret, not one)
DOCUMENT_MASK = "•••"
_SECRET_KEY = re.compile(r"secret|api[_-]?key|password|token|authorization", re.IGNORECASE)
_DOCUMENT_KEY = re.compile(r"document_number", re.IGNORECASE)


def mask_document(number: str | None) -> str:
    """What staff may see of a document number: its last three characters, behind a mask of
    fixed length (so neither the number nor its length shows). Short values show nothing."""
    if not number:
        return ""
    return f"{DOCUMENT_MASK}{number[-3:]}" if len(number) > 3 else DOCUMENT_MASK


def redact(data: Any) -> Any:
    """A copy of a JSON-like value with secrets removed and document numbers masked, at any
    depth, by the names of their keys."""
    if isinstance(data, Mapping):
        cleaned: dict[str, Any] = {}
        for key, value in data.items():
            if _SECRET_KEY.search(str(key)):
                cleaned[key] = SECRET_MASK if value else value
            elif _DOCUMENT_KEY.search(str(key)) and value not in (None, ""):
                cleaned[key] = mask_document(str(value))
            else:
                cleaned[key] = redact(value)
        return cleaned
    if isinstance(data, list | tuple):
        return [redact(item) for item in data]
    return data


# --- Holders' personal data (what the purge removes after the night: services.purge) ---------

# The keys under which Fourvenues' JSON (and so the raw copies and call records) carries a
# holder's personal data, at any depth. Names and e-mails are not among them: they stay.
PERSONAL_KEY = re.compile(
    r"^(phone|.*birth.*|address|postal_code|zip|zip_code)$|document_(number|type)",
    re.IGNORECASE,
)
# The same keys with their value in JSON text (a call record keeps a long body as text, cut at
# a length: its last value may be cut too, without its closing quote).
_PERSONAL_IN_TEXT = re.compile(
    r'"(phone|[^"]*birth[^"]*|address|postal_code|zip|zip_code|[^"]*document_(?:number|type))"'
    r'(\s*:\s*)("(?:[^"\\]|\\.)*"?|-?\d[\d.eE+-]*|true|false)',
    re.IGNORECASE,
)


def has_personal_data(data: Any, *, text: bool = True) -> bool:
    """Whether a JSON-like value holds a holder's personal field with a value, at any depth
    (`text`: a string is JSON text, as a call record keeps a long body)."""
    if isinstance(data, str):
        return text and any(m.group(3) not in ('""', '"') for m in _PERSONAL_IN_TEXT.finditer(data))
    if isinstance(data, Mapping):
        for key, value in data.items():
            if PERSONAL_KEY.search(str(key)):
                if value not in (None, ""):
                    return True
            elif has_personal_data(value, text=False):
                return True
        return False
    if isinstance(data, list | tuple):
        return any(has_personal_data(item, text=False) for item in data)
    return False


def without_personal_data(data: Any, *, text: bool = True) -> Any:
    """A copy of a JSON-like value without the keys that carry a holder's personal data, at any
    depth; in JSON text (`text`), their values become `null`."""
    if isinstance(data, str):
        if not text:
            return data
        return _PERSONAL_IN_TEXT.sub(lambda m: f'"{m.group(1)}"{m.group(2)}null', data)
    if isinstance(data, Mapping):
        return {
            key: without_personal_data(value, text=False)
            for key, value in data.items()
            if not PERSONAL_KEY.search(str(key))
        }
    if isinstance(data, list | tuple):
        return [without_personal_data(item, text=False) for item in data]
    return data
