"""The ticket holders of an issuance: one validated row per holder, at most 200.

- Countries: an ISO code or an English/Spanish name, cleaned to the alpha-2 code.
- Emails: `fourvenues_email_problem`, the stricter rule Fourvenues applies, checked per row.
- `HolderForm` / `HolderFormSet`: one row per ticket holder. `HolderForm` also validates each
  CSV row (`forms.holders_csv`), so the rules are the same whichever way a holder arrives.
- `holder_initial`, `posted_holder_rows`, `holder_error_summary`: rows shown again, kept as
  posted, or explained.
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import django_countries
import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy
from django_countries import countries

from tickets.drafts import HolderData, SupplementLine
from tickets.models import IssuanceLine, Supplement
from tickets.text import fold

MAX_HOLDERS = 200
DEFAULT_PHONE_REGION = "ES"
HOLDER_PREFIX = "holders"


# --- Countries ---------------------------------------------------------------------------------

# Names people write that are not the ISO names in either language.
_COUNTRY_ALIASES = {
    "uk": "GB",
    "england": "GB",
    "inglaterra": "GB",
    "great britain": "GB",
    "gran bretana": "GB",
    "usa": "US",
    "eeuu": "US",
    "ee uu": "US",
    "united states": "US",
    "holanda": "NL",
    "holland": "NL",
}


@functools.cache
def _country_names() -> dict[str, str]:
    """Folded English and Spanish country names -> ISO code.

    django-countries only translates its names when it is an installed app; reading its Spanish
    catalogue directly avoids changing the project's settings for one lookup table.
    """
    locale_dir = Path(django_countries.__file__).parent / "locale"
    spanish = gettext.translation("django", localedir=locale_dir, languages=["es"], fallback=True)
    names: dict[str, str] = dict(_COUNTRY_ALIASES)
    for code, name in countries:
        names[fold(str(name))] = code
        names[fold(spanish.gettext(str(name)))] = code
    return names


def normalise_country(value: str) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code (alpha-2 or alpha-3) or an English/Spanish name.

    "" for blank, None when nothing matches.
    """
    value = value.strip()
    if not value:
        return ""
    if len(value) in (2, 3) and value.isalpha():
        code = countries.alpha2(value.upper())
        if code:
            return code
    return _country_names().get(fold(value.replace(".", "")))


def country_choices() -> list[tuple[str, str]]:
    return [(code, str(name)) for code, name in countries]


# --- The rows ----------------------------------------------------------------------------------

GENDER_CHOICES = [
    ("", "—"),
    ("female", pgettext_lazy("gender", "Female")),
    ("male", pgettext_lazy("gender", "Male")),
]
DOCUMENT_TYPE_CHOICES = [
    ("", "—"),
    ("dni", "DNI"),
    ("nie", "NIE"),
    ("passport", gettext_lazy("Passport")),
    ("other", pgettext_lazy("document type", "Other")),
]
# The languages a guest's messages and page are written in, by their own names (as a guest
# would pick theirs), short enough for a small select in the row.
LANGUAGE_CHOICES = list(settings.LANGUAGES)
BIRTHDAY_FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y"]
EARLIEST_BIRTHDAY = dt.date(1900, 1, 1)


class CountryField(forms.CharField):
    """Takes an ISO code or a country name (English or Spanish), cleans to the alpha-2 code.

    A text input with a shared <datalist> instead of a 249-option <select> in every row: with
    200 rows that would be 50,000 options on one page.
    """

    def clean(self, value: Any) -> str:
        text = super().clean(value)
        code = normalise_country(text)
        if code is None:
            raise ValidationError(
                _(
                    "Unknown country '%(value)s': use the two-letter ISO code (ES, FR, GB...) "
                    "or the country's name."
                ),
                code="invalid",
                params={"value": text},
            )
        return code


class LanguageField(forms.ChoiceField):
    def has_changed(self, initial: Any, data: Any) -> bool:
        # A blank row still posts its language select (or, from a script, nothing): a language
        # alone never makes a row a holder.
        return False


class HolderForm(forms.Form):
    """One ticket holder. Also validates each CSV row, so both paths share the same rules."""

    # Blank extra rows are allowed (and skipped), so the browser must not insist on them.
    use_required_attribute = False

    full_name = forms.CharField(max_length=200, label=gettext_lazy("Full name"))
    email = forms.EmailField(max_length=254, label=gettext_lazy("Email"))
    phone = forms.CharField(max_length=40, required=False, label=gettext_lazy("Phone"))
    gender = forms.ChoiceField(choices=GENDER_CHOICES, required=False, label=gettext_lazy("Gender"))
    birthday = forms.DateField(
        required=False,
        label=gettext_lazy("Birthday"),
        input_formats=BIRTHDAY_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    address = forms.CharField(max_length=300, required=False, label=gettext_lazy("Address"))
    country = CountryField(
        max_length=60,
        required=False,
        label=gettext_lazy("Country"),
        widget=forms.TextInput(attrs={"list": "country-list"}),
    )
    postal_code = forms.CharField(max_length=20, required=False, label=gettext_lazy("Postal code"))
    document_type = forms.ChoiceField(
        choices=DOCUMENT_TYPE_CHOICES, required=False, label=gettext_lazy("Document type")
    )
    document_number = forms.CharField(
        max_length=50, required=False, label=gettext_lazy("Document number")
    )
    language = LanguageField(
        choices=LANGUAGE_CHOICES,
        required=False,
        initial=settings.LANGUAGE_CODE,
        label=gettext_lazy("Language"),
        help_text=gettext_lazy("Of the guest's e-mail and page."),
    )
    supplements = forms.MultipleChoiceField(
        choices=(),
        required=False,
        label=gettext_lazy("Supplements"),
        error_messages={
            "invalid_choice": gettext_lazy("%(value)s is not a supplement of the chosen rate.")
        },
    )

    def __init__(self, *args: Any, supplements: Sequence[Supplement] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.supplement_catalogue = {s.supplement_id: s for s in supplements}
        self.fields["supplements"].choices = [
            (s.supplement_id, f"{s.label} ({euros(s.default_price)})") for s in supplements
        ]

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        problem = fourvenues_email_problem(email)
        if problem:
            raise ValidationError(problem, code="refused_by_fourvenues")
        return email

    def clean_phone(self) -> str:
        value = self.cleaned_data["phone"].strip()
        if not value:
            return ""
        return normalise_phone(value)

    def clean_birthday(self) -> dt.date | None:
        birthday = self.cleaned_data["birthday"]
        if birthday is None:
            return None
        if birthday > timezone.localdate():
            raise ValidationError(_("The birthday is in the future."))
        if birthday < EARLIEST_BIRTHDAY:
            raise ValidationError(_("The birthday is before 1900."))
        return birthday

    def clean_postal_code(self) -> str:
        return self.cleaned_data["postal_code"].upper()

    def clean_document_number(self) -> str:
        return "".join(self.cleaned_data["document_number"].split()).upper()

    def clean_language(self) -> str:
        # A row without one (a CSV without the column) gets the venue's.
        return self.cleaned_data["language"] or settings.LANGUAGE_CODE

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        doc_type, doc_number = data.get("document_type"), data.get("document_number")
        # Only judge the pair when both fields cleaned (else the field error already says why).
        if "document_type" in data and "document_number" in data:
            if doc_number and not doc_type:
                self.add_error("document_type", _("Give the document type for this number."))
            elif doc_type and not doc_number:
                self.add_error("document_number", _("Give the document number for this type."))
        return data

    def holder_data(self) -> HolderData:
        data = self.cleaned_data
        return HolderData(
            full_name=data["full_name"],
            email=data["email"],
            phone=data["phone"],
            gender=data["gender"],
            birthday=data["birthday"],
            address=data["address"],
            country=data["country"],
            postal_code=data["postal_code"],
            document_type=data["document_type"],
            document_number=data["document_number"],
            language=data["language"],
            supplements=tuple(
                SupplementLine(
                    supplement_id=sid,
                    label=self.supplement_catalogue[sid].label,
                    price=self.supplement_catalogue[sid].default_price,
                )
                for sid in data["supplements"]
            ),
        )

    def formset_values(self) -> dict[str, Any]:
        """The cleaned values in the shape a holder row is rendered from (CSV import)."""
        data = self.cleaned_data
        return {
            **{name: data[name] for name in self.fields},
            "birthday": data["birthday"].isoformat() if data["birthday"] else "",
        }


def euros(amount: Any) -> str:
    """An amount as the page's language writes it ("5,00 €" / "5.00 €"), like the `money`
    filter the templates use, so a supplement reads the same in every list."""
    number = formats.number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)
    return f"{number}\u00a0€"


# --- Emails ------------------------------------------------------------------------------------

# Fourvenues validates addresses more strictly than Django: it has refused `ana@localhost` and an
# internationalised domain, both of which Django accepts, and the line then failed after Confirm.
# The rule below is the sandbox's (`sandbox.validation.is_valid_email`, which imports nothing of
# the app); tests/forms/test_email_rule_agreement.py feeds both the same addresses.
_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_EMAIL_LOCAL_RE = re.compile(rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*")
_DOMAIN_LABEL_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TOP_LEVEL_RE = re.compile(r"[A-Za-z]{2,63}")


def fourvenues_email_problem(address: str) -> str:
    """Why Fourvenues would refuse `address` ("" when it would not), in words for the issuer.

    Plain ASCII only, a dot-atom local part of up to 64 characters, a domain of at least two
    labels (no bare host, no IP literal) whose last is 2+ letters, 254 characters in all.
    """
    if len(address) > 254:
        return _("Fourvenues refuses this address: it is longer than 254 characters.")
    if address.count("@") != 1:
        return _("Fourvenues refuses this address: it must have exactly one @.")
    local, domain = address.split("@")
    if not address.isascii():
        if not domain.isascii():
            return _(
                "Fourvenues refuses this address: its domain has accented or non-Latin letters. "
                "Ask the holder for another address."
            )
        return _(
            "Fourvenues refuses this address: its part before the @ has accented or non-Latin "
            "letters. Ask the holder for another address."
        )
    if domain.startswith("[") or domain.replace(".", "").isdigit():
        return _(
            "Fourvenues refuses this address: it needs a domain name after the @, not an IP "
            "address."
        )
    if len(local) > 64:
        return _(
            "Fourvenues refuses this address: the part before the @ is longer than 64 characters."
        )
    if not _EMAIL_LOCAL_RE.fullmatch(local):
        return _(
            "Fourvenues refuses this address: the part before the @ cannot hold quotes, spaces, "
            "brackets or commas, nor start or end with a dot or have two in a row."
        )
    labels = domain.split(".")
    if len(labels) < 2:
        return _(
            "Fourvenues refuses this address: it needs a full domain after the @, such as "
            "example.com."
        )
    if not all(_DOMAIN_LABEL_RE.fullmatch(label) for label in labels):
        return _(
            "Fourvenues refuses this address: its domain is not a valid one (check for typos)."
        )
    if not _TOP_LEVEL_RE.fullmatch(labels[-1]):
        return _(
            "Fourvenues refuses this address: its domain must end in letters only, such as .com "
            "or .es."
        )
    return ""


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 ("+34600123456"); numbers without a country prefix are taken as Spanish."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        if number is not None and value.lstrip().startswith(("+", "00")):
            # The prefix is there: the hint about adding one would mislead.
            raise ValidationError(
                _("'%(value)s' is not a valid phone number for +%(code)s: check the digits."),
                code="invalid",
                params={"value": value, "code": number.country_code},
            )
        raise ValidationError(
            _(
                "'%(value)s' is not a valid phone number (add the country prefix, e.g. +44, "
                "for numbers outside Spain)."
            ),
            code="invalid",
            params={"value": value},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class BaseHolderFormSet(forms.BaseFormSet):
    default_error_messages = {
        "missing_management_form": gettext_lazy(
            "The holder list was damaged; reload the page and try again."
        ),
        # Django formats this one with %(num)d, the maximum.
        "too_many_forms": gettext_lazy("At most %(num)d holders per issuance: split the list."),
        "too_few_forms": gettext_lazy("Add at least one holder."),
    }

    def holders(self) -> list[HolderData]:
        """The filled rows, in order. Blank extra rows were skipped by validation (no
        cleaned_data): they are not holders."""
        return [form.holder_data() for form in self.forms if form.cleaned_data]

    def blank_rows(self) -> list[int]:
        """The numbers (from 1, as the form shows them) of the rows left wholly blank, which
        validation skipped: the review names them, so no row goes missing unseen."""
        return [number for number, form in enumerate(self.forms, start=1) if not form.cleaned_data]


HolderFormSet = forms.formset_factory(
    HolderForm,
    formset=BaseHolderFormSet,
    extra=0,
    min_num=1,
    validate_min=True,
    max_num=MAX_HOLDERS,
    validate_max=True,
    absolute_max=MAX_HOLDERS,
)


def holder_formset(
    *,
    data: Any = None,
    initial: list[dict[str, Any]] | None = None,
    supplements: Sequence[Supplement] = (),
) -> BaseHolderFormSet:
    return HolderFormSet(
        data=data,
        initial=initial,
        prefix=HOLDER_PREFIX,
        form_kwargs={"supplements": list(supplements)},
    )


def holder_error_summary(formset: BaseHolderFormSet) -> list[str]:
    """ "Row 3: Email: Enter a valid email address." for every error, in row order."""
    messages = [str(e) for e in formset.non_form_errors()]
    for number, form in enumerate(formset.forms, start=1):
        for name, errors in form.errors.items():
            if name == NON_FIELD_ERRORS:
                prefix = _("Row %(row)s: ") % {"row": number}
            else:
                prefix = _("Row %(row)s: %(field)s: ") % {
                    "row": number,
                    "field": field_label(form, name),
                }
            messages.extend(prefix + str(e) for e in errors)
    return messages


def holder_initial(holder: HolderData) -> dict[str, Any]:
    """Row values to show a stored holder again (Back from the review page)."""
    return {
        "full_name": holder.full_name,
        "email": holder.email,
        "phone": holder.phone,
        "gender": holder.gender,
        "birthday": holder.birthday.isoformat() if holder.birthday else "",
        "address": holder.address,
        "country": holder.country,
        "postal_code": holder.postal_code,
        "document_type": holder.document_type,
        "document_number": holder.document_number,
        "language": holder.language or settings.LANGUAGE_CODE,
        "supplements": [s.supplement_id for s in holder.supplements],
    }


def holder_initial_from_line(line: IssuanceLine) -> dict[str, Any]:
    """Row values from a line of an earlier issuance ("Issue again": the same crew, the same
    press list). The document number is left for the issuer to type again: a stored one is
    never shown in full on a page (it may be someone else's issuance, seen by a manager)."""
    return {
        "full_name": line.full_name,
        "email": line.email,
        "phone": line.phone,
        "gender": line.gender,
        "birthday": line.birthday.isoformat() if line.birthday else "",
        "address": line.address,
        "country": line.country,
        "postal_code": line.postal_code,
        "document_type": line.document_type,
        "document_number": "",
        "language": line.language or settings.LANGUAGE_CODE,
        "supplements": [s["supplement_id"] for s in line.supplements or ()],
    }


def posted_holder_rows(data: Any) -> list[dict[str, Any]]:
    """The rows as posted (raw, unvalidated), blank rows left out: kept as they are when a CSV
    is appended, without showing validation errors on rows the issuer has not finished."""
    formset = holder_formset(data=data)
    rows = []
    for form in formset.forms:
        values = {name: form[name].value() for name in form.fields}
        # The language select always holds a value: alone it does not make a row.
        if any(v for name, v in values.items() if name != "language"):
            rows.append(values)
    return rows


def field_label(form: forms.Form, name: str) -> str:
    if name == NON_FIELD_ERRORS:
        return _("Row")
    return str(form.fields[name].label or name.replace("_", " ").capitalize())
