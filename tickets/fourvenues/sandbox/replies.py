"""What passes between the HTTP layer and the sandbox's behaviour: a request in, a reply out.

The HTTP layer (:mod:`.httpd`) hands an :class:`HttpRequest` to :meth:`.app.SandboxApp.dispatch`
and acts on the :class:`Reply` it gets back, which may also tell it to hang or reset the
connection (how the "after commit" faults look on the wire). The helpers build the API's JSON
envelopes (fourvenues-api.md §2.7).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

_JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class HttpRequest:
    """What the HTTP layer hands to :meth:`.app.SandboxApp.dispatch`."""

    method: str
    target: str
    headers: Message  # case-insensitive lookups, as HTTP header names require
    body: bytes = b""


SEND = "send"
HANG = "hang"
RESET = "reset"


@dataclass
class Reply:
    """What to do with the connection: send a response, hang then close, or reset it."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    action: str = SEND
    hang_seconds: float = 0.0
    close: bool = False


def json_reply(status: int, payload: Any, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """A JSON response (UTF-8, non-ASCII kept as is, like the real API)."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, body, [("Content-Type", _JSON_CONTENT_TYPE), *headers])


def ok_reply(data: Any = None, *, with_data: bool = True) -> Reply:
    """The success envelope: ``{"success": true, "data": ...}``, or without ``data``."""
    return json_reply(200, {"success": True, "data": data} if with_data else {"success": True})


def error_reply(status: int, message: str, headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """The sandbox's error envelope: ``error`` and ``message`` both carry the text (§2.7)."""
    return json_reply(status, {"success": False, "error": message, "message": message}, headers)


def garbled_reply(reply: Reply) -> Reply:
    """A 200 whose JSON body is cut short, as a broken proxy might deliver ``reply``."""
    # A strict prefix of a JSON object never parses; cutting on a character boundary keeps
    # the failure a JSON error rather than a UTF-8 one.
    text = reply.body.decode()
    body = text[: max(1, len(text) // 2)].encode()
    return Reply(200, body, [("Content-Type", _JSON_CONTENT_TYPE)])
