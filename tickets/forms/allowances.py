"""The allowances pages' forms: validation only (the services write, and check again)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _

from tickets.models import Allowance, AllowancePeriod, Event, IssuerGroup, Promoter, Rate
from tickets.selectors import allowances as selectors


class IssuerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.get_username()})" if name else obj.get_username()


class IssuersChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name()
        return f"{name} ({obj.get_username()})" if name else obj.get_username()


class EventChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Event) -> str:
        return f"{obj.night:%d/%m/%Y} · {obj.name}"


class RateChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Rate) -> str:
        return f"{obj.event.night:%d/%m/%Y} · {obj.event.name} · {obj.name}"


class AllowanceForm(forms.Form):
    """Whose allowance (exactly one of issuer, promoter, group), for what, and how much."""

    user = IssuerChoiceField(
        label=_("Issuer"), queryset=User.objects.none(), required=False, empty_label="—"
    )
    promoter = forms.ModelChoiceField(
        label=_("Promoter"), queryset=Promoter.objects.none(), required=False, empty_label="—"
    )
    issuer_group = forms.ModelChoiceField(
        label=_("Group of issuers"),
        queryset=IssuerGroup.objects.none(),
        required=False,
        empty_label="—",
    )
    event = EventChoiceField(
        label=_("Event"),
        queryset=Event.objects.none(),
        required=False,
        empty_label=_("Any event"),
        help_text=_("Empty: every event, each counted on its own (or per night or week)."),
    )
    rate = RateChoiceField(
        label=_("Rate"),
        queryset=Rate.objects.none(),
        required=False,
        empty_label=_("Any rate"),
        help_text=_("Only with an event: the rate must be one of its rates."),
    )
    period = forms.ChoiceField(
        label=_("Counted"), choices=AllowancePeriod.choices, initial=AllowancePeriod.EVENT
    )
    people = forms.IntegerField(
        label=_("People"),
        min_value=1,
        max_value=100_000,
        help_text=_("People admitted: a ticket for a group counts everyone it lets in."),
        error_messages={"min_value": _("An allowance is for at least one person.")},
    )
    face_value = forms.DecimalField(
        label=_("Face value (€)"),
        required=False,
        min_value=Decimal("0"),
        max_digits=10,
        decimal_places=2,
        help_text=_("Optional: the most the comps may be worth at their price options' price."),
        error_messages={"min_value": _("The face value cannot be negative.")},
    )

    def __init__(
        self,
        *args: Any,
        environment: str | None,
        allowance: Allowance | None = None,
        **kwargs: Any,
    ) -> None:
        if allowance is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "user": allowance.user_id,
                "promoter": allowance.promoter_id,
                "issuer_group": allowance.issuer_group_id,
                "event": allowance.event_id,
                "rate": allowance.rate_id,
                "period": allowance.period,
                "people": allowance.people,
                "face_value": allowance.face_value,
            }
        super().__init__(*args, **kwargs)
        keep_event = allowance.event_id if allowance is not None else None
        keep_promoter = allowance.promoter_id if allowance is not None else None
        keep_user = allowance.user_id if allowance is not None else None
        events = selectors.allowance_events(environment=environment, keep=keep_event)
        self.fields["user"].queryset = selectors.issuers(keep=keep_user)
        self.fields["promoter"].queryset = selectors.promoters(
            environment=environment, keep=keep_promoter
        )
        self.fields["issuer_group"].queryset = IssuerGroup.objects.order_by("name")
        self.fields["event"].queryset = events
        self.fields["rate"].queryset = (
            Rate.objects.filter(event__in=events)
            .select_related("event")
            .order_by("event__night", "event__name", "position", "name")
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        holders = [data.get(name) for name in ("user", "promoter", "issuer_group")]
        if sum(holder is not None for holder in holders) != 1:
            raise forms.ValidationError(
                _("Choose exactly one: an issuer, a promoter or a group of issuers."),
                code="holder",
            )
        rate, event = data.get("rate"), data.get("event")
        if rate is not None and (event is None or rate.event_id != event.pk):
            self.add_error("rate", _("That rate is not one of the chosen event's."))
        return data


class IssuerGroupForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    members = IssuersChoiceField(
        label=_("Members"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    approval_required = forms.BooleanField(
        label=_("Over an allowance, ask a manager"),
        required=False,
        initial=True,
        help_text=_(
            "Off: issuances over an allowance are refused instead of waiting for approval."
        ),
    )

    def __init__(self, *args: Any, group: IssuerGroup | None = None, **kwargs: Any) -> None:
        if group is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": group.name,
                "members": list(group.members.values_list("pk", flat=True)),
                "approval_required": group.approval_required,
            }
        super().__init__(*args, **kwargs)
        keep = list(group.members.values_list("pk", flat=True)) if group is not None else []
        self.fields["members"].queryset = selectors.issuers(keep=keep)
