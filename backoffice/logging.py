"""Logging filters of our own."""

from __future__ import annotations

import logging


class ClientErrorsOnOneLine(logging.Filter):
    """Django logs a refused request (403, 404, 400) with the exception that caused it, which
    prints a whole traceback for something that is not a fault: someone opened a page their role
    does not include. Keep the one line that says so; tracebacks stay for 500s."""

    def filter(self, record: logging.LogRecord) -> bool:
        status_code = getattr(record, "status_code", None)
        if status_code is not None and status_code < 500:
            record.exc_info = None
            record.exc_text = None
        return True
