"""The on/off form that the credentials and users pages share: validation only.

It lives apart so that neither area imports the other's forms module for it.
"""

from __future__ import annotations

from django import forms


class SwitchForm(forms.Form):
    """The on/off posts (activate a credential, let a person log in): `active` is 1 or 0."""

    active = forms.TypedChoiceField(
        choices=[("1", "on"), ("0", "off")], coerce=lambda value: value == "1"
    )
