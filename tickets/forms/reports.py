"""The reports page's filter: grouping, period and environment, with their defaults."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy

from tickets.models import Environment
from tickets.selectors import credentials as credential_selectors
from tickets.selectors import reports as report_selectors

GROUPING_TITLES = {
    "event": gettext_lazy("Per event"),
    "issuer": gettext_lazy("Per issuer"),
    "promoter": gettext_lazy("Per promoter"),
    "reason": gettext_lazy("Per reason"),
    "week": gettext_lazy("Per week"),
}


class ReportFilterForm(forms.Form):
    group = forms.ChoiceField(
        choices=[(g, GROUPING_TITLES[g]) for g in report_selectors.REPORT_GROUPINGS],
        required=False,
        label=gettext_lazy("Report"),
    )
    date_from = forms.DateField(
        required=False, label=gettext_lazy("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label=gettext_lazy("To"), widget=forms.DateInput(attrs={"type": "date"})
    )
    environment = forms.ChoiceField(
        choices=Environment.choices, required=False, label=gettext_lazy("Environment")
    )

    def clean(self) -> dict[str, object]:
        data = super().clean()
        _, default_to = report_selectors.default_report_period()
        data["group"] = data.get("group") or "event"
        data["date_to"] = data.get("date_to") or default_to
        data["date_from"] = data.get("date_from") or data["date_to"] - dt.timedelta(
            days=report_selectors.REPORT_DEFAULT_DAYS - 1
        )
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError(gettext_lazy("“From” must be on or before “To”."))
        if not data.get("environment"):
            credential = credential_selectors.active_credential()
            data["environment"] = credential.environment if credential else Environment.ALPHA
        return data
