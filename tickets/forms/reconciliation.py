"""Reconciliation: starting a run, filtering the discrepancy queue, acknowledging differences."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from tickets.models import Discrepancy, DiscrepancyKind, DiscrepancyState, Event


class StartReconciliationForm(forms.Form):
    full = forms.BooleanField(
        required=False,
        label="Full run",
        help_text="Every ticket of the event, the only way to find tickets missing on Fourvenues.",
    )


class DiscrepancyFilterForm(forms.Form):
    event = forms.ModelChoiceField(queryset=Event.objects.order_by("-night"), required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *DiscrepancyKind.choices], required=False)
    state = forms.ChoiceField(
        choices=[("", "Any state"), *DiscrepancyState.choices], required=False
    )

    def __init__(self, data: QueryDict | None = None, **kwargs: Any) -> None:
        # An untouched queue shows what needs acting on, and its state select says so.
        if data is not None and "state" not in data:
            data = data.copy()
            data["state"] = DiscrepancyState.OPEN
        super().__init__(data, **kwargs)


class IdsField(forms.ModelMultipleChoiceField):
    """Rows picked by id. An id past the database's integer range is refused as not an id:
    Django would send it to SQLite, which raises OverflowError on `IN (...)` (a 500)."""

    MAX_ID = 2**63 - 1

    def _check_values(self, value: Any) -> Any:
        for pk in value:  # clean() has made sure it is a list
            if str(pk).isdigit() and int(pk) > self.MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class AcknowledgeDiscrepanciesForm(forms.Form):
    discrepancies = IdsField(
        queryset=Discrepancy.objects.filter(state=DiscrepancyState.OPEN),
        error_messages={
            "required": "Select at least one difference.",
            "invalid_choice": "A selected difference is no longer open: reload the page.",
            "invalid_pk_value": "Select differences from the list.",
        },
    )
    reason = forms.CharField(
        max_length=500,
        error_messages={"required": "Say why these differences are acceptable."},
    )
