"""Logging filters of our own."""

from __future__ import annotations

import contextvars
import logging


class ClientErrorsOnOneLine(logging.Filter):
    """Django logs a refused request (403, 404, 400) with the exception that caused it, which
    prints a whole traceback for something that is not a fault: someone opened a page their role
    does not include. Keep the one line that says so; tracebacks stay for 500s.

    And never the request's path, in any of them: a guest page's path is its key. The route's
    name says where it happened (`tickets.middleware.request_id` logs it the same way)."""

    def filter(self, record: logging.LogRecord) -> bool:
        status_code = getattr(record, "status_code", None)
        if status_code is not None and status_code < 500:
            record.exc_info = None
            record.exc_text = None
        request = getattr(record, "request", None)
        if request is not None:
            match = getattr(request, "resolver_match", None)
            record.msg = "%s: %s"
            record.args = (
                _FIRST_WORDS.get(status_code, "Error"),
                match.view_name if match else "-",
            )
            record.request = None
        return True


_FIRST_WORDS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}


# The request (or background task) a log line belongs to: set by `tickets.middleware.request_id`
# for web requests and by the task signals (`tickets.signals`) in the worker.
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "current_request_id", default="-"
)


class RequestId(logging.Filter):
    """Puts the current request's (or task's) id on every record, as `request_id`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id.get()
        return True
