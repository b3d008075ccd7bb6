"""The issuing form and the draft it builds (tickets/forms/issue.py)."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from tests import factories as f
from tests.forms.test_holders import rows_data
from tickets.forms.holders import holder_formset
from tickets.forms.issue import IssuanceForm, build_draft, offered_initial
from tickets.models import Reason

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    option = f.PriceOptionFactory(min_age=18)
    other_rate = f.RateFactory(event=option.rate.event)
    other_event_option = f.PriceOptionFactory()
    return {
        "event": option.rate.event,
        "rate": option.rate,
        "option": option,
        "other_rate": other_rate,
        "other_rate_option": f.PriceOptionFactory(rate=other_rate),
        "other_event_rate": other_event_option.rate,
        "channel": f.ChannelFactory(),
        "promoter": f.PromoterFactory(),
        "reason": Reason.objects.get(label="Staff"),
    }


def issuance_data(catalogue, **overrides):
    data = {
        "event": catalogue["event"].pk,
        "rate": catalogue["rate"].pk,
        "price_option": catalogue["option"].pk,
        "attribution": "none",
        "channel": "",
        "promoter": "",
        "sale_type": "online",
        "reason": catalogue["reason"].pk,
        "note": "",
        "idempotency_key": str(uuid.uuid4()),
    }
    return {**data, **overrides}


# --- IssuanceForm --------------------------------------------------------------------------------


def test_a_complete_issuance_form_is_valid(catalogue):
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["price_option"] == catalogue["option"]


def test_event_rate_option_reason_and_key_are_required(catalogue):
    form = IssuanceForm(
        environment="alpha",
        data=issuance_data(
            catalogue, event="", rate="", price_option="", reason="", idempotency_key=""
        ),
    )
    assert not form.is_valid()
    assert {"event", "rate", "price_option", "reason", "idempotency_key"} <= set(form.errors)


def test_a_rate_of_another_event_is_refused(catalogue):
    form = IssuanceForm(
        environment="alpha",
        data=issuance_data(catalogue, rate=catalogue["other_event_rate"].pk),
    )
    assert not form.is_valid()
    assert form.errors["rate"] == ["Pick one of the chosen event's rates."]


def test_an_option_of_another_rate_is_refused(catalogue):
    form = IssuanceForm(
        environment="alpha",
        data=issuance_data(catalogue, price_option=catalogue["other_rate_option"].pk),
    )
    assert not form.is_valid()
    assert form.errors["price_option"] == ["Pick one of the chosen rate's price options."]


def test_the_rate_and_option_lists_follow_the_chosen_event_and_rate(catalogue):
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue))
    assert set(form.fields["rate"].queryset) == {catalogue["rate"], catalogue["other_rate"]}
    assert list(form.fields["price_option"].queryset) == [catalogue["option"]]


def test_past_events_and_other_environments_are_not_offered(catalogue):
    past = f.EventFactory(night=timezone.localdate() - dt.timedelta(days=1))
    production = f.EventFactory(environment="production")
    events = set(IssuanceForm(environment="alpha").fields["event"].queryset)
    assert catalogue["event"] in events
    assert past not in events
    assert production not in events


def test_never_both_a_channel_and_a_promoter(catalogue):
    form = IssuanceForm(
        environment="alpha",
        data=issuance_data(
            catalogue,
            attribution="channel",
            channel=catalogue["channel"].pk,
            promoter=catalogue["promoter"].pk,
        ),
    )
    assert not form.is_valid()
    assert "never both" in " ".join(form.non_field_errors())


def test_the_chosen_attribution_needs_its_channel_or_promoter(catalogue):
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue, attribution="channel"))
    assert not form.is_valid()
    assert "Pick the channel" in form.errors["channel"][0]

    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue, attribution="promoter"))
    assert not form.is_valid()
    assert "Pick the promoter" in form.errors["promoter"][0]


def test_neither_with_a_channel_picked_is_refused(catalogue):
    form = IssuanceForm(
        environment="alpha",
        data=issuance_data(catalogue, attribution="none", channel=catalogue["channel"].pk),
    )
    assert not form.is_valid()
    assert "attribution" in form.errors


def test_attribution_to_a_promoter_is_valid(catalogue):
    form = IssuanceForm(
        environment="alpha",
        data=issuance_data(catalogue, attribution="promoter", promoter=catalogue["promoter"].pk),
    )
    assert form.is_valid(), form.errors
    assert form.cleaned_data["promoter"] == catalogue["promoter"]
    assert form.cleaned_data["channel"] is None


def test_sale_type_comes_from_the_setting_and_is_validated(catalogue, settings):
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue, sale_type="sms"))
    assert not form.is_valid()
    assert "sale_type" in form.errors

    settings.FOURVENUES_SALE_TYPE = "invitation"
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue, sale_type="invitation"))
    assert form.is_valid(), form.errors


def test_inactive_reasons_are_not_offered(catalogue):
    retired = f.ReasonFactory(label="Retired reason", is_active=False)
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue, reason=retired.pk))
    assert not form.is_valid()
    assert "reason" in form.errors


def test_the_note_is_at_most_1000_characters(catalogue):
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue, note="x" * 1001))
    assert not form.is_valid()
    assert "note" in form.errors


# --- The draft ---------------------------------------------------------------------------------


def test_build_draft_gives_a_comp_at_zero_with_warnings(catalogue):
    form = IssuanceForm(
        environment="alpha",
        data=issuance_data(catalogue, attribution="channel", channel=catalogue["channel"].pk),
    )
    formset = holder_formset(
        data=rows_data(
            [
                {"full_name": "Ana", "email": "ANA@example.com", "phone": "600123456"},
                {"full_name": "Ana", "email": "ana@example.com"},
            ]
        )
    )
    assert form.is_valid()
    assert formset.is_valid()
    draft = build_draft(form, formset)
    assert draft.channel_id == catalogue["channel"].pk
    assert draft.promoter_id is None
    assert draft.total_price == 0
    assert draft.fee == 0
    assert [h.email for h in draft.holders] == ["ana@example.com", "ana@example.com"]
    assert draft.holders[0].phone == "+34600123456"
    assert len(draft.warnings) == 2


# --- Defaults from earlier choices ---------------------------------------------------------------


def test_earlier_choices_still_offered_become_the_initial_values(catalogue):
    initial = offered_initial(
        environment="alpha",
        event_id=catalogue["event"].pk,
        rate_id=catalogue["rate"].pk,
        price_option_id=catalogue["option"].pk,
        reason_id=catalogue["reason"].pk,
        channel_id=catalogue["channel"].pk,
        promoter_id=None,
    )
    assert initial == {
        "event": catalogue["event"].pk,
        "rate": catalogue["rate"].pk,
        "price_option": catalogue["option"].pk,
        "reason": catalogue["reason"].pk,
        "attribution": "channel",
        "channel": catalogue["channel"].pk,
    }


def test_an_earlier_event_past_or_hidden_is_left_out_with_what_hangs_on_it(catalogue):
    past = f.PriceOptionFactory(rate__event__night=dt.date(2020, 1, 1))
    hidden = f.PriceOptionFactory(rate__event__visible=False)
    for option in (past, hidden):
        initial = offered_initial(
            environment="alpha",
            event_id=option.rate.event.pk,
            rate_id=option.rate.pk,
            price_option_id=option.pk,
            reason_id=None,
            channel_id=None,
            promoter_id=catalogue["promoter"].pk,
        )
        assert initial == {"attribution": "promoter", "promoter": catalogue["promoter"].pk}


def test_a_rate_of_another_event_is_not_a_default(catalogue):
    initial = offered_initial(
        environment="alpha",
        event_id=catalogue["event"].pk,
        rate_id=catalogue["other_event_rate"].pk,
        price_option_id=None,
        reason_id=None,
        channel_id=None,
        promoter_id=None,
    )
    assert initial == {"event": catalogue["event"].pk}


def test_the_draft_names_the_blank_rows_it_skipped(catalogue):
    form = IssuanceForm(environment="alpha", data=issuance_data(catalogue))
    formset = holder_formset(
        data=rows_data(
            [
                {"full_name": "Ana", "email": "ana@example.com"},
                {"full_name": ""},
                {"full_name": "Bo", "email": "bo@example.com"},
                {"full_name": ""},
            ]
        )
    )
    assert form.is_valid(), form.errors
    assert formset.is_valid(), formset.errors
    draft = build_draft(form, formset)
    assert [h.full_name for h in draft.holders] == ["Ana", "Bo"]
    assert draft.blank_rows == (2, 4)
