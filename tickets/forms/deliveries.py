"""The delivery actions' form: a holder's new e-mail address (validation only)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tickets.services.deliveries.queueing import undeliverable


class ChangeEmailForm(forms.Form):
    email = forms.EmailField(max_length=254, label=gettext_lazy("New e-mail address"))

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if undeliverable(email):
            # An address under .invalid passes the format check but no message ever arrives.
            raise ValidationError(_("Enter an e-mail address that can receive mail."))
        return email
