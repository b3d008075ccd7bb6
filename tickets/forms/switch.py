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
    # Activating a credential: the id of the one the admin was told it replaces ("" for none).
    # Absent means "not confirmed yet": the page asking for confirmation is shown instead.
    replaces = forms.CharField(required=False, max_length=20)

    def confirmed(self) -> bool:
        """Whether the post carries a confirmation of what an activation replaces."""
        return "replaces" in self.data

    def replaces_id(self) -> int | None:
        """The id confirmed as replaced; None when confirmed as replacing none."""
        value = self.cleaned_data.get("replaces", "")
        return int(value) if value.isdigit() else None
