"""What the client writes down about each HTTP attempt, and how it keeps secrets out of it.

Every attempt becomes one `CallRecord` for the ApiCall table. Anything the client writes down
(a record, an exception's message, a log line) first passes through a `Scrubber`, which masks
the credential's key and secret and the call's document numbers wherever they appear in text;
JSON bodies are also redacted by key name (tickets/redaction.py). Plain Python: the HTTP itself
is client.py's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from tickets.fourvenues.errors import truncate
from tickets.redaction import SECRET_MASK, mask_document, redact

RECORD_BODY_MAX_CHARS = 20_000
ERROR_TEXT_MAX_CHARS = 300
_DOCUMENT_IN_TEXT = re.compile(r'("personal_document_number"\s*:\s*")([^"]*)(")')
# The parsed body of a reply that was not JSON (None cannot say it: `null` is valid JSON).
NO_JSON: Any = object()


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One HTTP attempt, redacted, for the ApiCall table."""

    method: str
    path: str
    query: Mapping[str, Any]
    status: int | None
    duration_ms: float
    request_body: dict[str, Any] | None
    response_body: str | dict[str, Any] | None
    error: str | None
    attempt: int


def _head_for_record(body: Any) -> Any:
    """As much of a long `data` list as a call record can keep, with a wide margin.

    A record keeps the first RECORD_BODY_MAX_CHARS characters; redacting and dumping a whole
    500-ticket page to keep them would cost more than the call itself. A list cut where its
    items already fill twice that dumps to the same first characters, so the record is the same.
    """
    if not (isinstance(body, Mapping) and isinstance(body.get("data"), list)):
        return body
    size = 0
    for index, item in enumerate(body["data"]):
        if size > 2 * RECORD_BODY_MAX_CHARS:
            return {**body, "data": body["data"][:index]}
        size += len(json.dumps(item, ensure_ascii=False, default=str))
    return body


class Scrubber:
    """Keeps one credential's secrets, and one call's document numbers, out of what the client
    writes down."""

    def __init__(self, secrets: Iterable[str]) -> None:
        # A value this short would mask unrelated text and hides nothing worth hiding.
        self._secrets = tuple(secret for secret in secrets if len(secret) >= 4)

    def scrub(self, text: str, documents: tuple[str, ...] = ()) -> str:
        for secret in self._secrets:
            text = text.replace(secret, SECRET_MASK)
        for document in documents:
            if len(document) > 3:
                text = text.replace(document, mask_document(document))
        return text

    def error_text(self, text: str, documents: tuple[str, ...] = ()) -> str:
        """Text fit for a message or a record's `error`: scrubbed and kept short."""
        return truncate(self.scrub(text, documents), ERROR_TEXT_MAX_CHARS)

    def request_body(self, body: dict[str, Any] | None) -> dict[str, Any] | None:
        return redact(body) if body is not None else None

    def response_body(self, body: Any, text: str, documents: tuple[str, ...]) -> Any:
        """What a record keeps of a reply: `body` is the parsed JSON, or NO_JSON and `text`."""
        if body is NO_JSON:
            text = _DOCUMENT_IN_TEXT.sub(
                lambda match: match.group(1) + mask_document(match.group(2)) + match.group(3),
                text,
            )
            return truncate(self.scrub(text, documents), RECORD_BODY_MAX_CHARS)
        redacted = redact(_head_for_record(body))
        dumped = self.scrub(json.dumps(redacted, ensure_ascii=False, default=str), documents)
        if isinstance(redacted, dict) and len(dumped) <= RECORD_BODY_MAX_CHARS:
            scrubbed = json.loads(dumped)
            return scrubbed if isinstance(scrubbed, dict) else dumped
        return truncate(dumped, RECORD_BODY_MAX_CHARS)
