"""Lenient parsing of Fourvenues responses and strict serialisation of the create request
(schemas.py); the single-value readers underneath are test_parsing.py's."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tickets.fourvenues import (
    Channel,
    CreateTicketsRequest,
    Event,
    NewTicket,
    Promoter,
    Rate,
    SchemaError,
    SupplementChoice,
    Ticket,
)

MOMENT = datetime(2022, 9, 15, 23, 0, 0, tzinfo=UTC)

# --------------------------------------------------------------------------------------------
# Response objects
# --------------------------------------------------------------------------------------------

FULL_TICKET = {
    "_id": "el7yuiyep0006msyw2pri1tem1LpJwSc",
    "code": "P6J21FF2S",
    "status": "activated",
    "activation_date": "2022-09-15T23:00:00.000Z",
    "event_id": "ev1",
    "rate_id": "rate1",
    "rate_name": "General Access",
    "rate_slug": "general-access",
    "price_info": {"_id": "1712861139741", "price": 10, "age": 18},
    "price": 10,
    "channel_id": "chan1",
    "referral_id": "",
    "payment_id": "pay1",
    "sale_type": "online",
    "name": "Ana Pérez",
    "email": "ana@example.com",
    "phone": "+34600000000",
    "gender": "female",
    "address": "Calle Mayor 1",
    "postal_code": "28001",
    "country": "ES",
    "language": "es",
    "for": 1,
    "enter": 0,
    "entry_date": 0,
    "discount_quantity_subtract": 0,
    "raised": 0,
    "refunded": 0,
    "supplements": [
        {
            "_id": "sup1",
            "price": 2,
            "label": "Drink",
            "normalized_label": "drink",
            "description": "",
            "has_fake_price": False,
            "fake_price": 0,
            "product_quantity": 1,
            "product_quantity_used": 0,
            "service_charge_amount": 0.5,
            "service_charge_type": "fixed",
        }
    ],
    "total_extras": 2,
    "total_fees": 1.2,
    "total_paid": 13.2,
    "invoice_reference": "EV24T-TOX2-0000215",
    "corrective_invoice_references": [],
    "date": "2022-09-16",
    "surcharge_total": 10,
    "surcharge": {"amount": 10, "payment_method": "card"},
    "supplements_service_charge_total": 0.5,
    "total_warranty": 10,
    "created_at": "2022-09-15T22:59:59.123Z",
    "updated_at": 1663282800000,
    "remarketing": True,
    "qr_code": "COMPS-abc",
    "unknown_future_field": {"nested": [1, 2]},
}


def test_full_ticket_maps_every_documented_field():
    ticket = Ticket.from_api(FULL_TICKET)

    assert ticket.id == "el7yuiyep0006msyw2pri1tem1LpJwSc"
    assert ticket.code == "P6J21FF2S"
    assert ticket.statuses == ("activated",)
    assert ticket.is_valid
    assert ticket.activation_date == MOMENT
    assert ticket.event_date == date(2022, 9, 16)
    assert (ticket.rate_id, ticket.rate_name, ticket.rate_slug) == (
        "rate1",
        "General Access",
        "general-access",
    )
    assert ticket.price_id == "1712861139741"
    assert ticket.price == Decimal("10.00")
    assert ticket.channel_id == "chan1"
    assert ticket.referral_id is None
    assert ticket.payment_id == "pay1"
    assert ticket.sale_type == "online"
    assert (ticket.name, ticket.email, ticket.phone) == (
        "Ana Pérez",
        "ana@example.com",
        "+34600000000",
    )
    assert (ticket.gender, ticket.country, ticket.language) == ("female", "ES", "es")
    assert (ticket.address, ticket.postal_code) == ("Calle Mayor 1", "28001")
    assert (ticket.admits, ticket.entered, ticket.entry_date) == (1, 0, None)
    assert ticket.refunded == Decimal("0.00")
    assert not ticket.is_refunded
    assert ticket.total_extras == Decimal("2.00")
    assert ticket.total_fees == Decimal("1.20")
    assert ticket.total_paid == Decimal("13.20")
    assert ticket.total_warranty == Decimal("10.00")
    assert ticket.surcharge_total == Decimal("10.00")
    assert ticket.supplements_service_charge_total == Decimal("0.50")
    assert ticket.invoice_reference == "EV24T-TOX2-0000215"
    assert ticket.corrective_invoice_references == ()
    assert ticket.created_at == datetime(2022, 9, 15, 22, 59, 59, 123000, tzinfo=UTC)
    assert ticket.updated_at == MOMENT
    assert ticket.remarketing is True
    assert ticket.qr_code == "COMPS-abc"
    [supplement] = ticket.supplements
    assert (supplement.id, supplement.label, supplement.price) == ("sup1", "Drink", Decimal("2.00"))
    assert supplement.service_charge_amount == Decimal("0.50")
    assert supplement.product_quantity == 1
    assert ticket.raw == FULL_TICKET


def test_box_office_ticket_without_buyer_fields_parses():
    ticket = Ticket.from_api(
        {"_id": "t2", "code": "BOX1", "status": "activated", "sale_type": "box-office"}
    )

    assert ticket.payment_id is None
    assert ticket.name is None
    assert ticket.email is None
    assert ticket.phone is None
    assert ticket.price is None  # not sent: unknown, never 0 (issue 13 §4.6)
    assert ticket.supplements == ()
    assert ticket.created_at is None
    assert ticket.admits == 1


def test_malformed_fields_never_fail_a_ticket():
    ticket = Ticket.from_api(
        {
            "_id": "t3",
            "price": "free",
            "for": "two",
            "supplements": "none",
            "price_info": "opt1",
            "status": 7,
            "created_at": "yesterday",
            "email": {"value": "x"},
        }
    )

    assert ticket.price is None  # unreadable: unknown, never 0 (issue 13 §4.6)
    assert ticket.admits == 1
    assert ticket.supplements == ()
    assert ticket.statuses == ()
    assert ticket.is_valid is None
    assert ticket.created_at is None
    assert ticket.email is None


@pytest.mark.parametrize("raw", [{}, {"_id": ""}, {"_id": None}, "t1", None, []])
def test_a_ticket_without_an_id_cannot_be_parsed(raw):
    with pytest.raises(SchemaError):
        Ticket.from_api(raw)


@pytest.mark.parametrize(
    ("status", "statuses", "valid"),
    [
        ("activated", ("activated",), True),
        (["activated"], ("activated",), True),
        (["activated", "cancelled"], ("activated", "cancelled"), False),
        ("cancelled", ("cancelled",), False),
        (["filling_client"], ("filling_client",), False),
        (["activated", "filling_client"], ("activated", "filling_client"), False),
        # No status: unknown, neither valid nor not (issue 13 §4.6).
        (None, (), None),
        ([], (), None),
    ],
)
def test_status_as_string_or_array_and_validity(status, statuses, valid):
    ticket = Ticket.from_api({"_id": "t", "status": status})

    assert ticket.statuses == statuses
    assert ticket.is_valid is valid


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"referral_id": "ñu1"}, "ñu1"),
        ({"referral_id": {"_id": "u1", "name": "Eva"}}, "u1"),
        ({"referral": {"_id": "u2", "name": "Eva"}}, "u2"),
        ({"referral_id": ""}, None),
        ({}, None),
    ],
)
def test_referral_id_as_string_or_object(raw, expected):
    assert Ticket.from_api({"_id": "t", **raw}).referral_id == expected


@pytest.mark.parametrize(("value", "expected"), [(0, "0.00"), (1, "1.00"), (12.5, "12.50")])
def test_refunded_as_flag_or_amount(value, expected):
    ticket = Ticket.from_api({"_id": "t", "refunded": value})

    assert ticket.refunded == Decimal(expected)
    assert ticket.is_refunded is (value > 0)


def test_entry_date_in_seconds_once_entered():
    ticket = Ticket.from_api({"_id": "t", "enter": 1, "entry_date": 1663282800})

    assert ticket.entered == 1
    assert ticket.entry_date == MOMENT


def test_ticket_objects_are_frozen():
    ticket = Ticket.from_api({"_id": "t"})

    with pytest.raises(AttributeError):
        ticket.id = "other"  # type: ignore[misc]


def test_event_parses_epoch_seconds_and_genre_shapes():
    event = Event.from_api(
        {
            "_id": "ev1",
            "name": "Saturday",
            "slug": "saturday-night-26-09-2022",
            "date": 1664143200,
            "start": 1664226000,
            "end": 1664247600,
            "age": 18,
            "music_genres": "techno",
            "artists": ["DJ A", {"name": "DJ B"}],
            "active": True,
            "visible": False,
            "location_town": "Madrid",
        }
    )

    assert event.date == datetime(2022, 9, 25, 22, 0, tzinfo=UTC)
    assert event.start == datetime(2022, 9, 26, 21, 0, tzinfo=UTC)
    assert event.music_genres == ("techno",)
    assert event.artists == ("DJ A", "DJ B")
    assert (event.active, event.visible) == (True, False)
    assert event.location_town == "Madrid"


def test_event_genres_as_array_and_missing_flags():
    event = Event.from_api({"_id": "ev1", "music_genres": ["techno", "house"]})

    assert event.music_genres == ("techno", "house")
    assert event.active is None
    assert event.start is None


def test_event_start_in_milliseconds_is_guarded():
    assert Event.from_api({"_id": "e", "start": 1664226000000}).start == datetime(
        2022, 9, 26, 21, 0, tzinfo=UTC
    )


def test_rate_parses_options_with_decimal_prices():
    rate = Rate.from_api(
        {
            "_id": "rate1",
            "name": "General Access",
            "slug": "general-access",
            "options": [
                {
                    "_id": "opt1",
                    "price": 10.1,
                    "max_quantity": 1000,
                    "age": 18,
                    "content": "1 drink",
                    "additional_info": "",
                    "until": 23400,
                }
            ],
        }
    )

    [option] = rate.options
    assert option.price == Decimal("10.10")
    assert (option.max_quantity, option.age, option.until_seconds) == (1000, 18, 23400)
    assert option.content == "1 drink"
    assert option.additional_info is None


def test_rate_without_options():
    assert Rate.from_api({"_id": "r"}).options == ()


def test_promoter_names_from_profile_or_top_level():
    nested = Promoter.from_api(
        {"_id": "u1", "email": "e@x", "profile": {"name": "Eva", "last_name": "Gil"}}
    )
    flat = Promoter.from_api({"_id": "u2", "name": "Leo", "last_name": "Sanz"})

    assert (nested.first_name, nested.last_name, nested.full_name) == ("Eva", "Gil", "Eva Gil")
    assert (flat.first_name, flat.last_name) == ("Leo", "Sanz")
    assert Promoter.from_api({"_id": "u3"}).full_name == ""


def test_channel_keeps_raw():
    raw = {"_id": "c1", "name": "Octava Club", "slug": "octava-club", "extra": 1}

    channel = Channel.from_api(raw)

    assert (channel.id, channel.name, channel.slug) == ("c1", "Octava Club", "octava-club")
    assert channel.raw == raw


# --------------------------------------------------------------------------------------------
# Request serialisation
# --------------------------------------------------------------------------------------------


def new_ticket(**overrides) -> NewTicket:
    values = {"full_name": "Ana Pérez", "email": "ana@example.com", "price_id": "opt1"}
    values.update(overrides)
    return NewTicket(**values)


def test_payload_for_one_comp_matches_the_documented_shape():
    request = CreateTicketsRequest(
        ticket_rate_id="rate1", sale_type="online", channel_id="chan1", tickets=(new_ticket(),)
    )

    assert request.to_payload() == {
        "quantity": 1,
        "ticket_rate_id": "rate1",
        "sale_type": "online",
        "channel_id": "chan1",
        "tickets": [
            {
                "price_id": "opt1",
                "total_price": 0,
                "fee": 0,
                "full_name": "Ana Pérez",
                "email": "ana@example.com",
            }
        ],
    }


def test_quantity_always_equals_the_number_of_tickets():
    request = CreateTicketsRequest(
        ticket_rate_id="rate1",
        sale_type="online",
        tickets=[new_ticket(email=f"g{n}@x.com") for n in range(3)],
    )

    payload = request.to_payload()

    assert payload["quantity"] == len(payload["tickets"]) == 3
    assert isinstance(request.tickets, tuple)


def test_payload_omits_unset_optional_fields_and_sends_set_ones():
    ticket = new_ticket(
        phone="+34600000000",
        gender="female",
        birthday=date(1990, 2, 3),
        address="Calle Mayor 1",
        country_code="ES",
        postal_code="28001",
        personal_document_type="dni",
        personal_document_number="12345678Z",
        qr_code="COMPS-1",
        supplements=(SupplementChoice("sup1", Decimal("2.50")),),
    )

    sent = CreateTicketsRequest(
        ticket_rate_id="r", sale_type="online", referral_id="u1", tickets=(ticket,)
    ).to_payload()

    assert sent["referral_id"] == "u1"
    assert "channel_id" not in sent
    assert sent["tickets"][0]["birthday"] == "1990-02-03"
    assert sent["tickets"][0]["supplements"] == [{"supplement_id": "sup1", "price": 2.5}]
    assert sent["tickets"][0]["personal_document_number"] == "12345678Z"
    bare = CreateTicketsRequest(ticket_rate_id="r", sale_type="online", tickets=(new_ticket(),))
    assert set(bare.to_payload()["tickets"][0]) == {
        "full_name",
        "email",
        "price_id",
        "total_price",
        "fee",
    }
    assert "channel_id" not in bare.to_payload()
    assert "referral_id" not in bare.to_payload()


@pytest.mark.parametrize(
    ("amount", "sent"),
    [
        (Decimal("0"), 0),
        (Decimal("10"), 10),
        (Decimal("13.20"), 13.2),
        (Decimal("0.10"), 0.1),
        (Decimal("1.005"), 1.01),
        (7, 7),
        ("2.5", 2.5),
    ],
)
def test_money_is_sent_as_a_json_number_without_artefacts(amount, sent):
    payload = CreateTicketsRequest(
        ticket_rate_id="r",
        sale_type="online",
        tickets=(new_ticket(total_price=amount, fee=amount),),
    ).to_payload()

    text = json.dumps(payload)
    assert payload["tickets"][0]["total_price"] == sent
    assert type(payload["tickets"][0]["total_price"]) is type(sent)
    assert "999999" not in text
    assert "000001" not in text


def test_float_amounts_are_refused():
    with pytest.raises(TypeError, match="float"):
        new_ticket(total_price=0.1)


def test_negative_amounts_are_refused():
    with pytest.raises(ValueError, match="negative"):
        new_ticket(fee=Decimal("-1"))


def test_a_request_needs_at_least_one_ticket():
    with pytest.raises(ValueError, match="at least one ticket"):
        CreateTicketsRequest(ticket_rate_id="r", sale_type="online", tickets=())


def test_all_tickets_must_share_one_price_id():
    with pytest.raises(ValueError, match="same price_id"):
        CreateTicketsRequest(
            ticket_rate_id="r",
            sale_type="online",
            tickets=(new_ticket(price_id="opt1"), new_ticket(price_id="opt2")),
        )


def test_channel_and_referral_are_mutually_exclusive():
    with pytest.raises(ValueError, match="never both"):
        CreateTicketsRequest(
            ticket_rate_id="r",
            sale_type="online",
            channel_id="c1",
            referral_id="u1",
            tickets=(new_ticket(),),
        )


def test_blank_channel_does_not_count_as_set():
    request = CreateTicketsRequest(
        ticket_rate_id="r",
        sale_type="online",
        channel_id="",
        referral_id="u1",
        tickets=(new_ticket(),),
    )

    assert request.channel_id is None
    assert request.to_payload()["referral_id"] == "u1"


@pytest.mark.parametrize("field", ["full_name", "email", "price_id"])
def test_each_ticket_needs_name_email_and_price(field):
    with pytest.raises(ValueError, match=field):
        new_ticket(**{field: "  "})


def test_new_ticket_repr_hides_the_document_number():
    ticket = new_ticket(personal_document_number="12345678Z")

    assert "12345678Z" not in repr(ticket)


def test_request_exposes_price_id_and_quantity():
    request = CreateTicketsRequest(
        ticket_rate_id="r", sale_type="online", tickets=(new_ticket(), new_ticket())
    )

    assert request.price_id == "opt1"
    assert request.quantity == 2


@pytest.mark.parametrize(("value", "expected"), [(2, 2), (0, 0), ("3", 3), (None, 1)])
def test_admits_reads_the_for_field(value, expected):
    assert Ticket.from_api({"_id": "t", "for": value}).admits == expected
