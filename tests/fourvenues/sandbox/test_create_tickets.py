"""POST /tickets/: what a created ticket looks like, and every way a request is rejected."""

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.fixtures.sandbox import HTTP_TIMEOUT, api_get, api_post, comp_body

MADRID = ZoneInfo("Europe/Madrid")
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

# fourvenues-api.md §3.6: the GET /tickets/ list form ...
LIST_FIELDS = {
    "_id",
    "code",
    "status",
    "activation_date",
    "event_id",
    "rate_id",
    "rate_name",
    "rate_slug",
    "price_info",
    "price",
    "channel_id",
    "referral_id",
    "payment_id",
    "sale_type",
    "name",
    "email",
    "phone",
    "gender",
    "address",
    "postal_code",
    "country",
    "language",
    "for",
    "enter",
    "entry_date",
    "discount_quantity_subtract",
    "raised",
    "refunded",
    "supplements",
    "total_extras",
    "total_fees",
    "total_paid",
    "invoice_reference",
    "corrective_invoice_references",
    "created_at",
    "updated_at",
    "remarketing",
    # echoed request fields the response examples lack (§4 A13)
    "birthday",
    "personal_document_type",
    "personal_document_number",
    "qr_code",
}
# ... and the fields only by-id, by-code and POST responses carry.
DETAIL_ONLY_FIELDS = {
    "date",
    "surcharge_total",
    "surcharge",
    "supplements_service_charge_total",
    "total_warranty",
}
SUPPLEMENT_LIST_FIELDS = {
    "_id",
    "price",
    "label",
    "description",
    "has_fake_price",
    "fake_price",
    "product_quantity",
    "product_quantity_used",
}
SUPPLEMENT_DETAIL_ONLY = {"normalized_label", "service_charge_amount", "service_charge_type"}


def create(server, body):
    return api_post(server, "/tickets/", body)


# --------------------------------------------------------------------------- a created ticket


def test_create_answers_the_first_ticket_object_with_the_full_field_set(sandbox):
    response = create(sandbox, comp_body(sandbox))
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    ticket = body["data"]
    assert isinstance(ticket, dict)
    assert set(ticket) == LIST_FIELDS | DETAIL_ONLY_FIELDS
    assert set(ticket["surcharge"]) == {
        "amount",
        "payment_method",
        "payment_id",
        "state",
        "created_at",
        "user_id",
    }
    assert sandbox.tickets() == [ticket]


def test_created_ticket_values(sandbox):
    event = sandbox.catalogue.events[0]
    rate = sandbox.catalogue.free_rate(event["_id"])
    option = rate["options"][0]
    body = comp_body(sandbox)
    body["tickets"][0].update(
        {
            "full_name": "Ana Pérez",
            "email": "ana@example.com",
            "phone": "+34600000000",
            "gender": "female",
            "birthday": "1990-02-28",
            "address": "Calle Mayor 1",
            "country_code": "es",
            "postal_code": "28013",
            "personal_document_type": "passport",
            "personal_document_number": "X1234567",
        }
    )
    ticket = create(sandbox, body).json()["data"]

    assert re.fullmatch(r"[A-Za-z0-9]{32}", ticket["_id"])
    assert re.fullmatch(r"[A-Z0-9]{9}", ticket["code"])
    assert ticket["status"] == "activated"
    assert ticket["event_id"] == event["_id"]
    assert (ticket["rate_id"], ticket["rate_name"], ticket["rate_slug"]) == (
        rate["_id"],
        rate["name"],
        rate["slug"],
    )
    assert ticket["price_info"] == {
        k: option[k] for k in ("_id", "price", "age", "content", "additional_info")
    }
    assert ticket["price"] == option["price"]
    assert ticket["channel_id"] == body["channel_id"]
    assert ticket["referral_id"] == ""
    assert ticket["sale_type"] == "online"
    # request names renamed as the real API does
    assert ticket["name"] == "Ana Pérez"
    assert ticket["country"] == "ES"
    assert (ticket["email"], ticket["phone"], ticket["gender"]) == (
        "ana@example.com",
        "+34600000000",
        "female",
    )
    assert (ticket["address"], ticket["postal_code"]) == ("Calle Mayor 1", "28013")
    # echoed extras
    assert ticket["birthday"] == "1990-02-28"
    assert ticket["personal_document_type"] == "passport"
    assert ticket["personal_document_number"] == "X1234567"
    assert ticket["qr_code"] == ""
    # counters and money
    assert (ticket["for"], ticket["enter"], ticket["entry_date"]) == (1, 0, 0)
    assert (ticket["refunded"], ticket["total_paid"], ticket["total_fees"]) == (0, 0, 0)
    assert ticket["supplements"] == []
    assert ticket["corrective_invoice_references"] == []
    assert re.fullmatch(r"EV\d{2}T-[A-Z0-9]{4}-\d{7}", ticket["invoice_reference"])
    # dates
    night = datetime.fromtimestamp(event["date"], MADRID).date()
    assert ticket["date"] == night.isoformat()
    for key in ("created_at", "updated_at", "activation_date"):
        assert ISO_MS_Z.match(ticket[key]), key
    created = datetime.fromisoformat(ticket["created_at"])
    assert abs((datetime.now(UTC) - created).total_seconds()) < 60
    assert ticket["activation_date"] == ticket["created_at"] == ticket["updated_at"]


def test_qr_code_becomes_the_ticket_code(sandbox):
    body = comp_body(sandbox)
    body["tickets"][0]["qr_code"] = "COMPS-0001"
    ticket = create(sandbox, body).json()["data"]
    assert ticket["code"] == "COMPS-0001"
    assert ticket["qr_code"] == "COMPS-0001"


def test_tickets_of_one_call_share_a_payment_id_and_differ_otherwise(sandbox):
    create(sandbox, comp_body(sandbox, holders=3))
    create(sandbox, comp_body(sandbox))
    first_call, second_call = sandbox.tickets()[:3], sandbox.tickets()[3:]
    assert len({t["payment_id"] for t in first_call}) == 1
    assert first_call[0]["payment_id"] != second_call[0]["payment_id"]
    every = sandbox.tickets()
    for key in ("_id", "code", "invoice_reference", "created_at"):
        assert len({t[key] for t in every}) == 4, key


def test_totals_add_price_fee_and_supplements(sandbox):
    body = comp_body(sandbox)
    body["tickets"][0].update(
        {
            "total_price": 10,
            "fee": 1.2,
            "supplements": [
                {"supplement_id": "1712861139741", "price": 2},
                {"supplement_id": "cloakroom", "price": 0.5, "label": "Guardarropa"},
            ],
        }
    )
    ticket = create(sandbox, body).json()["data"]
    assert ticket["total_extras"] == 2.5
    assert ticket["total_fees"] == 1.2
    assert ticket["total_paid"] == 13.7
    first, second = ticket["supplements"]
    assert set(first) == SUPPLEMENT_LIST_FIELDS | SUPPLEMENT_DETAIL_ONLY
    assert (first["_id"], first["price"]) == ("1712861139741", 2)
    assert first["label"]
    assert (second["label"], second["normalized_label"]) == ("Guardarropa", "guardarropa")


def test_referral_instead_of_channel(sandbox):
    promoter = next(u for u in sandbox.catalogue.users if u["_id"].startswith("ñ"))
    body = comp_body(sandbox, referral_id=promoter["_id"])
    del body["channel_id"]
    ticket = create(sandbox, body).json()["data"]
    assert (ticket["referral_id"], ticket["channel_id"]) == (promoter["_id"], "")


def test_neither_channel_nor_referral_is_accepted(sandbox):
    body = comp_body(sandbox)
    del body["channel_id"]
    ticket = create(sandbox, body).json()["data"]
    assert (ticket["channel_id"], ticket["referral_id"]) == ("", "")


def test_detail_endpoints_return_the_full_ticket(sandbox):
    ticket = create(sandbox, comp_body(sandbox)).json()["data"]
    for path in (
        f"/tickets/{ticket['_id']}",
        f"/tickets/by-code/{ticket['code']}",
        f"/tickets/code/{ticket['code']}",
    ):
        response = api_get(sandbox, path)
        assert response.status_code == 200, path
        assert response.json() == {"success": True, "data": ticket}, path


def test_list_form_omits_the_detail_only_fields(sandbox):
    body = comp_body(sandbox)
    body["tickets"][0]["supplements"] = [{"supplement_id": "s1", "price": 1}]
    create(sandbox, body)
    event_id = sandbox.catalogue.events[0]["_id"]
    [item] = api_get(sandbox, "/tickets/", params={"event_id": event_id}).json()["data"]
    assert set(item) == LIST_FIELDS
    assert set(item["supplements"][0]) == SUPPLEMENT_LIST_FIELDS
    full = sandbox.tickets()[0]
    assert item == {
        **{k: v for k, v in full.items() if k not in DETAIL_ONLY_FIELDS},
        "supplements": [
            {k: v for k, v in s.items() if k not in SUPPLEMENT_DETAIL_ONLY}
            for s in full["supplements"]
        ],
    }


@pytest.mark.parametrize("path", ["/tickets/nope", "/tickets/by-code/NOPE", "/tickets/code/NOPE"])
def test_unknown_ticket_is_404(sandbox, path):
    response = api_get(sandbox, path)
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_create_without_trailing_slash(sandbox):
    response = api_post(sandbox, "/tickets", comp_body(sandbox))
    assert response.status_code == 200


# --------------------------------------------------------------------------- options


def test_lenient_quantity_uses_the_number_of_tickets(sandbox_factory):
    server = sandbox_factory(strict_quantity=False)
    response = create(server, comp_body(server, holders=1, quantity=2))
    assert response.status_code == 200
    assert len(server.tickets()) == 1


def test_lenient_rates_create_tickets_for_an_unknown_rate(sandbox_factory):
    server = sandbox_factory(strict_rates=False)
    body = comp_body(server, ticket_rate_id="not-a-rate")
    ticket = create(server, body).json()["data"]
    assert ticket["rate_id"] == "not-a-rate"
    assert ticket["event_id"] == ""
    assert ticket["price_info"]["_id"] == body["tickets"][0]["price_id"]


def test_lenient_references_store_unknown_channels_and_promoters(sandbox_factory):
    server = sandbox_factory(strict_references=False)
    assert (
        create(server, comp_body(server, channel_id="elsewhere")).json()["data"]["channel_id"]
        == "elsewhere"
    )
    body = comp_body(server, referral_id="ñ-unknown-promoter")
    del body["channel_id"]
    assert create(server, body).json()["data"]["referral_id"] == "ñ-unknown-promoter"


def test_allowed_sale_types_are_configurable(sandbox_factory):
    server = sandbox_factory(allowed_sale_types=("online", "invitation"))
    assert create(server, comp_body(server, sale_type="invitation")).status_code == 200
    response = create(server, comp_body(server, sale_type="box-office"))
    assert response.status_code == 400
    assert "sale_type" in response.json()["error"]


# --------------------------------------------------------------------------- validation


def _set(path, value):
    """A body mutation: set ``value`` at ``path`` (keys and indexes)."""

    def mutate(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return body

    return mutate


def _drop(path):
    def mutate(body):
        target = body
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        return body

    return mutate


def _two_holders(mutate_second):
    """Make the body carry two tickets, then apply ``mutate_second`` to it."""

    def mutate(body):
        second = {**body["tickets"][0], "full_name": "Second", "email": "second@example.com"}
        body["tickets"].append(second)
        body["quantity"] = 2
        return mutate_second(body)

    return mutate


INVALID = [
    # (mutation, status, expected error text)
    pytest.param(lambda b: [b], 400, "Request body must be a JSON object", id="body-array"),
    pytest.param(lambda b: "tickets", 400, "Request body must be a JSON object", id="body-string"),
    pytest.param(_drop(["tickets"]), 400, "tickets is required", id="tickets-missing"),
    pytest.param(
        _set(["tickets"], {}), 400, "tickets must be a non-empty array", id="tickets-object"
    ),
    pytest.param(
        _set(["tickets"], []), 400, "tickets must be a non-empty array", id="tickets-empty"
    ),
    pytest.param(
        _set(["tickets", 0], "Ana"), 400, "tickets[0] must be an object", id="ticket-not-object"
    ),
    pytest.param(
        _drop(["tickets", 0, "full_name"]),
        400,
        "tickets[0].full_name is required",
        id="full-name-missing",
    ),
    pytest.param(
        _set(["tickets", 0, "full_name"], "  "),
        400,
        "tickets[0].full_name must be a non-empty string",
        id="full-name-empty",
    ),
    pytest.param(
        _set(["tickets", 0, "full_name"], 7),
        400,
        "tickets[0].full_name must be a non-empty string",
        id="full-name-number",
    ),
    pytest.param(
        _drop(["tickets", 0, "email"]), 400, "tickets[0].email is required", id="email-missing"
    ),
    pytest.param(
        _set(["tickets", 0, "email"], ""),
        400,
        "tickets[0].email must be a non-empty string",
        id="email-empty",
    ),
    pytest.param(
        _set(["tickets", 0, "email"], "ana.example.com"),
        400,
        "tickets[0].email is not a valid email address",
        id="email-no-at",
    ),
    pytest.param(
        _set(["tickets", 0, "email"], "ana@example"),
        400,
        "tickets[0].email is not a valid email address",
        id="email-no-domain-dot",
    ),
    pytest.param(
        _set(["tickets", 0, "email"], "ana perez@example.com"),
        400,
        "tickets[0].email is not a valid email address",
        id="email-space",
    ),
    pytest.param(
        _set(["tickets", 0, "email"], "a@b@example.com"),
        400,
        "tickets[0].email is not a valid email address",
        id="email-two-ats",
    ),
    pytest.param(
        _set(["tickets", 0, "email"], "ana..p@example.com"),
        400,
        "tickets[0].email is not a valid email address",
        id="email-double-dot",
    ),
    pytest.param(
        _two_holders(_set(["tickets", 1, "email"], "nope@")),
        400,
        "tickets[1].email is not a valid email address",
        id="email-bad-second",
    ),
    pytest.param(_drop(["quantity"]), 400, "quantity is required", id="quantity-missing"),
    pytest.param(
        _set(["quantity"], "1"), 400, "quantity must be a positive integer", id="quantity-string"
    ),
    pytest.param(
        _set(["quantity"], 1.5), 400, "quantity must be a positive integer", id="quantity-float"
    ),
    pytest.param(
        _set(["quantity"], True), 400, "quantity must be a positive integer", id="quantity-bool"
    ),
    pytest.param(
        _set(["quantity"], 0), 400, "quantity must be a positive integer", id="quantity-zero"
    ),
    pytest.param(
        _set(["quantity"], 2),
        400,
        "quantity (2) does not match the number of tickets (1)",
        id="quantity-mismatch",
    ),
    pytest.param(_drop(["ticket_rate_id"]), 400, "ticket_rate_id is required", id="rate-missing"),
    pytest.param(
        _set(["ticket_rate_id"], ""),
        400,
        "ticket_rate_id must be a non-empty string",
        id="rate-empty",
    ),
    pytest.param(
        _set(["ticket_rate_id"], "unknown-rate"),
        404,
        "Ticket rate 'unknown-rate' not found",
        id="rate-unknown",
    ),
    pytest.param(
        _drop(["tickets", 0, "price_id"]),
        400,
        "tickets[0].price_id is required",
        id="price-id-missing",
    ),
    pytest.param(
        _two_holders(_set(["tickets", 1, "price_id"], "other")),
        400,
        "tickets[1].price_id differs from tickets[0].price_id",
        id="price-id-differs",
    ),
    pytest.param(
        _set(["tickets", 0, "price_id"], "9999999999999"),
        400,
        "is not a price option of rate",
        id="price-id-not-of-rate",
    ),
    pytest.param(
        _set(["referral_id"], "someone"),
        400,
        "channel_id and referral_id cannot both be set",
        id="channel-and-referral",
    ),
    pytest.param(
        _set(["channel_id"], "no-channel"),
        400,
        "channel_id 'no-channel' is not a channel",
        id="channel-unknown",
    ),
    pytest.param(
        _set(["channel_id"], 5), 400, "channel_id must be a string", id="channel-not-string"
    ),
    pytest.param(
        lambda b: {**_drop(["channel_id"])(b), "referral_id": "ghost"},
        400,
        "referral_id 'ghost' is not a user",
        id="referral-unknown",
    ),
    pytest.param(_drop(["sale_type"]), 400, "sale_type is required", id="sale-type-missing"),
    pytest.param(
        _set(["sale_type"], "invitation"),
        400,
        "sale_type 'invitation' is not allowed",
        id="sale-type-not-allowed",
    ),
    pytest.param(
        _set(["tickets", 0, "total_price"], "0"),
        400,
        "tickets[0].total_price must be a number >= 0",
        id="total-price-string",
    ),
    pytest.param(
        _set(["tickets", 0, "total_price"], False),
        400,
        "tickets[0].total_price must be a number >= 0",
        id="total-price-bool",
    ),
    pytest.param(
        _set(["tickets", 0, "total_price"], -1),
        400,
        "tickets[0].total_price must be a number >= 0",
        id="total-price-negative",
    ),
    pytest.param(
        _set(["tickets", 0, "fee"], "1.20"),
        400,
        "tickets[0].fee must be a number >= 0",
        id="fee-string",
    ),
    pytest.param(
        _set(["tickets", 0, "fee"], -0.5),
        400,
        "tickets[0].fee must be a number >= 0",
        id="fee-negative",
    ),
    pytest.param(
        _set(["tickets", 0, "birthday"], "1990-02-30"),
        400,
        "tickets[0].birthday must be a real date",
        id="birthday-not-real",
    ),
    pytest.param(
        _set(["tickets", 0, "birthday"], "30/01/1990"),
        400,
        "tickets[0].birthday must be a real date",
        id="birthday-format",
    ),
    pytest.param(
        _set(["tickets", 0, "birthday"], 19900130),
        400,
        "tickets[0].birthday must be a string",
        id="birthday-number",
    ),
    pytest.param(
        _set(["tickets", 0, "country_code"], "ESP"),
        400,
        "tickets[0].country_code must be a two-letter",
        id="country-three-letters",
    ),
    pytest.param(
        _set(["tickets", 0, "country_code"], "E1"),
        400,
        "tickets[0].country_code must be a two-letter",
        id="country-digit",
    ),
    pytest.param(
        _set(["tickets", 0, "phone"], 600000000),
        400,
        "tickets[0].phone must be a string",
        id="phone-number",
    ),
    pytest.param(
        _set(["tickets", 0, "qr_code"], " "),
        400,
        "tickets[0].qr_code must be a non-empty string",
        id="qr-code-empty",
    ),
    pytest.param(
        _set(["tickets", 0, "supplements"], {}),
        400,
        "tickets[0].supplements must be an array",
        id="supplements-object",
    ),
    pytest.param(
        _set(["tickets", 0, "supplements"], ["s1"]),
        400,
        "tickets[0].supplements[0] must be an object",
        id="supplement-not-object",
    ),
    pytest.param(
        _set(["tickets", 0, "supplements"], [{"price": 1}]),
        400,
        "tickets[0].supplements[0].supplement_id is required",
        id="supplement-id-missing",
    ),
    pytest.param(
        _set(["tickets", 0, "supplements"], [{"supplement_id": "", "price": 1}]),
        400,
        "supplement_id must be a non-empty string",
        id="supplement-id-empty",
    ),
    pytest.param(
        _set(["tickets", 0, "supplements"], [{"supplement_id": "s1"}]),
        400,
        "tickets[0].supplements[0].price is required",
        id="supplement-price-missing",
    ),
    pytest.param(
        _set(["tickets", 0, "supplements"], [{"supplement_id": "s1", "price": "2"}]),
        400,
        "tickets[0].supplements[0].price must be a number >= 0",
        id="supplement-price-string",
    ),
]


@pytest.mark.parametrize(("mutate", "status", "message"), INVALID)
def test_invalid_create_is_rejected_and_stores_nothing(sandbox, mutate, status, message):
    response = create(sandbox, mutate(comp_body(sandbox)))
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert message in body["error"]
    assert body["message"] == body["error"]
    assert sandbox.tickets() == []


def test_a_bad_later_ticket_rejects_the_whole_request(sandbox):
    body = comp_body(sandbox, holders=3)
    body["tickets"][2]["email"] = "broken"
    response = create(sandbox, body)
    assert response.status_code == 400
    assert response.json()["error"] == "tickets[2].email is not a valid email address"
    assert sandbox.tickets() == []


def test_a_qr_code_already_in_use_is_rejected(sandbox):
    body = comp_body(sandbox)
    body["tickets"][0]["qr_code"] = "DUPLICATE1"
    assert create(sandbox, body).status_code == 200
    response = create(sandbox, body)
    assert response.status_code == 400
    assert "qr_code 'DUPLICATE1' is already in use" in response.json()["error"]
    assert len(sandbox.tickets()) == 1


def test_a_qr_code_repeated_within_one_request_is_rejected(sandbox):
    body = comp_body(sandbox, holders=2)
    for ticket in body["tickets"]:
        ticket["qr_code"] = "SAME"
    response = create(sandbox, body)
    assert response.status_code == 400
    assert "tickets[1].qr_code" in response.json()["error"]
    assert sandbox.tickets() == []


@pytest.mark.parametrize(
    ("data", "content_type", "message"),
    [
        (b"{not json", "application/json", "Request body is not valid JSON"),
        (b"", "application/json", "Request body is empty"),
        (b'{"quantity": NaN}', "application/json", "Request body is not valid JSON"),
        (b'{"quantity": 1}', "text/plain", "Content-Type must be application/json"),
        ("{}".encode("utf-16"), "application/json", "Request body is not valid JSON"),
    ],
    ids=["malformed", "empty", "nan", "wrong-content-type", "not-utf8"],
)
def test_unreadable_bodies_are_400(sandbox, data, content_type, message):
    response = requests.post(
        f"{sandbox.base_url}/tickets/",
        data=data,
        headers={**sandbox.api_headers(), "Content-Type": content_type},
        timeout=HTTP_TIMEOUT,
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert sandbox.tickets() == []
