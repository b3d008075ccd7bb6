"""The error every reconciliation action raises when it cannot be done."""

from __future__ import annotations


class ReconciliationError(Exception):
    """A reconciliation action cannot be done; the message is fit for staff."""
