"""The issuing form: what is issued and on whose behalf. The holders are in `forms.holders`.

- `IssuanceForm`: what is issued (event, rate, price option), to whom it is attributed (a
  channel, a promoter or neither, never both), sale type, reason and note, plus the
  idempotency key minted when the form was first rendered.
- `build_draft`: turn the validated forms into the `IssuanceDraft` the review page shows.
"""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from tickets.drafts import IssuanceDraft, batch_warnings
from tickets.forms.holders import BaseHolderFormSet
from tickets.models import Channel, DeliveryMode, Event, PriceOption, Promoter, Rate
from tickets.selectors import catalogue as catalogue_selectors

# --- Attribution, sale type, the event --------------------------------------------------------


class Attribution:
    NONE = "none"
    CHANNEL = "channel"
    PROMOTER = "promoter"
    CHOICES = [
        (NONE, pgettext_lazy("attributed to", "Neither")),
        (CHANNEL, gettext_lazy("A channel")),
        (PROMOTER, gettext_lazy("A promoter")),
    ]


def delivery_choices(*, fourvenues_sends: bool) -> list[tuple[str, Any]]:
    """The ways offered: Fourvenues only when the credential in use says it sends tickets."""
    return [
        (mode, label)
        for mode, label in DeliveryMode.choices
        if fourvenues_sends or mode != DeliveryMode.FOURVENUES
    ]


def default_delivery_mode(*, fourvenues_sends: bool) -> str:
    # Where Fourvenues already e-mails the tickets, a second message from Comps would confuse.
    return DeliveryMode.FOURVENUES if fourvenues_sends else DeliveryMode.COMPS


class EventChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Event) -> str:
        # Day and month names in the page's language ("sáb 14 jun 2025").
        return f"{formats.date_format(obj.night, 'D j M Y')} · {obj.name}"


class PriceOptionChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: PriceOption) -> str:
        return price_option_label(obj)


def price_option_label(option: PriceOption) -> str:
    price = formats.number_format(option.price, decimal_pos=2, use_l10n=True, force_grouping=True)
    parts = [_("%(price)s € face value") % {"price": price}]
    if option.content:
        parts.append(option.content)
    if option.min_age:
        parts.append(f"{option.min_age}+")
    return " · ".join(parts)


class IssuanceForm(forms.Form):
    """What is issued and on whose behalf. The holders come in `HolderFormSet`."""

    event = EventChoiceField(
        queryset=Event.objects.none(),
        empty_label=gettext_lazy("Pick an event"),
        label=gettext_lazy("Event"),
    )
    rate = forms.ModelChoiceField(
        queryset=Rate.objects.none(),
        empty_label=gettext_lazy("Pick a rate"),
        label=gettext_lazy("Rate"),
        error_messages={"invalid_choice": gettext_lazy("Pick one of the chosen event's rates.")},
    )
    price_option = PriceOptionChoiceField(
        queryset=PriceOption.objects.none(),
        empty_label=gettext_lazy("Pick a price option"),
        label=gettext_lazy("Price option"),
        error_messages={
            "invalid_choice": gettext_lazy("Pick one of the chosen rate's price options.")
        },
    )
    attribution = forms.ChoiceField(
        choices=Attribution.CHOICES,
        initial=Attribution.NONE,
        widget=forms.RadioSelect,
        label=gettext_lazy("Attributed to"),
    )
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.none(),
        required=False,
        empty_label=gettext_lazy("Pick a channel"),
        label=gettext_lazy("Channel"),
    )
    promoter = forms.ModelChoiceField(
        queryset=Promoter.objects.none(),
        required=False,
        empty_label=gettext_lazy("Pick a promoter"),
        label=gettext_lazy("Promoter"),
    )
    # One documented value today; still a validated choice so a tampered post cannot slip
    # another value past the review page.
    sale_type = forms.ChoiceField(choices=(), widget=forms.HiddenInput)
    reason = forms.ModelChoiceField(
        queryset=None, empty_label=gettext_lazy("Pick a reason"), label=gettext_lazy("Reason")
    )
    note = forms.CharField(
        required=False,
        max_length=1000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=gettext_lazy("Note"),
        help_text=gettext_lazy("Optional: who asked, what for. Kept with the issuance."),
    )
    # Not required: a post without it (an older page, a script) gets the default way.
    delivery_mode = forms.ChoiceField(
        choices=(),
        required=False,
        widget=forms.RadioSelect,
        label=gettext_lazy("How guests get their tickets"),
        error_messages={
            "invalid_choice": gettext_lazy(
                "Fourvenues does not send this credential's tickets: choose another way."
            )
        },
    )
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(
        self,
        *,
        environment: str,
        fourvenues_sends: bool = False,
        data: Any = None,
        initial: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(data=data, initial=initial)
        self.environment = environment
        choices = delivery_choices(fourvenues_sends=fourvenues_sends)
        self.default_delivery_mode = default_delivery_mode(fourvenues_sends=fourvenues_sends)
        self.fields["delivery_mode"].choices = choices
        self.fields["delivery_mode"].initial = self.default_delivery_mode
        if self.initial.get("delivery_mode") not in dict(choices):
            # An earlier issuance's way that is no longer offered: the default instead.
            self.initial.pop("delivery_mode", None)
        events = catalogue_selectors.issuable_events(environment=environment)
        self.fields["event"].queryset = events
        self.fields["channel"].queryset = catalogue_selectors.channels(environment=environment)
        self.fields["promoter"].queryset = catalogue_selectors.promoters(environment=environment)
        self.fields["reason"].queryset = catalogue_selectors.active_reasons()
        sale_type = settings.FOURVENUES_SALE_TYPE
        self.fields["sale_type"].choices = [(sale_type, sale_type)]
        self.fields["sale_type"].initial = sale_type

        # The rate and option lists follow the chosen event and rate, so a rate of another
        # event (or an option of another rate) is simply not a valid choice.
        event = _pick(events, self._raw("event"))
        self.chosen_event = event
        if event is not None:
            rates = catalogue_selectors.rates_for_event(event=event)
            self.fields["rate"].queryset = rates
            rate = _pick(rates, self._raw("rate"))
            self.chosen_rate = rate
            if rate is not None:
                self.fields["price_option"].queryset = catalogue_selectors.options_for_rate(
                    rate=rate
                )
        else:
            self.chosen_rate = None

    def _raw(self, name: str) -> Any:
        if self.is_bound:
            return self.data.get(self.add_prefix(name))
        value = self.initial.get(name)
        return getattr(value, "pk", value)

    def clean_delivery_mode(self) -> str:
        return self.cleaned_data["delivery_mode"] or self.default_delivery_mode

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        event, rate, option = data.get("event"), data.get("rate"), data.get("price_option")
        # The querysets already enforce this; checked again because a comp for the wrong event
        # cannot be undone (Fourvenues has no cancel).
        if event and rate and rate.event_id != event.pk:
            self.add_error("rate", _("This rate is not one of the chosen event's rates."))
        if rate and option and option.rate_id != rate.pk:
            self.add_error("price_option", _("This price option is not one of the rate's options."))

        attribution = data.get("attribution")
        channel, promoter = data.get("channel"), data.get("promoter")
        if channel and promoter:
            self.add_error(
                None,
                _(
                    "A comp is attributed to a channel or to a promoter, never both: "
                    "clear one of them (Fourvenues refuses both)."
                ),
            )
        elif attribution == Attribution.NONE and (channel or promoter):
            self.add_error(
                "attribution",
                _(
                    "You picked a channel or promoter but 'Neither': choose which it is "
                    "attributed to."
                ),
            )
        elif attribution == Attribution.CHANNEL and not channel:
            self.add_error("channel", _("Pick the channel, or choose 'Neither'."))
        elif attribution == Attribution.PROMOTER and not promoter:
            self.add_error("promoter", _("Pick the promoter, or choose 'Neither'."))
        return data

    @classmethod
    def for_draft(
        cls,
        *,
        draft: IssuanceDraft,
        key: uuid.UUID,
        environment: str,
        fourvenues_sends: bool = False,
    ) -> IssuanceForm:
        """A bound form holding a stored draft: the review page revalidates it against today's
        catalogue (the event may have passed, an option may have been withdrawn) and credential
        (it may no longer let Fourvenues send)."""
        initial = issuance_initial_from_draft(draft, key)
        data = {name: "" if value is None else str(value) for name, value in initial.items()}
        return cls(environment=environment, fourvenues_sends=fourvenues_sends, data=data)


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
        "delivery_mode": draft.delivery_mode,
        "idempotency_key": key,
    }


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
        delivery_mode=data["delivery_mode"],
        warnings=tuple(
            str(w) for w in batch_warnings(holders, data["price_option"], data["event"])
        ),
        blank_rows=tuple(formset.blank_rows()),
    )


def offered_initial(
    *,
    environment: str,
    event_id: int | None,
    rate_id: int | None,
    price_option_id: int | None,
    reason_id: int | None,
    channel_id: int | None,
    promoter_id: int | None,
) -> dict[str, Any]:
    """Initial values for a fresh form from earlier choices (the issuer's last issuance, or the
    one issued again), keeping only what the form still offers: an event past or hidden, a rate
    withdrawn or a reason retired is left out (and so is what hangs on it), never preselected."""
    initial: dict[str, Any] = {}
    event = _pick(catalogue_selectors.issuable_events(environment=environment), event_id)
    if event is not None:
        initial["event"] = event.pk
        rate = _pick(catalogue_selectors.rates_for_event(event=event), rate_id)
        if rate is not None:
            initial["rate"] = rate.pk
            option = _pick(catalogue_selectors.options_for_rate(rate=rate), price_option_id)
            if option is not None:
                initial["price_option"] = option.pk
    reason = _pick(catalogue_selectors.active_reasons(), reason_id)
    if reason is not None:
        initial["reason"] = reason.pk
    channel = _pick(catalogue_selectors.channels(environment=environment), channel_id)
    promoter = _pick(catalogue_selectors.promoters(environment=environment), promoter_id)
    if channel is not None:
        initial.update(attribution=Attribution.CHANNEL, channel=channel.pk)
    elif promoter is not None:
        initial.update(attribution=Attribution.PROMOTER, promoter=promoter.pk)
    return initial
