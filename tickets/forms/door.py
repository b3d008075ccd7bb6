"""The door lookup's input: which event, and the part of a name typed."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from tickets.models import Event

TERM_MAX_LENGTH = 100


class DoorLookupForm(forms.Form):
    event = forms.ModelChoiceField(
        queryset=Event.objects.all(),
        required=False,
        label=gettext_lazy("Event"),
        error_messages={"invalid_choice": gettext_lazy("That event is not known here.")},
    )
    q = forms.CharField(
        required=False,
        max_length=TERM_MAX_LENGTH,
        strip=True,
        label=gettext_lazy("Name or code"),
    )
