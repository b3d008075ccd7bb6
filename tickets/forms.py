"""The issuing form: validation and normalisation only. Nothing here calls the API or writes.

- `IssuanceForm`: what is issued (event, rate, price option), to whom it is attributed (a
  channel, a promoter or neither, never both), sale type, reason and note, plus the
  idempotency key minted when the form was first rendered.
- `HolderForm` / `HolderFormSet`: one row per ticket holder, at most 200.
- `batch_warnings`: what the issuer should look at twice but may still send.
- `CsvImportForm` / `parse_holder_csv`: fill the rows from a pasted or uploaded CSV, every row
  validated by `HolderForm` so the rules are the same whichever way a holder arrives.
- `build_draft`: turn the validated forms into the `IssuanceDraft` the review page shows.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import gettext
import io
import math
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import django_countries
import phonenumbers
from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils import timezone
from django_countries import countries

from tickets import selectors
from tickets.models import (
    Channel,
    Discrepancy,
    DiscrepancyKind,
    DiscrepancyState,
    Environment,
    Event,
    PriceOption,
    Promoter,
    Rate,
    Supplement,
)
from tickets.services.issuance import HolderData, IssuanceDraft, SupplementLine
from tickets.text import fold

MAX_HOLDERS = 200
MAX_CSV_BYTES = 1024 * 1024
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


# --- Attribution, sale type, the event --------------------------------------------------------


class Attribution:
    NONE = "none"
    CHANNEL = "channel"
    PROMOTER = "promoter"
    CHOICES = [(NONE, "Neither"), (CHANNEL, "A channel"), (PROMOTER, "A promoter")]


class EventChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Event) -> str:
        return f"{obj.night:%a %d %b %Y} · {obj.name}"


class PriceOptionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PriceOption) -> str:
        return price_option_label(obj)


def price_option_label(option: PriceOption) -> str:
    parts = [f"{option.price} € face value"]
    if option.content:
        parts.append(option.content)
    if option.min_age:
        parts.append(f"{option.min_age}+")
    return " · ".join(parts)


class IssuanceForm(forms.Form):
    """What is issued and on whose behalf. The holders come in `HolderFormSet`."""

    event = EventChoiceField(queryset=Event.objects.none(), empty_label="Pick an event")
    rate = forms.ModelChoiceField(
        queryset=Rate.objects.none(),
        empty_label="Pick a rate",
        error_messages={"invalid_choice": "Pick one of the chosen event's rates."},
    )
    price_option = PriceOptionChoiceField(
        queryset=PriceOption.objects.none(),
        empty_label="Pick a price option",
        label="Price option",
        error_messages={"invalid_choice": "Pick one of the chosen rate's price options."},
    )
    attribution = forms.ChoiceField(
        choices=Attribution.CHOICES,
        initial=Attribution.NONE,
        widget=forms.RadioSelect,
        label="Attributed to",
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(), required=False, empty_label="Pick a channel"
    )
    promoter = forms.ModelChoiceField(
        queryset=Promoter.objects.none(), required=False, empty_label="Pick a promoter"
    )
    # One documented value today; still a validated choice so a tampered post cannot slip
    # another value past the review page.
    sale_type = forms.ChoiceField(choices=(), widget=forms.HiddenInput)
    reason = forms.ModelChoiceField(queryset=None, empty_label="Pick a reason")
    note = forms.CharField(
        required=False,
        max_length=1000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Optional: who asked, what for. Kept with the issuance.",
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(
        self,
        *,
        environment: str,
        data: Any = None,
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, initial=initial)
        self.environment = environment
        events = selectors.upcoming_events(environment=environment)
        self.fields["event"].queryset = events
        self.fields["channel"].queryset = selectors.channels(environment=environment)
        self.fields["promoter"].queryset = selectors.promoters(environment=environment)
        self.fields["reason"].queryset = selectors.active_reasons()
        sale_type = settings.FOURVENUES_SALE_TYPE
        self.fields["sale_type"].choices = [(sale_type, sale_type)]
        self.fields["sale_type"].initial = sale_type

        # The rate and option lists follow the chosen event and rate, so a rate of another
        # event (or an option of another rate) is simply not a valid choice.
        event = _pick(events, self._raw("event"))
        self.chosen_event = event
        if event is not None:
            rates = selectors.rates_for_event(event=event)
            self.fields["rate"].queryset = rates
            rate = _pick(rates, self._raw("rate"))
            self.chosen_rate = rate
            if rate is not None:
                self.fields["price_option"].queryset = selectors.options_for_rate(rate=rate)
        else:
            self.chosen_rate = None

    def _raw(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        value = self.initial.get(name)
        return getattr(value, "pk", value)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        event, rate, option = data.get("event"), data.get("rate"), data.get("price_option")
        # The querysets already enforce this; checked again because a comp for the wrong event
        # cannot be undone (Fourvenues has no cancel).
        if event and rate and rate.event_id != event.pk:
            self.add_error("rate", "This rate is not one of the chosen event's rates.")
        if rate and option and option.rate_id != rate.pk:
            self.add_error("price_option", "This price option is not one of the rate's options.")

        attribution = data.get("attribution")
        channel, promoter = data.get("channel"), data.get("promoter")
        if channel and promoter:
            self.add_error(
                None,
                "A comp is attributed to a channel or to a promoter, never both: "
                "clear one of them (Fourvenues refuses both).",
            )
        elif attribution == Attribution.NONE and (channel or promoter):
            self.add_error(
                "attribution",
                "You picked a channel or promoter but 'Neither': choose which it is attributed to.",
            )
        elif attribution == Attribution.CHANNEL and not channel:
            self.add_error("channel", "Pick the channel, or choose 'Neither'.")
        elif attribution == Attribution.PROMOTER and not promoter:
            self.add_error("promoter", "Pick the promoter, or choose 'Neither'.")
        return data

    @classmethod
    def for_draft(cls, *, draft: IssuanceDraft, key: uuid.UUID, environment: str) -> IssuanceForm:
        """A bound form holding a stored draft: the review page revalidates it against today's
        catalogue (the event may have passed, an option may have been withdrawn)."""
        initial = issuance_initial_from_draft(draft, key)
        data = {name: "" if value is None else str(value) for name, value in initial.items()}
        return cls(environment=environment, data=data)


def _pick(queryset: QuerySet[Any], pk: Any) -> Any:
    """The row of `queryset` with primary key `pk`, or None for a missing or malformed pk."""
    if pk in (None, ""):
        return None
    try:
        return queryset.filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        return None


def issuance_initial_from_draft(draft: IssuanceDraft, key: uuid.UUID) -> dict[str, Any]:
    """Initial values to show a stored draft again (Back from the review page)."""
    if draft.channel_id:
        attribution = Attribution.CHANNEL
    elif draft.promoter_id:
        attribution = Attribution.PROMOTER
    else:
        attribution = Attribution.NONE
    return {
        "event": draft.event_id,
        "rate": draft.rate_id,
        "price_option": draft.price_option_id,
        "attribution": attribution,
        "channel": draft.channel_id,
        "promoter": draft.promoter_id,
        "sale_type": draft.sale_type,
        "reason": draft.reason_id,
        "note": draft.note,
        "idempotency_key": key,
    }


# --- Holders -----------------------------------------------------------------------------------

GENDER_CHOICES = [("", "—"), ("female", "Female"), ("male", "Male")]
DOCUMENT_TYPE_CHOICES = [
    ("", "—"),
    ("dni", "DNI"),
    ("nie", "NIE"),
    ("passport", "Passport"),
    ("other", "Other"),
]
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
                "Unknown country '%(value)s': use the two-letter ISO code (ES, FR, GB...) "
                "or the country's name.",
                code="invalid",
                params={"value": text},
            )
        return code


class HolderForm(forms.Form):
    """One ticket holder. Also validates each CSV row, so both paths share the same rules."""

    # Blank extra rows are allowed (and skipped), so the browser must not insist on them.
    use_required_attribute = False

    full_name = forms.CharField(max_length=200, label="Full name")
    email = forms.EmailField(max_length=254)
    phone = forms.CharField(max_length=40, required=False)
    gender = forms.ChoiceField(choices=GENDER_CHOICES, required=False)
    birthday = forms.DateField(
        required=False,
        input_formats=BIRTHDAY_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    address = forms.CharField(max_length=300, required=False)
    country = CountryField(
        max_length=60, required=False, widget=forms.TextInput(attrs={"list": "country-list"})
    )
    postal_code = forms.CharField(max_length=20, required=False, label="Postal code")
    document_type = forms.ChoiceField(
        choices=DOCUMENT_TYPE_CHOICES, required=False, label="Document type"
    )
    document_number = forms.CharField(max_length=50, required=False, label="Document number")
    supplements = forms.MultipleChoiceField(
        choices=(),
        required=False,
        error_messages={"invalid_choice": "%(value)s is not a supplement of the chosen rate."},
    )

    def __init__(self, *args: Any, supplements: Sequence[Supplement] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.supplement_catalogue = {s.supplement_id: s for s in supplements}
        self.fields["supplements"].choices = [
            (s.supplement_id, f"{s.label} ({s.default_price} €)") for s in supplements
        ]

    def clean_full_name(self) -> str:
        return " ".join(self.cleaned_data["full_name"].split())

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

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
            raise ValidationError("The birthday is in the future.")
        if birthday < EARLIEST_BIRTHDAY:
            raise ValidationError("The birthday is before 1900.")
        return birthday

    def clean_postal_code(self) -> str:
        return self.cleaned_data["postal_code"].upper()

    def clean_document_number(self) -> str:
        return "".join(self.cleaned_data["document_number"].split()).upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        doc_type, doc_number = data.get("document_type"), data.get("document_number")
        # Only judge the pair when both fields cleaned (else the field error already says why).
        if "document_type" in data and "document_number" in data:
            if doc_number and not doc_type:
                self.add_error("document_type", "Give the document type for this number.")
            elif doc_type and not doc_number:
                self.add_error("document_number", "Give the document number for this type.")
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
                "'%(value)s' is not a valid phone number for +%(code)s: check the digits.",
                code="invalid",
                params={"value": value, "code": number.country_code},
            )
        raise ValidationError(
            "'%(value)s' is not a valid phone number (add the country prefix, e.g. +44, "
            "for numbers outside Spain).",
            code="invalid",
            params={"value": value},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class BaseHolderFormSet(forms.BaseFormSet):
    default_error_messages = {
        "missing_management_form": "The holder list was damaged; reload the page and try again.",
        "too_many_forms": f"At most {MAX_HOLDERS} holders per issuance: split the list.",
        "too_few_forms": "Add at least one holder.",
    }

    def holders(self) -> list[HolderData]:
        """The filled rows, in order. Blank extra rows were skipped by validation (no
        cleaned_data): they are not holders."""
        return [form.holder_data() for form in self.forms if form.cleaned_data]


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
            prefix = (
                f"Row {number}: "
                if name == NON_FIELD_ERRORS
                else f"Row {number}: {_field_label(form, name)}: "
            )
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
        "supplements": [s.supplement_id for s in holder.supplements],
    }


def posted_holder_rows(data: Any) -> list[dict[str, Any]]:
    """The rows as posted (raw, unvalidated), blank rows left out: kept as they are when a CSV
    is appended, without showing validation errors on rows the issuer has not finished."""
    formset = holder_formset(data=data)
    rows = []
    for form in formset.forms:
        values = {name: form[name].value() for name in form.fields}
        if any(v for v in values.values()):
            rows.append(values)
    return rows


# --- Batch warnings ------------------------------------------------------------------------------


def age_on(birthday: dt.date, day: dt.date) -> int:
    return day.year - birthday.year - ((day.month, day.day) < (birthday.month, birthday.day))


def batch_warnings(
    holders: Sequence[HolderData], price_option: PriceOption, event: Event
) -> list[str]:
    """What deserves a second look but may be right: the same holder twice, a holder under the
    option's minimum age on the event night. Rows are numbered from 1 in `holders` order."""
    warnings: list[str] = []
    first_by_email: dict[str, int] = {}
    first_by_name: dict[str, int] = {}
    for number, holder in enumerate(holders, start=1):
        if holder.email in first_by_email:
            warnings.append(
                f"Row {number} has the same email as row {first_by_email[holder.email]} "
                f"({holder.email}): the same person would get two tickets."
            )
        else:
            first_by_email[holder.email] = number
        name = fold(holder.full_name)
        if name in first_by_name:
            warnings.append(
                f"Row {number} has the same name as row {first_by_name[name]} ({holder.full_name})."
            )
        else:
            first_by_name[name] = number

    min_age = price_option.min_age or event.min_age
    if min_age:
        for number, holder in enumerate(holders, start=1):
            if holder.birthday and age_on(holder.birthday, event.night) < min_age:
                age = age_on(holder.birthday, event.night)
                warnings.append(
                    f"Row {number} ({holder.full_name}) will be {age} on {event.night:%d %b %Y}, "
                    f"under this option's minimum age of {min_age}."
                )
    return warnings


def build_draft(issuance_form: IssuanceForm, formset: BaseHolderFormSet) -> IssuanceDraft:
    """The reviewed request, from two valid forms. Comps are sent at 0 € with no fee."""
    data = issuance_form.cleaned_data
    holders = formset.holders()
    return IssuanceDraft(
        event_id=data["event"].pk,
        rate_id=data["rate"].pk,
        price_option_id=data["price_option"].pk,
        reason_id=data["reason"].pk,
        sale_type=data["sale_type"],
        holders=tuple(holders),
        channel_id=data["channel"].pk if data["channel"] else None,
        promoter_id=data["promoter"].pk if data["promoter"] else None,
        note=data["note"],
        warnings=tuple(batch_warnings(holders, data["price_option"], data["event"])),
    )


def api_call_count(holder_count: int) -> int:
    return math.ceil(holder_count / settings.FOURVENUES_TICKETS_PER_CALL)


# --- CSV import --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CsvRowError:
    line: int  # in the file, the header being line 1
    message: str
    field: str = ""

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message}"


@dataclass
class CsvParseResult:
    rows: list[dict[str, Any]] = field(default_factory=list)  # formset-ready values
    errors: list[CsvRowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    data_rows: int = 0  # non-blank rows after the header, imported or not


def _header_key(text: str) -> str:
    return re.sub(r"[\s_\-.]+", "", fold(text))


# Folded header (no spaces, underscores, dashes or dots) -> field. First name / last name
# columns are combined into the full name.
_HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "full_name": (
        "fullname",
        "nombrecompleto",
        "nombreyapellidos",
        "nombreapellidos",
        "holder",
        "titular",
        "asistente",
        "invitado",
        "guest",
    ),
    "name": ("name", "nombre"),  # a full name, or a first name when a last-name column exists
    "first_name": ("firstname", "givenname", "forename", "nombredepila"),
    "last_name": (
        "lastname",
        "surname",
        "surnames",
        "familyname",
        "apellido",
        "apellidos",
        "primerapellido",
        "segundoapellido",
        "apellido1",
        "apellido2",
    ),
    "email": ("email", "mail", "emailaddress", "correo", "correoelectronico", "mailaddress"),
    "phone": (
        "phone",
        "phonenumber",
        "telephone",
        "tel",
        "mobile",
        "mobilephone",
        "cellphone",
        "cell",
        "telefono",
        "movil",
        "celular",
        "numerodetelefono",
        "telefonomovil",
        "numerodemovil",
        "mobilenumber",
        "telmovil",
    ),
    "gender": ("gender", "sex", "genero", "sexo"),
    "birthday": (
        "birthday",
        "birthdate",
        "dateofbirth",
        "dob",
        "fechadenacimiento",
        "fechanacimiento",
        "nacimiento",
        "cumpleanos",
    ),
    "address": ("address", "streetaddress", "direccion", "domicilio"),
    "country": ("country", "countrycode", "pais", "codigopais", "codigodepais"),
    "postal_code": ("postalcode", "postcode", "zip", "zipcode", "cp", "codigopostal"),
    "document_type": (
        "documenttype",
        "doctype",
        "idtype",
        "tipodocumento",
        "tipodedocumento",
        "tipodoc",
    ),
    "document_number": (
        "document",
        "documentnumber",
        "docnumber",
        "idnumber",
        "documento",
        "numerodocumento",
        "numerodedocumento",
        "numdocumento",
        "dni",
        "nif",
        "nie",
        "passport",
        "passportnumber",
        "pasaporte",
    ),
}
_HEADER_FIELD = {syn: name for name, syns in _HEADER_SYNONYMS.items() for syn in syns}
# A number column named after its document type says the type too.
_TYPE_FROM_HEADER = {
    "dni": "dni",
    "nif": "dni",
    "nie": "nie",
    "passport": "passport",
    "passportnumber": "passport",
    "pasaporte": "passport",
}
_GENDER_VALUES = {
    "female": "female",
    "f": "female",
    "woman": "female",
    "mujer": "female",
    "femenino": "female",
    "male": "male",
    "m": "male",
    "man": "male",
    "hombre": "male",
    "h": "male",
    "masculino": "male",
    "varon": "male",
}
_DOCUMENT_TYPE_VALUES = {
    "dni": "dni",
    "nif": "dni",
    "nie": "nie",
    "passport": "passport",
    "pasaporte": "passport",
    "pas": "passport",
    "other": "other",
    "otro": "other",
}
_DNI = re.compile(r"^\d{8}[A-Z]$")
_NIE = re.compile(r"^[XYZ]\d{7}[A-Z]$")


@dataclass(frozen=True)
class _Columns:
    """Where each field is found in a row (column indexes), from the header."""

    width: int  # of the header: a row with more values than that has lost its alignment
    fields: dict[str, int]
    first_name: int | None
    last_names: tuple[int, ...]
    document_type_hint: str


def _map_header(header: list[str]) -> tuple[_Columns | None, list[CsvRowError], list[str]]:
    errors: list[CsvRowError] = []
    by_field: dict[str, list[int]] = {}
    unknown: list[str] = []
    for index, title in enumerate(header):
        name = _HEADER_FIELD.get(_header_key(title))
        if name is None:
            if title.strip():
                unknown.append(title.strip())
            continue
        by_field.setdefault(name, []).append(index)

    last_names = tuple(by_field.pop("last_name", ()))
    names = by_field.pop("name", [])
    first_names = by_field.pop("first_name", [])
    if names and not by_field.get("full_name"):
        # "Nombre" beside "Apellidos" is a first name; on its own it is the whole name.
        if last_names and not first_names:
            first_names = names
        else:
            by_field["full_name"] = names
    elif names:
        unknown.extend(header[i].strip() for i in names)
    if by_field.get("full_name") and (first_names or last_names):
        unknown.extend(header[i].strip() for i in (*first_names, *last_names))
        first_names, last_names = [], ()

    fields: dict[str, int] = {}
    for name, indexes in by_field.items():
        if len(indexes) > 1:
            titles = ", ".join(f"'{header[i].strip()}'" for i in indexes)
            errors.append(CsvRowError(1, f"Columns {titles} all look like the {name}.", name))
        fields[name] = indexes[0]
    if len(first_names) > 1:
        titles = ", ".join(f"'{header[i].strip()}'" for i in first_names)
        errors.append(CsvRowError(1, f"Columns {titles} all look like the first name."))

    if "full_name" not in fields and not (first_names or last_names):
        errors.append(
            CsvRowError(
                1,
                "No name column: name it 'full name' (or 'nombre'), or give 'first name' "
                "and 'last name' ('nombre' and 'apellidos').",
                "full_name",
            )
        )
    if "email" not in fields:
        errors.append(CsvRowError(1, "No email column: name it 'email' (or 'correo').", "email"))

    warnings = []
    if unknown:
        warnings.append(
            "These columns were not recognised and were not imported: "
            + ", ".join(f"'{t}'" for t in unknown)
            + "."
        )
    if errors:
        return None, errors, warnings
    hint = ""
    if "document_number" in fields and "document_type" not in fields:
        hint = _TYPE_FROM_HEADER.get(_header_key(header[fields["document_number"]]), "")
    columns = _Columns(
        width=len(header),
        fields=fields,
        first_name=first_names[0] if first_names else None,
        last_names=last_names,
        document_type_hint=hint,
    )
    return columns, [], warnings


def _sniff_delimiter(text: str) -> str:
    """The delimiter among , ; and tab that splits the header line most.

    Counting on the header alone is predictable; csv.Sniffer guesses wrong on short samples.
    """
    header = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: len(next(csv.reader([header], delimiter=d), [])) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 1 else ","


def _parse_date(value: str) -> str | None:
    """ISO date for YYYY-MM-DD, DD/MM/YYYY, DD-MM-YYYY or DD.MM.YYYY; None if unreadable."""
    for fmt in BIRTHDAY_FORMATS:
        try:
            # Only the date part is used, so the missing time zone is irrelevant.
            return dt.datetime.strptime(value, fmt).date().isoformat()  # noqa: DTZ007
        except ValueError:
            continue
    return None


def _row_values(cells: list[str], columns: _Columns) -> tuple[dict[str, str], dict[str, str]]:
    """Form data for one CSV row, and the problems (field -> message) found before the form
    validates it, in the file's own words."""

    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    problems: dict[str, str] = {}
    values = {name: cell(index) for name, index in columns.fields.items()}
    if "full_name" not in columns.fields:
        parts = [cell(columns.first_name), *(cell(i) for i in columns.last_names)]
        values["full_name"] = " ".join(p for p in parts if p)

    if values.get("gender"):
        gender = _GENDER_VALUES.get(fold(values["gender"]))
        if gender is None:
            problems["gender"] = (
                f"Gender: '{values['gender']}' is not understood; use female or male "
                "(mujer or hombre), or leave it blank."
            )
        values["gender"] = gender or ""
    if values.get("birthday"):
        parsed = _parse_date(values["birthday"])
        if parsed is None:
            problems["birthday"] = (
                f"Birthday: '{values['birthday']}' is not a date; use YYYY-MM-DD or DD/MM/YYYY."
            )
        values["birthday"] = parsed or ""
    if values.get("document_type"):
        doc_type = _DOCUMENT_TYPE_VALUES.get(fold(values["document_type"]))
        if doc_type is None:
            problems["document_type"] = (
                f"Document type: '{values['document_type']}' is not one of "
                "DNI, NIE, passport or other."
            )
        values["document_type"] = doc_type or ""
    number = "".join(values.get("document_number", "").split()).upper()
    if number and not values.get("document_type") and "document_type" not in problems:
        # The column's name (DNI, pasaporte...) or the number's shape gives the type.
        values["document_type"] = columns.document_type_hint or (
            "dni" if _DNI.match(number) else "nie" if _NIE.match(number) else ""
        )
    return values, problems


def parse_holder_csv(text: str, *, supplements: Sequence[Supplement] = ()) -> CsvParseResult:
    """Holder rows from CSV text. Every data row is either imported or reported with its line
    number in the file (the header is line 1); only blank lines are skipped."""
    result = CsvParseResult()
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text), delimiter=_sniff_delimiter(text))
    columns: _Columns | None = None
    header_seen = False
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(CsvRowError(reader.line_num, f"Unreadable CSV: {exc}."))
            break
        # A row may span several lines (quoted line breaks); report the line it starts on.
        line = reader.line_num - sum(c.count("\n") for c in cells)
        if not any(c.strip() for c in cells):
            continue
        if not header_seen:
            header_seen = True
            columns, header_errors, warnings = _map_header(cells)
            result.warnings.extend(warnings)
            # Header errors are reported against the header's real line.
            result.errors.extend(CsvRowError(line, e.message, e.field) for e in header_errors)
            continue
        result.data_rows += 1
        if columns is None:
            continue
        row, errors = _parse_row(cells, line, columns, supplements)
        if row is not None:
            result.rows.append(row)
        result.errors.extend(errors)
    if not header_seen:
        result.errors.append(CsvRowError(1, "The CSV is empty."))
    elif columns is None and result.data_rows:
        result.errors.append(
            CsvRowError(
                1,
                f"None of the {result.data_rows} rows were imported: fix the header first.",
            )
        )
    return result


def _parse_row(
    cells: list[str], line: int, columns: _Columns, supplements: Sequence[Supplement]
) -> tuple[dict[str, Any] | None, list[CsvRowError]]:
    """The formset values of one data row, or the reasons it cannot be imported."""
    extra = [c.strip() for c in cells[columns.width :] if c.strip()]
    if extra:
        # Usually an unquoted delimiter inside a value: every later column would be shifted.
        return None, [
            CsvRowError(
                line,
                f"{len(cells)} values for {columns.width} columns (extra: "
                + ", ".join(f"'{v}'" for v in extra)
                + "); quote values that contain the delimiter.",
            )
        ]
    values, problems = _row_values(cells, columns)
    form = HolderForm(data=values, supplements=supplements)
    valid = form.is_valid()
    errors = [CsvRowError(line, message, name) for name, message in problems.items()]
    if valid and not errors:
        return form.formset_values(), []
    for name, field_errors in form.errors.items():
        if name in problems:
            continue  # already said, in the file's own words
        label = _field_label(form, name)
        errors.extend(CsvRowError(line, f"{label}: {e}", name) for e in field_errors)
    return None, errors


def _field_label(form: forms.Form, name: str) -> str:
    if name == NON_FIELD_ERRORS:
        return "Row"
    return str(form.fields[name].label or name.replace("_", " ").capitalize())


def decode_csv_bytes(raw: bytes) -> str:
    """UTF-8 (with or without the BOM Excel writes), else Windows-1252 (Excel's "CSV" on a
    Spanish Windows), else Latin-1, which accepts any byte."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


class CsvImportForm(forms.Form):
    """A pasted or uploaded CSV of holders. Valid means readable and within the limits; rows
    that fail validation are in `cleaned_data["result"].errors`, each with its line number."""

    csv_text = forms.CharField(
        required=False,
        strip=False,
        label="Paste CSV",
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": "full name,email,phone\nAna Pérez,ana@example.com,"}
        ),
    )
    csv_file = forms.FileField(required=False, label="or upload a CSV file")
    csv_mode = forms.ChoiceField(
        choices=[("replace", "Replace the rows"), ("append", "Add after the rows")],
        initial="replace",
        widget=forms.RadioSelect,
        label="Imported rows",
    )

    def __init__(self, *args: Any, supplements: Sequence[Supplement] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.supplements = list(supplements)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        text: str = data.get("csv_text") or ""
        upload = data.get("csv_file")
        if upload and text.strip():
            raise ValidationError("Paste the CSV or upload a file, not both.")
        if upload:
            if upload.size > MAX_CSV_BYTES:
                raise ValidationError("The file is over 1 MB; split it.")
            text = decode_csv_bytes(upload.read())
        elif not text.strip():
            raise ValidationError("Paste the CSV text or choose a file.")
        elif len(text.encode()) > MAX_CSV_BYTES:
            raise ValidationError("The pasted text is over 1 MB; split it.")
        result = parse_holder_csv(text, supplements=self.supplements)
        if result.data_rows > MAX_HOLDERS:
            raise ValidationError(
                f"The CSV has {result.data_rows} holders; at most {MAX_HOLDERS} fit in one "
                "issuance. Nothing was imported: split the file."
            )
        data["result"] = result
        return data


# --- Reports ---------------------------------------------------------------------------------

GROUPING_TITLES = {
    "event": "Per event",
    "issuer": "Per issuer",
    "reason": "Per reason",
    "week": "Per week",
}


class ReportFilterForm(forms.Form):
    group = forms.ChoiceField(
        choices=[(g, GROUPING_TITLES[g]) for g in selectors.REPORT_GROUPINGS], required=False
    )
    date_from = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    environment = forms.ChoiceField(choices=Environment.choices, required=False)

    def clean(self) -> dict[str, object]:
        data = super().clean()
        _, default_to = selectors.default_report_period()
        data["group"] = data.get("group") or "event"
        data["date_to"] = data.get("date_to") or default_to
        data["date_from"] = data.get("date_from") or data["date_to"] - dt.timedelta(
            days=selectors.REPORT_DEFAULT_DAYS - 1
        )
        if data["date_from"] > data["date_to"]:
            raise forms.ValidationError("“From” must be on or before “To”.")
        if not data.get("environment"):
            credential = selectors.active_credential()
            data["environment"] = credential.environment if credential else Environment.ALPHA
        return data


# --- Reconciliation ----------------------------------------------------------------------------


class StartReconciliationForm(forms.Form):
    full = forms.BooleanField(
        required=False,
        label="Full run",
        help_text="Every ticket of the event, the only way to find tickets missing on Fourvenues.",
    )


class DiscrepancyFilterForm(forms.Form):
    event = forms.ModelChoiceField(queryset=Event.objects.order_by("-night"), required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *DiscrepancyKind.choices], required=False)
    state = forms.ChoiceField(
        choices=[("", "Any state"), *DiscrepancyState.choices], required=False
    )

    def __init__(self, data: QueryDict | None = None, **kwargs: Any) -> None:
        # An untouched queue shows what needs acting on, and its state select says so.
        if data is not None and "state" not in data:
            data = data.copy()
            data["state"] = DiscrepancyState.OPEN
        super().__init__(data, **kwargs)


class IdsField(forms.ModelMultipleChoiceField):
    """Rows picked by id. An id past the database's integer range is refused as not an id:
    Django would send it to SQLite, which raises OverflowError on `IN (...)` (a 500)."""

    MAX_ID = 2**63 - 1

    def _check_values(self, value: Any) -> Any:
        for pk in value:  # clean() has made sure it is a list
            if str(pk).isdigit() and int(pk) > self.MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class AcknowledgeDiscrepanciesForm(forms.Form):
    discrepancies = IdsField(
        queryset=Discrepancy.objects.filter(state=DiscrepancyState.OPEN),
        error_messages={
            "required": "Select at least one difference.",
            "invalid_choice": "A selected difference is no longer open: reload the page.",
            "invalid_pk_value": "Select differences from the list.",
        },
    )
    reason = forms.CharField(
        max_length=500,
        error_messages={"required": "Say why these differences are acceptable."},
    )
