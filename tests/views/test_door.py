"""The door pages: the door list (page, CSV, PDF) and the door lookup for a phone."""

import base64
import codecs
import csv
import io
import re
import zlib

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import ReconciliationRun, RunStatus, RunTrigger

pytestmark = pytest.mark.django_db


def _comp(event, name, *, issuer=None, **fields):
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=event, name="Guest"))
    extra = {"created_by": issuer} if issuer else {}
    issuance = factories.IssuanceFactory(
        price_option=option, reason=factories.ReasonFactory(label="Press"), **extra
    )
    line = factories.IssuanceLineFactory(issuance=issuance, full_name=name, state="confirmed")
    return factories.IssuedTicketFactory(line=line, **fields)


@pytest.fixture
def event():
    event = factories.EventFactory(name="Saturday Club")
    ana = factories.issuer(username="ana", first_name="Ana", last_name="Ruiz")
    _comp(event, "Zoe Zamora", issuer=ana, code="ZZ01", admits=1, entered=1)
    _comp(event, "Álvaro Ortiz", issuer=ana, code="AO01", admits=3, entered=2)
    _comp(event, "beatriz Núñez", issuer=ana, code="BN01", admits=2)
    _comp(event, "Walter Withdrawn", code="WW01", admits=4, withdrawn_at=timezone.now())
    return event


def _assert_private(response):
    cache_control = response["Cache-Control"]
    assert "no-store" in cache_control
    assert "private" in cache_control
    assert "public" not in cache_control


# --- The printable page -------------------------------------------------------------------------


def test_the_page_lists_holders_alphabetically_with_totals(manager_client, event):
    response = manager_client.get(reverse("door-list", args=[event.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    main_list = html.split('id="door-list"', 1)[1].split("</table>", 1)[0]
    positions = [main_list.index(name) for name in ("Álvaro Ortiz", "beatriz Núñez", "Zoe Zamora")]
    assert positions == sorted(positions)
    assert "Walter Withdrawn" not in main_list
    assert re.search(r'data-testid="door-total-tickets">3<', html)
    assert re.search(r'data-testid="door-total-people">6<', html)
    assert re.search(r'data-testid="door-total-in">3<', html)
    assert "Ana Ruiz" in main_list
    assert "Press" in main_list
    assert "AO01" in main_list
    _assert_private(response)


def test_withdrawn_tickets_are_apart_struck_out_and_not_to_admit(manager_client, event):
    html = manager_client.get(reverse("door-list", args=[event.pk])).content.decode()

    apart = html.split('data-testid="door-not-admissible"', 1)[1]
    assert "<del>Walter Withdrawn</del>" in apart
    assert "withdrawn — do not admit" in apart


def test_the_page_says_when_it_was_reconciled_or_that_it_never_was(
    manager_client, event, alpha_credential
):
    url = reverse("door-list", args=[event.pk])
    assert "Never reconciled" in manager_client.get(url).content.decode()

    now = timezone.now()
    ReconciliationRun.objects.create(
        event=event,
        credential=alpha_credential,
        trigger=RunTrigger.SCHEDULE,
        full=True,
        status=RunStatus.SUCCEEDED,
        started_at=now,
        finished_at=now,
    )
    html = manager_client.get(url).content.decode()
    assert "As reconciled with Fourvenues at" in html
    assert "Never reconciled" not in html


def test_the_page_is_made_for_print(manager_client, event):
    html = manager_client.get(reverse("door-list", args=[event.pk])).content.decode()

    assert "navbar" not in html  # no navigation on paper (nor on screen: a sheet of its own)
    assert "css/door.css" in html
    assert "<script>" not in html  # the Content Security Policy allows no inline script


def test_an_event_with_no_comps_says_so(manager_client):
    event = factories.EventFactory()
    html = manager_client.get(reverse("door-list", args=[event.pk])).content.decode()
    assert "No comps for this event." in html


def test_an_unknown_event_is_a_404(manager_client):
    assert manager_client.get(reverse("door-list", args=[999999])).status_code == 404
    assert manager_client.get("/door/events/99999999999999999999999/").status_code == 404


@pytest.mark.parametrize("name", ["door-list", "door-list-csv", "door-list-pdf"])
def test_issuers_may_not_see_a_door_list_and_anonymous_must_log_in(client, event, name):
    url = reverse(name, args=[event.pk])
    assert client.get(url).status_code == 302
    client.force_login(factories.issuer())
    assert client.get(url).status_code == 403


def test_the_page_in_spanish(manager_client, event):
    html = manager_client.get(
        reverse("door-list", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    for spanish in ("Lista de puerta", "Personas admitidas", "retirada — no dejar pasar"):
        assert spanish in html
    assert "Door list" not in html


# --- CSV ------------------------------------------------------------------------------------------


def _csv(response, delimiter=","):
    body = b"".join(response.streaming_content)
    assert body.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))


def test_the_csv_has_every_ticket_alphabetically_then_those_not_to_admit(manager_client, event):
    response = manager_client.get(reverse("door-list-csv", args=[event.pk]), {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="door-list-saturday-club-' in response["Content-Disposition"]
    _assert_private(response)
    header, *rows = _csv(response)
    assert header == [
        "Holder",
        "Ticket code",
        "Rate",
        "Admits",
        "Entered",
        "Entered at",
        "Issued by",
        "Reason",
        "Do not admit",
    ]
    assert [(r[0], r[1], r[3], r[4], r[6], r[7], r[8]) for r in rows] == [
        ("Álvaro Ortiz", "AO01", "3", "2", "Ana Ruiz", "Press", ""),
        ("beatriz Núñez", "BN01", "2", "0", "Ana Ruiz", "Press", ""),
        ("Zoe Zamora", "ZZ01", "1", "1", "Ana Ruiz", "Press", ""),
        ("Walter Withdrawn", "WW01", "4", "0", rows[3][6], "Press", "Withdrawn — do not admit"),
    ]


def test_the_csv_for_spanish_excel_uses_semicolons_by_default(manager_client, event):
    response = manager_client.get(
        reverse("door-list-csv", args=[event.pk]), HTTP_ACCEPT_LANGUAGE="es"
    )

    header, *rows = _csv(response, delimiter=";")
    assert header[0] == "Titular"
    assert rows[0][0] == "Álvaro Ortiz"


def test_the_csv_guards_against_formulas(manager_client):
    event = factories.EventFactory()
    _comp(event, '=HYPERLINK("http://x")')

    response = manager_client.get(reverse("door-list-csv", args=[event.pk]), {"format": "csv"})

    _header, row = _csv(response)
    assert row[0] == '\'=HYPERLINK("http://x")'


def test_an_unknown_csv_format_falls_back_to_plain_csv(manager_client, event):
    response = manager_client.get(reverse("door-list-csv", args=[event.pk]), {"format": "<script>"})
    assert response.status_code == 200
    assert _csv(response)[0][0] == "Holder"


# --- PDF ------------------------------------------------------------------------------------------


def _pdf_text(pdf: bytes) -> bytes:
    """The page content of a PDF: its streams (ASCII85, then Flate, as reportlab writes them)
    decoded."""
    text = b""
    for stream in re.findall(rb"\nstream\r?\n(.*?)endstream", pdf, re.S):
        text += zlib.decompress(base64.a85decode(stream.strip().removesuffix(b"~>")))
    return text


def test_the_pdf_is_a_pdf_with_the_names(manager_client, event):
    response = manager_client.get(reverse("door-list-pdf", args=[event.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    _assert_private(response)
    pdf = response.content
    assert pdf.startswith(b"%PDF-")
    text = _pdf_text(pdf)
    for name in (b"Zoe Zamora", b"AO01", b"Ana Ruiz", b"Walter Withdrawn"):
        assert name in text
    assert "Álvaro Ortiz".encode("cp1252") in text or b"\\301lvaro Ortiz" in text


def test_a_long_door_list_spreads_over_pages_with_the_header_on_each(manager_client):
    event = factories.EventFactory(name="Big Night")
    for i in range(120):
        _comp(event, f"Guest {i:03d}")

    pdf = manager_client.get(reverse("door-list-pdf", args=[event.pk])).content

    pages = len(re.findall(rb"/Type /Page\n", pdf))
    assert pages >= 3, pdf[:2000]
    text = _pdf_text(pdf)
    assert text.count(b"(Holder)") >= pages  # the table's header repeated on every page
    assert b"Guest 119" in text


# --- The lookup -----------------------------------------------------------------------------------


@pytest.fixture
def tonight(alpha_credential):
    from tickets.selectors.reports import current_night

    event = factories.EventFactory(name="Tonight", night=current_night())
    _comp(event, "José Pérez", code="JP01", admits=2, entered=1)
    _comp(event, "Josefa Withdrawn", code="JW01", withdrawn_at=timezone.now())
    _comp(event, "Pedro Gil", code="PG01")
    return event


def test_the_lookup_page_picks_tonights_event(manager_client, tonight):
    response = manager_client.get(reverse("door-lookup"))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'<option value="{tonight.pk}" selected>' in html
    assert 'hx-get="/door/"' in html
    assert "delay:300ms" in html
    _assert_private(response)


def test_typing_part_of_a_name_shows_the_guests_comps(manager_client, tonight):
    response = manager_client.get(
        reverse("door-lookup"), {"event": tonight.pk, "q": "jose"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # only the results, for htmx to swap in
    assert "José Pérez" in html
    assert "JP01" in html
    assert "In: 1 of 2" in html
    assert "<del>Josefa Withdrawn</del>" in html
    assert "Withdrawn — do not admit" in html
    assert "Pedro Gil" not in html
    _assert_private(response)


def test_the_lookup_shows_nothing_personal_beyond_name_and_code(manager_client, tonight):
    html = manager_client.get(
        reverse("door-lookup"), {"event": tonight.pk, "q": "pedro"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    ticket = tonight.tickets.get(code="PG01")
    assert ticket.email
    assert ticket.email not in html
    assert "Pedro Gil" in html


def test_one_letter_is_not_enough(manager_client, tonight):
    html = manager_client.get(
        reverse("door-lookup"), {"event": tonight.pk, "q": "j"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "Type at least 2 letters." in html
    assert "José" not in html


def test_no_match_says_so(manager_client, tonight):
    html = manager_client.get(
        reverse("door-lookup"), {"event": tonight.pk, "q": "nobody"}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "No comp for “nobody” at this event." in html


def test_without_javascript_the_page_itself_shows_the_results(manager_client, tonight):
    response = manager_client.get(reverse("door-lookup"), {"event": tonight.pk, "q": "pérez"})

    assert response.status_code == 200
    assert "José Pérez" in response.content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"event": "abc", "q": "jose"},
        {"event": "99999999999999999999999", "q": "jose"},
        {"event": "-1", "q": "jose"},
        {"q": "x" * 500},
        {"q": "jo\x00se"},
        {"event": ["1", "2"], "q": "%"},
    ],
)
def test_bad_input_is_a_clear_answer_never_a_500(manager_client, tonight, params):
    page = manager_client.get(reverse("door-lookup"), params)
    partial = manager_client.get(reverse("door-lookup"), params, HTTP_HX_REQUEST="true")

    assert page.status_code in (200, 400)
    assert partial.status_code == 200
    assert "José" not in partial.content.decode()


def test_the_lookup_is_for_managers(client, tonight):
    url = reverse("door-lookup")
    assert client.get(url).status_code == 302
    client.force_login(factories.issuer())
    assert client.get(url, {"event": tonight.pk, "q": "jose"}).status_code == 403


def test_the_lookup_in_spanish(manager_client, tonight):
    html = manager_client.get(
        reverse("door-lookup"), {"event": tonight.pk, "q": "jose"}, HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    for spanish in ("Buscar en la puerta", "Dentro: 1 de 2", "Retirada — no dejar pasar"):
        assert spanish in html


# --- Links to the door list -----------------------------------------------------------------------


def test_managers_reach_the_door_list_from_the_home_page(manager_client, tonight):
    html = manager_client.get(reverse("home")).content.decode()
    assert reverse("door-list", args=[tonight.pk]) in html
    assert reverse("door-lookup") in html


def test_managers_reach_the_door_list_from_reconciliation(client, tonight):
    client.force_login(factories.admin())
    html = client.get(reverse("reconciliation")).content.decode()
    assert reverse("door-list", args=[tonight.pk]) in html
