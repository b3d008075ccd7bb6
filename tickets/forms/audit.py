"""The audit log page's filter: validation only (the selector applies it)."""

from __future__ import annotations

from django import forms


class AuditLogFilterForm(forms.Form):
    action = forms.CharField(
        required=False, max_length=100, help_text="e.g. credential, auth.login_failed"
    )
    actor = forms.CharField(required=False, max_length=150, label="Who")
    target = forms.CharField(required=False, max_length=200)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
