"""The rules managers set: the venue's, and one event's."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

# Bounds that keep a typo from reaching the database as an overflow (a 500).
MAX_HOLDERS = 10_000
MAX_WITHDRAWAL_MINUTES = 7 * 24 * 60

SIZE_ERRORS = {
    "invalid": gettext_lazy("Enter a whole number of holders, or leave it empty."),
    "min_value": gettext_lazy("Ask for approval above one holder or more, or leave it empty."),
    "max_value": gettext_lazy("Enter at most %(limit_value)s holders."),
}


class VenuePolicyForm(forms.Form):
    approval_over_size = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_HOLDERS,
        label=gettext_lazy("Ask for approval above this many holders"),
        help_text=gettext_lazy(
            "Empty: only allowances decide. Each event may set its own number instead."
        ),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
        error_messages=SIZE_ERRORS,
    )
    issuer_withdrawal_minutes = forms.IntegerField(
        min_value=0,
        max_value=MAX_WITHDRAWAL_MINUTES,
        label=gettext_lazy("Issuers may withdraw their own comps for (minutes)"),
        help_text=gettext_lazy("0: only managers withdraw comps."),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
        error_messages={
            "required": gettext_lazy("Enter a number of minutes (0: only managers withdraw)."),
            "invalid": gettext_lazy("Enter a whole number of minutes."),
            "min_value": gettext_lazy("Enter 0 minutes or more."),
            "max_value": gettext_lazy("Enter at most %(limit_value)s minutes (a week)."),
        },
    )


class EventPolicyForm(forms.Form):
    cut_off_at = forms.DateTimeField(
        required=False,
        label=gettext_lazy("No issuing after"),
        help_text=gettext_lazy("Empty: when the doors open."),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(
            attrs={"type": "datetime-local", "class": "form-control"}, format="%Y-%m-%dT%H:%M"
        ),
        error_messages={"invalid": gettext_lazy("Enter a date and a time, or leave it empty.")},
    )
    approval_required = forms.BooleanField(
        required=False,
        label=gettext_lazy("Over an allowance, ask a manager"),
        help_text=gettext_lazy(
            "Off: issuances over an allowance are refused instead of waiting for approval."
        ),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    approval_over_size = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_HOLDERS,
        label=gettext_lazy("Ask for approval above this many holders"),
        help_text=gettext_lazy("Empty: the venue's rule."),
        widget=forms.NumberInput(attrs={"class": "form-control"}),
        error_messages=SIZE_ERRORS,
    )
