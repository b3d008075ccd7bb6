"""The ticket search's forms. `TicketSearchForm` parses and validates the page's query
parameters into `TicketSearchFilters`, which `tickets.selectors.search.search_tickets` applies; a
bad value is a form error on the page, never a 500. `SavedSearchForm` keeps a search by name."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from html import escape
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _

from tickets.models import Channel, Environment, Event, Issuance, Promoter, Reason
from tickets.redaction import mask_document
from tickets.selectors import search as search_selectors
from tickets.text import document_digest, normalise_document, person_label

STATUS_CHOICES = [
    ("", gettext_lazy("Any status")),
    (search_selectors.STATUS_VALID, gettext_lazy("Valid")),
    (search_selectors.STATUS_INVALID, gettext_lazy("Not valid (cancelled, refunded…)")),
    (search_selectors.STATUS_REFUNDED, gettext_lazy("Refunded")),
    (search_selectors.STATUS_WITHDRAWN, pgettext_lazy("ticket status", "Withdrawn")),
]
CHECKED_IN_CHOICES = [
    ("", gettext_lazy("Checked in or not")),
    (search_selectors.CHECKED_IN_YES, gettext_lazy("Checked in")),
    (search_selectors.CHECKED_IN_NO, gettext_lazy("Not checked in")),
]

# Every parameter the search page understands: what the URL carries and the form validates.
PARAMS = (
    "q",
    "event",
    "rate",
    "status",
    "issued_by",
    "reason",
    "attribution",
    "issued_from",
    "issued_to",
    "night_from",
    "night_to",
    "checked_in",
    "environment",
    "sort",
    "doc",
)
# The parameter a search by document number travels as: a token that stands, in the user's
# session, for the number's digest (see `DocumentSearchForm`). Never the number itself.
DOCUMENT_TOKEN_PARAM = "doc"  # noqa: S105 (a parameter's name, not a secret)


# The export columns travel with a search (and so are saved with it).
COLUMNS_PARAM = "columns"


def requested_columns(params: QueryDict) -> list[str]:
    """`columns=a,b,c`, or the key repeated (`columns=a&columns=b`); empty when none asked."""
    return [key for value in params.getlist(COLUMNS_PARAM) for key in value.split(",") if key]


class FastSelect(forms.Select):
    """A <select> whose options are built in Python: Django renders every option through a
    template, which costs the search page (several selects, one per event) about 100 ms; and
    escaped by the standard library, as Django's `format_html` per option cost a few more."""

    def render(
        self,
        name: str,
        value: object,
        attrs: dict[str, object] | None = None,
        renderer: object = None,
    ) -> str:
        selected = {str(v) for v in self.format_value(value)}
        options = "".join(
            f'<option value="{escape(str(option))}"'
            f"{' selected' if str(option) in selected else ''}>{escape(str(label))}</option>"
            for option, label in self.choices
        )
        final_attrs = self.build_attrs(self.attrs, {**(attrs or {}), "name": name})
        # Every value and label was escaped above, and flatatt escapes the attributes.
        return mark_safe(f"<select{flatatt(final_attrs)}>{options}</select>")  # noqa: S308


# How long the search filters' lists (events, issuers, reasons, channels, promoters) are kept
# between pages, per process. Only the options shown wait for it: a value chosen is checked
# against the database, so an event mirrored a moment ago is searchable at once by its URL.
FILTER_CHOICES_SECONDS = 60


def cached_choices(
    key: str, rows: Callable[[], list[tuple[object, str]]]
) -> list[tuple[object, str]]:
    return cache.get_or_set(f"search-filter-choices:{key}", rows, FILTER_CHOICES_SECONDS)


class RowChoiceIterator(ModelChoiceIterator):
    """Options straight from database rows: a model instance per option (every event, every
    issuer) cost the search page more than its query. Kept a minute (`cached_choices`)."""

    field: RowChoiceField

    def __iter__(self) -> Iterator[tuple[object, str]]:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        # Per language: a label may hold a date, written as the language writes it.
        yield from cached_choices(f"{self.field.cache_key}:{get_language()}", self._rows)

    def _rows(self) -> list[tuple[object, str]]:
        return [
            (pk, self.field.label_from_row(*columns))
            for pk, *columns in self.queryset.values_list("pk", *self.field.label_columns)
        ]


class RowChoiceField(forms.ModelChoiceField):
    """A ModelChoiceField whose option labels are made from `label_columns` of each row."""

    iterator = RowChoiceIterator

    def __init__(
        self,
        *,
        cache_key: str,
        label_columns: tuple[str, ...],
        label_from_row: Callable[..., str],
        **kwargs: Any,
    ) -> None:
        self.cache_key = cache_key
        self.label_columns = label_columns
        self.label_from_row = label_from_row
        super().__init__(widget=FastSelect, **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


def attribution_choices() -> list[tuple[str, str]]:
    """Channels and promoters, for the attribution <select> (kept a minute, `cached_choices`)."""

    def rows() -> list[tuple[object, str]]:
        channels = Channel.objects.values_list("pk", "name")
        promoters = Promoter.objects.only("pk", "first_name", "last_name", "email")
        return [(f"channel:{pk}", name) for pk, name in channels] + [
            (f"promoter:{p.pk}", str(p)) for p in promoters
        ]

    # The kind of each option is said here, in the page's language: the cached list holds
    # only names, shared by every language.
    channel, promoter = _("Channel: %(name)s"), _("Promoter: %(name)s")
    return [
        ("", _("Any attribution")),
        (search_selectors.ATTRIBUTION_NONE, _("None (no channel or promoter)")),
        *(
            (value, (channel if value.startswith("channel:") else promoter) % {"name": name})
            for value, name in cached_choices("attribution", rows)
        ),
    ]


class _Lazy:
    """An iterable computed when iterated, each time."""

    def __init__(self, make: Callable[[], list[tuple[Any, str]]]) -> None:
        self.make = make

    def __iter__(self) -> Iterator[tuple[Any, str]]:
        return iter(self.make())


class TicketSearchForm(forms.Form):
    """Validates the search page's GET parameters; `filters()` is what the selector applies."""

    q = forms.CharField(
        required=False,
        max_length=200,
        label=gettext_lazy("Search"),
        help_text=gettext_lazy(
            "Name, email, phone, ticket code, QR code or payment id. For a document "
            "number, use “Find by document number”: it stays out of the page's address."
        ),
    )
    event = RowChoiceField(
        cache_key="event",
        queryset=Event.objects.all(),
        label_columns=("name", "night"),
        label_from_row=lambda name, night: f"{name} ({date_format(night, 'D j M Y')})",
        required=False,
        label=gettext_lazy("Event"),
        empty_label=gettext_lazy("Any event"),
    )
    rate = forms.CharField(required=False, max_length=300, label=gettext_lazy("Rate name"))
    status = forms.ChoiceField(
        choices=STATUS_CHOICES, required=False, label=gettext_lazy("Status"), widget=FastSelect
    )
    issued_by = RowChoiceField(
        cache_key="issued_by",
        queryset=get_user_model().objects.none(),
        label_columns=("username", "first_name", "last_name"),
        label_from_row=person_label,
        required=False,
        label=gettext_lazy("Issued by"),
        empty_label=gettext_lazy("Anyone"),
    )
    reason = RowChoiceField(
        cache_key="reason",
        queryset=Reason.objects.all(),
        label_columns=("label",),
        label_from_row=str,
        required=False,
        label=gettext_lazy("Reason"),
        empty_label=gettext_lazy("Any reason"),
    )
    attribution = forms.CharField(
        required=False, max_length=120, label=gettext_lazy("Attribution"), widget=FastSelect
    )
    issued_from = forms.DateField(
        required=False, widget=DateInput(), label=gettext_lazy("Issued from")
    )
    issued_to = forms.DateField(
        required=False, widget=DateInput(), label=gettext_lazy("Issued until")
    )
    night_from = forms.DateField(
        required=False, widget=DateInput(), label=gettext_lazy("Event night from")
    )
    night_to = forms.DateField(
        required=False, widget=DateInput(), label=gettext_lazy("Event night until")
    )
    checked_in = forms.ChoiceField(
        choices=CHECKED_IN_CHOICES,
        required=False,
        label=gettext_lazy("Check-in"),
        widget=FastSelect,
    )
    environment = forms.ChoiceField(
        choices=[("", gettext_lazy("Any environment")), *Environment.choices],
        required=False,
        label=gettext_lazy("Environment"),
        widget=FastSelect,
    )
    sort = forms.CharField(required=False, max_length=40)
    doc = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(
        self,
        *args: object,
        document_tokens: Mapping[str, str] | None = None,
        **kwargs: object,
    ) -> None:
        """`document_tokens`: the user's searches by document number, token -> digest (kept in
        their session by the view); a `doc` token not among them no longer means anything."""
        super().__init__(*args, **kwargs)
        self.document_tokens = dict(document_tokens or {})
        user_model = get_user_model()
        # EXISTS probes the issuer index per user; a join + DISTINCT would read every issuance.
        self.fields["issued_by"].queryset = user_model.objects.filter(
            Exists(Issuance.objects.filter(created_by=OuterRef("pk")))
        ).order_by("username")
        # Only queried when the page is rendered (an export validates the form and no more).
        self.fields["attribution"].widget.choices = _Lazy(attribution_choices)
        self.fields["attribution"].widget.attrs.pop("maxlength")  # a <select> has no such thing
        for field in self.fields.values():
            is_select = isinstance(field.widget, forms.Select)
            field.widget.attrs.setdefault(
                "class",
                "form-select form-select-sm" if is_select else "form-control form-control-sm",
            )

    def clean_attribution(self) -> tuple[str, int | None] | None:
        value = (self.cleaned_data.get("attribution") or "").strip()
        if not value:
            return None
        if value == search_selectors.ATTRIBUTION_NONE:
            return (search_selectors.ATTRIBUTION_NONE, None)
        kind, _colon, pk = value.partition(":")
        if kind not in ("channel", "promoter") or not pk.isdigit():
            raise forms.ValidationError(
                _('Attribution must be "none", "channel:<id>" or "promoter:<id>".')
            )
        return (kind, int(pk))

    def clean_sort(self) -> str:
        value = (self.cleaned_data.get("sort") or "").strip()
        if not value:
            return search_selectors.DEFAULT_SORT
        sort_fields = search_selectors.SORT_FIELDS
        if value.removeprefix("-") not in sort_fields:
            raise forms.ValidationError(
                _("Cannot sort by “%(value)s”. Sort by one of: %(keys)s.")
                % {"value": value, "keys": ", ".join(sort_fields)}
            )
        return value

    def clean_doc(self) -> str:
        """The digest the `doc` token stands for."""
        token = (self.cleaned_data.get("doc") or "").strip()
        if not token:
            return ""
        digest = self.document_tokens.get(token)
        if not digest:
            raise forms.ValidationError(
                _(
                    "This search by document number has expired (it lasts as long as you are "
                    "signed in): find the document number again."
                )
            )
        return digest

    def clean(self) -> dict[str, object]:
        cleaned = super().clean()
        for start, end in (("issued_from", "issued_to"), ("night_from", "night_to")):
            if cleaned.get(start) and cleaned.get(end) and cleaned[start] > cleaned[end]:
                self.add_error(end, _("The end date is before the start date."))
        return cleaned

    @classmethod
    def from_query(
        cls, params: Mapping[str, Any], *, document_tokens: Mapping[str, str] | None = None
    ) -> TicketSearchForm:
        """The form bound to the search's own parameters in `params` (a page's GET): a missing
        one is empty, and strangers (page, format, columns...) are left out."""
        return cls(
            data={key: params.get(key, "") for key in PARAMS}, document_tokens=document_tokens
        )

    def filters(self) -> search_selectors.TicketSearchFilters:
        """The validated filters, typed; only for a form that validated."""
        if not self.is_valid():
            raise ValueError("The search form did not validate: it has no filters.")
        cleaned = dict(self.cleaned_data)
        cleaned["document_digest"] = cleaned.pop(DOCUMENT_TOKEN_PARAM)
        return search_selectors.TicketSearchFilters(**cleaned)


class DocumentSearchForm(forms.Form):
    """Find tickets by a holder's full document number, posted so that the number never
    appears in a URL (browser history, access logs, links, saved searches)."""

    document = forms.CharField(
        max_length=60,
        label=gettext_lazy("Document number"),
        error_messages={
            "required": gettext_lazy("Type the holder's document number."),
            "max_length": gettext_lazy("A document number has at most 60 characters."),
        },
    )

    def clean_document(self) -> str:
        """The digest of the number: the only form of it that goes further."""
        number = self.cleaned_data["document"]
        if len(normalise_document(number)) < search_selectors.DOCUMENT_MIN_LENGTH:
            raise forms.ValidationError(
                _(
                    "Type the full document number: part of one finds nothing (at least "
                    "%(count)s letters or digits)."
                )
                % {"count": search_selectors.DOCUMENT_MIN_LENGTH}
            )
        return document_digest(number)

    def hint(self) -> str:
        """What staff may see of the number searched for, to say what the results are of."""
        return mask_document(normalise_document(self.data.get("document", "")))


class SavedSearchForm(forms.Form):
    """A search kept under a name: the name typed, and the page's query string."""

    name = forms.CharField(
        max_length=100,
        label=gettext_lazy("Name"),
        error_messages={
            "required": gettext_lazy("Give the search a name to save it."),
            "max_length": gettext_lazy("A saved search's name has at most 100 characters."),
        },
    )
    query = forms.CharField(required=False, max_length=2000, strip=False)
