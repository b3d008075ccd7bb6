"""Approvals: filtering the queue, and a decision on one request or on many."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from tickets.forms.reconciliation import IdsField
from tickets.models import ApprovalRequest
from tickets.selectors import approvals as approval_selectors

APPROVE, REJECT = "approve", "reject"
REASON_MAX_LENGTH = 500


class ApprovalFilterForm(forms.Form):
    event = forms.ModelChoiceField(
        queryset=approval_selectors.events_with_requests(),
        required=False,
        label=gettext_lazy("Event"),
        empty_label=gettext_lazy("Any event"),
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": gettext_lazy("Choose an event from the list.")},
    )


class DecisionForm(forms.Form):
    """Approve or reject; a rejection says why (the requester reads it)."""

    decision = forms.ChoiceField(
        choices=[(APPROVE, gettext_lazy("Approve")), (REJECT, gettext_lazy("Reject"))],
        error_messages={
            "required": gettext_lazy("Choose to approve or to reject."),
            "invalid_choice": gettext_lazy("Choose to approve or to reject."),
        },
    )
    reason = forms.CharField(
        required=False,
        max_length=REASON_MAX_LENGTH,
        label=gettext_lazy("Reason"),
        error_messages={
            "max_length": gettext_lazy("Keep the reason under 500 characters."),
        },
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == REJECT and not cleaned.get("reason", "").strip():
            self.add_error(
                "reason",
                gettext_lazy("Say why the comps are rejected: the requester will read it."),
            )
        return cleaned


class BulkDecisionForm(DecisionForm):
    # Any request, decided or not: one decided meanwhile is reported as such by the service.
    requests = IdsField(
        queryset=ApprovalRequest.objects.all(),
        error_messages={
            "required": gettext_lazy("Select at least one request."),
            "invalid_choice": gettext_lazy("A selected request no longer exists: reload the page."),
            "invalid_pk_value": gettext_lazy("Select requests from the list."),
            "invalid_list": gettext_lazy("Select requests from the list."),
        },
    )
