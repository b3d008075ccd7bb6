"""The credentials pages' form: validation only.

Secrets are write-only: their fields never carry a value back to the browser (not even in a
value attribute that "view source" would show); a blank field keeps the stored secret.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tickets.models import AuthScheme, Credential, Environment
from tickets.services.credentials import (
    EDITABLE_FIELDS,
    SCHEME_SECRETS,
    SECRET_FIELDS,
    secret_problem,
)


def _secret_field(label: str | Promise) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=500,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )


class CredentialForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    environment = forms.ChoiceField(label=_("Environment"), choices=Environment.choices)
    base_url_override = forms.URLField(
        label=_("Base URL"),
        required=False,
        max_length=300,
        assume_scheme="https",
        help_text=_(
            "Leave blank for the environment's documented address; set it only to point at the "
            "sandbox."
        ),
    )
    auth_scheme = forms.ChoiceField(
        label=_("Authentication"), choices=AuthScheme.choices, initial=AuthScheme.API_KEY
    )
    api_key = _secret_field(_("API key"))
    integration_id = _secret_field(_("Integration id"))
    secret = _secret_field(_("Secret"))
    expires_on = forms.DateField(
        label=_("Expires on"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Admins are warned from 14 days before; issuing stops once it has passed."),
    )
    notes = forms.CharField(
        label=_("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    fourvenues_sends_tickets = forms.BooleanField(
        label=Credential._meta.get_field("fourvenues_sends_tickets").verbose_name,
        help_text=_(
            "Only once the venue has seen on alpha that Fourvenues e-mails tickets created "
            "through the Integrations API to their holders. Issuers may then leave the sending "
            "to Fourvenues; Comps still offers the guest page and WhatsApp."
        ),
        required=False,
    )
    # No "make it active" box: a new credential is put in use only after its connection test
    # (services.credentials.activate_after_first_test) or by an admin told what it replaces.

    def __init__(self, *args: Any, instance: Credential | None = None, **kwargs: Any) -> None:
        self.instance = instance
        if instance is not None:
            kwargs.setdefault(
                "initial", {name: getattr(instance, name) for name in EDITABLE_FIELDS}
            )
        super().__init__(*args, **kwargs)
        if instance is not None:
            # Its issuances and catalogue belong to its environment: a new one is a new credential.
            self.fields["environment"].disabled = True
        for name in SECRET_FIELDS:
            stored = getattr(instance, name, "") if instance is not None else ""
            self.fields[name].help_text = (
                _("A value is stored. It is never shown; leave this blank to keep it.")
                if stored
                else _("Nothing stored yet.")
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        scheme = cleaned.get("auth_scheme")
        for name in SCHEME_SECRETS.get(scheme, ()):
            stored = getattr(self.instance, name, "") if self.instance is not None else ""
            typed = cleaned.get(name)
            if not typed and not stored:
                self.add_error(name, _("Required for this authentication scheme."))
            elif typed and (problem := secret_problem(name, typed)):
                # A dash from a word processor or a line break from a chat: every call would
                # fail. The same check guards the service; here it lands on the field.
                self.add_error(name, problem)
        return cleaned

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}

    def typed_secrets(self) -> dict[str, str]:
        """Only the secrets typed anew: a blank field means "keep the stored one"."""
        return {name: self.cleaned_data[name] for name in SECRET_FIELDS if self.cleaned_data[name]}
