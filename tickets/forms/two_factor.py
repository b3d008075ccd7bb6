"""Two-factor sign-in: the one field its pages ask for. Validation only; the services judge
whether the code is right."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=32,
        strip=True,
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autocapitalize": "off",
                "spellcheck": "false",
                "autofocus": True,
                "class": "form-control",
            }
        ),
        error_messages={"required": _("Type the code."), "max_length": _("That is not a code.")},
    )
