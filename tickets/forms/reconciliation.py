"""Reconciliation: starting a run, filtering the discrepancy queue, acknowledging differences."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict
from django.utils.translation import gettext_lazy

from tickets.models import Discrepancy, DiscrepancyKind, DiscrepancyState, Event


class StartReconciliationForm(forms.Form):
    full = forms.BooleanField(
        required=False,
        label=gettext_lazy("Full run"),
        help_text=gettext_lazy(
            "Every ticket of the event, the only way to find tickets missing on Fourvenues."
        ),
    )


class DiscrepancyFilterForm(forms.Form):
    event = forms.ModelChoiceField(
        queryset=Event.objects.order_by("-night"),
        required=False,
        label=gettext_lazy("Event"),
        empty_label=gettext_lazy("Any event"),
        widget=forms.Select(attrs={"class": "form-select"}),
        error_messages={"invalid_choice": gettext_lazy("Choose an event from the list.")},
    )
    kind = forms.ChoiceField(
        choices=[("", gettext_lazy("Any kind")), *DiscrepancyKind.choices],
        required=False,
        label=gettext_lazy("Kind"),
        widget=forms.Select(attrs={"class": "form-select"}),
    )
    state = forms.ChoiceField(
        choices=[("", gettext_lazy("Any state")), *DiscrepancyState.choices],
        required=False,
        label=gettext_lazy("State"),
        widget=forms.Select(attrs={"class": "form-select"}),
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
            "required": gettext_lazy("Select at least one difference."),
            "invalid_choice": gettext_lazy(
                "A selected difference is no longer open: reload the page."
            ),
            "invalid_pk_value": gettext_lazy("Select differences from the list."),
        },
    )
    reason = forms.CharField(
        max_length=500,
        error_messages={"required": gettext_lazy("Say why these differences are acceptable.")},
    )
