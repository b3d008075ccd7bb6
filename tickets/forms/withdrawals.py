"""The reason a comp is withdrawn: required, one line, as long as the ledger keeps."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from tickets.models import WithdrawalState

REASON_MAX_LENGTH = 300


class WithdrawalForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why is it withdrawn?"),
        max_length=REASON_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": gettext_lazy("Say why the comp is withdrawn.")},
    )


class WithdrawalFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=gettext_lazy("State"),
        required=False,
        choices=[("", gettext_lazy("Every state")), *WithdrawalState.choices],
    )
