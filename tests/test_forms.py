import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from tests import factories as f
from tickets.forms import HolderForm as Holder
from tickets.forms import (
    IssuanceForm,
    batch_warnings,
    build_draft,
    holder_error_summary,
    holder_formset,
    normalise_country,
)
from tickets.models import Reason
from tickets.services.issuance import HolderData

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


def holder(**values):
    return Holder(data={"full_name": "Ana Pérez", "email": "ana@example.com", **values})


def rows_data(rows):
    data = {
        "holders-TOTAL_FORMS": str(len(rows)),
        "holders-INITIAL_FORMS": "0",
        "holders-MIN_NUM_FORMS": "1",
        "holders-MAX_NUM_FORMS": "200",
    }
    for i, row in enumerate(rows):
        data.update({f"holders-{i}-{k}": v for k, v in row.items()})
    return data


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


# --- HolderForm ----------------------------------------------------------------------------------


def test_full_name_and_email_are_required():
    form = Holder(data={"full_name": " ", "email": ""})
    assert not form.is_valid()
    assert set(form.errors) == {"full_name", "email"}


def test_email_is_trimmed_and_lowercased_and_the_name_tidied():
    form = holder(email="  Ana.PEREZ@Example.COM ", full_name="  Ana   Pérez ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["email"] == "ana.perez@example.com"
    assert form.cleaned_data["full_name"] == "Ana Pérez"


def test_an_invalid_email_says_so():
    form = holder(email="ana@")
    assert not form.is_valid()
    assert form.errors["email"] == ["Enter a valid email address."]


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("600 123 456", "+34600123456"),
        ("+34 600-12-34-56", "+34600123456"),
        ("0034600123456", "+34600123456"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_normalised_to_e164(raw, e164):
    form = holder(phone=raw)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["phone"] == e164


@pytest.mark.parametrize(
    ("raw", "advice"),
    [
        ("12345", "add the country prefix"),
        ("not a phone", "add the country prefix"),
        ("+34 123", "for +34: check the digits"),
        # Ofcom's range for fiction: the right shape, but no real number.
        ("+44 7700 900123", "for +44: check the digits"),
        ("0044 7700 900123", "for +44: check the digits"),
    ],
)
def test_an_invalid_phone_is_refused_clearly(raw, advice):
    form = holder(phone=raw)
    assert not form.is_valid()
    (error,) = form.errors["phone"]
    assert f"'{raw}' is not a valid phone number" in error
    assert advice in error


def test_a_document_number_needs_its_type_and_the_other_way_round():
    form = holder(document_number="12345678Z")
    assert not form.is_valid()
    assert "document_type" in form.errors

    form = holder(document_type="passport")
    assert not form.is_valid()
    assert "document_number" in form.errors


def test_document_numbers_are_uppercased_without_spaces():
    form = holder(document_type="dni", document_number=" 1234 5678 z ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["document_number"] == "12345678Z"


def test_postal_codes_are_uppercased():
    form = holder(postal_code=" sw1a 1aa ")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["postal_code"] == "SW1A 1AA"


def test_birthdays_in_the_future_or_before_1900_are_refused():
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    assert "birthday" in holder(birthday=tomorrow.isoformat()).errors
    assert "birthday" in holder(birthday="1899-12-31").errors
    assert holder(birthday="17/05/1990").is_valid()


@pytest.mark.parametrize("raw", ["ES", "es", "ESP", "Spain", "españa", "ESPAÑA"])
def test_countries_accept_iso_codes_and_english_or_spanish_names(raw):
    form = holder(country=raw)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["country"] == "ES"


def test_an_unknown_country_is_refused():
    form = holder(country="Narnia")
    assert not form.is_valid()
    assert "Unknown country 'Narnia'" in form.errors["country"][0]
    assert normalise_country("") == ""


def test_gender_is_female_male_or_blank():
    assert holder(gender="female").is_valid()
    assert holder(gender="").is_valid()
    assert "gender" in holder(gender="other").errors


def test_only_the_rates_supplements_may_be_chosen():
    drink = f.SupplementFactory(supplement_id="drink", label="Drink")
    form = Holder(
        data={"full_name": "Ana", "email": "a@example.com", "supplements": ["drink"]},
        supplements=[drink],
    )
    assert form.is_valid(), form.errors
    assert form.holder_data().supplements[0].label == "Drink"
    assert form.holder_data().supplements[0].price == Decimal("5.00")

    form = Holder(
        data={"full_name": "Ana", "email": "a@example.com", "supplements": ["vip-table"]},
        supplements=[drink],
    )
    assert not form.is_valid()
    assert "not a supplement of the chosen rate" in form.errors["supplements"][0]


# --- The holder formset --------------------------------------------------------------------------


def test_up_to_200_holders_are_accepted():
    rows = [{"full_name": f"Guest {i}", "email": f"g{i}@example.com"} for i in range(200)]
    formset = holder_formset(data=rows_data(rows))
    assert formset.is_valid(), formset.non_form_errors()
    assert len(formset.holders()) == 200


def test_201_holders_are_refused():
    rows = [{"full_name": f"Guest {i}", "email": f"g{i}@example.com"} for i in range(201)]
    formset = holder_formset(data=rows_data(rows))
    assert not formset.is_valid()
    assert "At most 200 holders" in " ".join(formset.non_form_errors())


def test_blank_extra_rows_are_not_holders_but_the_first_row_is_required():
    formset = holder_formset(
        data=rows_data([{"full_name": "Ana", "email": "ana@example.com"}, {"full_name": ""}])
    )
    assert formset.is_valid()
    assert [h.full_name for h in formset.holders()] == ["Ana"]

    formset = holder_formset(data=rows_data([{"full_name": ""}]))
    assert not formset.is_valid()


def test_row_errors_are_summarised_with_row_number_and_field():
    formset = holder_formset(
        data=rows_data(
            [
                {"full_name": "Ana", "email": "ana@example.com"},
                {"full_name": "Bo", "email": "bo@"},
                {"full_name": "Cy", "email": "cy@example.com", "phone": "123"},
            ]
        )
    )
    assert not formset.is_valid()
    summary = holder_error_summary(formset)
    assert "Row 2: Email: Enter a valid email address." in summary
    assert any(
        line.startswith("Row 3: Phone: '123' is not a valid phone number") for line in summary
    )


# --- Warnings and the draft ----------------------------------------------------------------------


def test_the_same_holder_twice_is_a_warning(catalogue):
    holders = [
        HolderData(full_name="José Pérez", email="jose@example.com"),
        HolderData(full_name="Ana", email="jose@example.com"),
        HolderData(full_name="jose  perez", email="other@example.com"),
    ]
    warnings = batch_warnings(holders, catalogue["option"], catalogue["event"])
    assert len(warnings) == 2
    assert "Row 2 has the same email as row 1" in warnings[0]
    assert "Row 3 has the same name as row 1" in warnings[1]


def test_a_holder_under_the_options_minimum_age_on_the_night_is_a_warning():
    night = dt.date(timezone.localdate().year + 1, 6, 15)
    option = f.PriceOptionFactory(min_age=18, rate__event__night=night)
    turns_18_on_the_night = dt.date(night.year - 18, 6, 15)
    turns_18_next_day = turns_18_on_the_night + dt.timedelta(days=1)
    holders = [
        HolderData(full_name="Old enough", email="a@example.com", birthday=turns_18_on_the_night),
        HolderData(full_name="Too young", email="b@example.com", birthday=turns_18_next_day),
        HolderData(full_name="No birthday", email="c@example.com"),
    ]
    warnings = batch_warnings(holders, option, option.rate.event)
    assert len(warnings) == 1
    assert "Row 2 (Too young) will be 17" in warnings[0]
    assert "minimum age of 18" in warnings[0]


def test_no_minimum_age_means_no_age_warning(catalogue):
    option = f.PriceOptionFactory(min_age=None)
    holders = [HolderData(full_name="Kid", email="k@example.com", birthday=dt.date(2020, 1, 1))]
    assert batch_warnings(holders, option, option.rate.event) == []


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
