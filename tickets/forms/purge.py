"""The purge of holders' personal data: the confirmation a manager gives before "purge now"."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy


class PurgeEventForm(forms.Form):
    confirm = forms.BooleanField(
        required=True,
        label=gettext_lazy(
            "I understand that the holders' documents, birthdays, addresses and phones of this "
            "event are removed for good."
        ),
        error_messages={"required": gettext_lazy("Tick the box to confirm.")},
    )
