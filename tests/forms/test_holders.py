"""The holder rows: `HolderForm` and the holder formset (tickets/forms/holders.py)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from tests import factories as f
from tickets.forms.holders import HolderForm as Holder
from tickets.forms.holders import holder_error_summary, holder_formset, normalise_country
from tickets.forms.holders_csv import parse_holder_csv

pytestmark = pytest.mark.django_db


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


# --- Emails Fourvenues refuses (issue 13, §4.7) ------------------------------------------------


@pytest.mark.parametrize(
    ("email", "says"),
    [
        ("ana@localhost", "it needs a full domain after the @, such as example.com"),
        ("ana@bücher.de", "its domain has accented or non-Latin letters"),
        ("ana@mail.müller.example", "its domain has accented or non-Latin letters"),
        ("ana@[192.168.1.10]", "not an IP address"),
        ('"ana"@example.com', "cannot hold quotes"),
    ],
)
def test_an_email_django_accepts_but_fourvenues_refuses_is_refused_with_the_reason(email, says):
    form = holder(email=email)
    assert not form.is_valid()
    (message,) = form.errors["email"]
    assert message.startswith("Fourvenues refuses this address: ")
    assert says in message


@pytest.mark.parametrize(
    "email", ["ana@example.com", "o'brien+comps@mail.example.ie", "ana@xn--bcher-kva.de"]
)
def test_emails_fourvenues_takes_still_pass(email):
    assert holder(email=email).is_valid()


def test_each_row_with_a_refused_email_is_named_before_the_review():
    formset = holder_formset(
        data=rows_data(
            [
                {"full_name": "Ana", "email": "ana@example.com"},
                {"full_name": "Bo", "email": "bo@localhost"},
                {"full_name": "Cy", "email": "cy@bücher.de"},
            ]
        )
    )
    assert not formset.is_valid()
    summary = holder_error_summary(formset)
    assert summary[0].startswith("Row 2: Email: Fourvenues refuses this address: it needs a full")
    assert summary[1].startswith("Row 3: Email: Fourvenues refuses this address: its domain has")
    assert len(summary) == 2


def test_a_csv_row_with_a_refused_email_is_reported_on_its_line():
    result = parse_holder_csv(
        "full name,email\nAna,ana@example.com\nBo,bo@localhost\nCy,cy@bücher.de\n"
    )
    row_errors = [error for row in result.rows for error in row.errors]
    assert [(e.line, e.field) for e in row_errors] == [(3, "email"), (4, "email")]
    assert all("Fourvenues refuses this address" in e.message for e in row_errors)
    # The bad rows are kept, to be fixed in place, not dropped.
    assert [row.line for row in result.rows] == [2, 3, 4]


# --- The guest's language ----------------------------------------------------------------------


def test_the_language_is_spanish_or_english_and_blank_is_the_venues(settings):
    assert holder(language="en").is_valid()
    english = holder(language="en")
    english.is_valid()
    assert english.holder_data().language == "en"
    blank = holder()
    assert blank.is_valid()
    assert blank.holder_data().language == settings.LANGUAGE_CODE
    assert not holder(language="fr").is_valid()


def test_a_row_holding_only_its_language_is_a_blank_row():
    formset = holder_formset(
        data=rows_data(
            [{"full_name": "Ana", "email": "ana@example.com", "language": "en"}, {"language": "es"}]
        )
    )
    assert formset.is_valid()
    assert [(h.full_name, h.language) for h in formset.holders()] == [("Ana", "en")]
