"""The users pages' forms (create a login, set a role, reset a password): validation only."""

from __future__ import annotations

from django import forms
from django.contrib.auth.models import User
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tickets import roles

ROLE_CHOICES: list[tuple[str, str | Promise]] = [("", _("No role (cannot use Comps)"))] + [
    (role, roles.ROLE_LABELS[role]) for role in roles.ALL_ROLES
]


def _password_field(label: str | Promise) -> forms.CharField:
    return forms.CharField(
        label=label,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "At least 8 characters, not only digits, not a common password. Hand it over in "
            "person; they should change it."
        ),
    )


class UserCreateForm(forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        regex=r"^[\w.@+-]+\Z",
        max_length=150,
        error_messages={"invalid": _("Letters, digits and @ . + - _ only.")},
    )
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES[1:], initial=roles.ISSUER)
    password = _password_field(_("First password"))

    def clean_username(self) -> str:
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(_("This username is taken."))
        return username


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, required=False)


class PasswordResetForm(forms.Form):
    password = _password_field(_("New password"))
