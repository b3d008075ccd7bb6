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
