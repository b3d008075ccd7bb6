"""The ticket search page, saved searches, and the ticket page with its audited document."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests import factories as f
from tickets.models import ApiCall, AuditEntry, IssuedTicket, SavedSearch
from tickets.redaction import mask_document
from tickets.text import document_digest
from tickets.views.search import TICKETS_PER_PAGE

pytestmark = pytest.mark.django_db

SEARCH = reverse("ticket-search")


def ticket_for(*, issuance=None, document_number="", **kwargs):
    line = f.IssuanceLineFactory(
        issuance=issuance or f.IssuanceFactory(),
        state="confirmed",
        document_type="dni" if document_number else "",
        document_number=document_number,
        document_digest=document_digest(document_number),
    )
    return f.IssuedTicketFactory(line=line, **kwargs)


@pytest.fixture
def boss(client):
    user = f.manager()
    client.force_login(user)
    return user


def codes(response):
    return [t.code for t in response.context["page"].object_list]


# --- The search page ---------------------------------------------------------------------------


def test_anonymous_users_go_to_the_login_page(client):
    response = client.get(SEARCH)
    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_users_without_a_role_are_refused(client):
    client.force_login(f.UserFactory())
    assert client.get(SEARCH).status_code == 403


def test_the_page_searches_and_shows_the_results(client, boss):
    jose = ticket_for(name="José Pérez", code="JP0001")
    ticket_for(name="Ana García", code="AG0001")
    response = client.get(SEARCH, {"q": "PEREZ"})
    assert response.status_code == 200
    assert codes(response) == ["JP0001"]
    html = response.content.decode()
    assert reverse("ticket-detail", args=[jose.pk]) in html
    assert "José Pérez" in html
    assert "Issued by" in html  # managers see who issued


def test_each_row_shows_the_ticket_and_escapes_what_holders_typed(client, boss, settings):
    settings.TIME_ZONE = "Europe/Madrid"
    issuance = f.IssuanceFactory(created_by__first_name="Ivy", created_by__last_name="Stone")
    checked_in = ticket_for(
        issuance=issuance,
        name="<script>alert(1)</script>",
        code="XSS001",
        entered=1,
        entry_date=timezone.make_aware(timezone.datetime(2026, 12, 5, 23, 40)),
    )
    refunded = ticket_for(name="Bea", code="RF0001", is_valid=False, status="refunded")

    html = client.get(SEARCH).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert f'href="{reverse("ticket-detail", args=[checked_in.pk])}"' in html
    assert f'href="{reverse("ticket-detail", args=[refunded.pk])}"' in html
    assert 'Yes <span class="small text-body-secondary">5 Dec 23:40</span>' in html
    assert '<span class="badge text-bg-secondary">Refunded</span>' in html
    assert "<td>Ivy Stone</td>" in html
    night = checked_in.event_night
    assert (
        f'<div class="small text-body-secondary">{night:%a} {night.day} {night:%b %Y}</div>' in html
    )


def test_the_empty_state(client, boss):
    response = client.get(SEARCH, {"q": "nobody"})
    assert codes(response) == []
    assert "No ticket matches this search." in response.content.decode()


def test_bad_parameters_show_a_message_not_a_500(client, boss):
    ticket_for()
    response = client.get(SEARCH, {"sort": "password", "event": "x", "issued_from": "soon"})
    assert response.status_code == 200
    assert response.context["page"] is None
    html = response.content.decode()
    assert "This search cannot run" in html
    assert "Cannot sort by" in html


def test_a_page_number_out_of_range_or_garbage_does_not_fail(client, boss):
    ticket_for()
    assert codes(client.get(SEARCH, {"page": "abc"})) != []
    for page in ("99", "99999999999999999999"):  # the second overflowed SQLite's OFFSET
        response = client.get(SEARCH, {"page": page})
        assert response.status_code == 200
        assert "past the last one" in response.content.decode()


def test_every_parameter_round_trips_through_the_page(client, boss):
    ticket = ticket_for(name="Zoë Ramos")
    channel = f.ChannelFactory()
    params = {
        "q": "zoe",
        "event": str(ticket.event_id),
        "rate": ticket.rate_name,
        "status": "valid",
        "issued_by": str(ticket.line.issuance.created_by_id),
        "reason": str(ticket.line.issuance.reason_id),
        "attribution": f"channel:{channel.pk}",
        "issued_from": "2026-01-01",
        "issued_to": "2030-01-01",
        "night_from": "2026-01-01",
        "night_to": "2030-01-01",
        "checked_in": "no",
        "environment": "alpha",
        "sort": "-name",
    }
    response = client.get(SEARCH, params)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.is_valid()
    for key, value in params.items():
        assert str(form[key].value()) == value, key
    # The saved-search form and the sort links carry the whole search.
    query = response.context["query_string"]
    for key in params:
        assert f"{key}=" in query
    name_link = response.context["sort_links"]["name"]
    assert name_link["url"].count("sort=") == 1
    assert "sort=name" in name_link["url"]
    assert "q=zoe" in response.context["sort_links"]["code"]["url"]


def test_sortable_headers_toggle_and_keep_the_search(client, boss):
    for name in ("Bea", "Abel", "Ciro"):
        ticket_for(name=name)
    response = client.get(SEARCH, {"sort": "name", "q": "b"})
    assert [t.name for t in response.context["page"].object_list] == ["Abel", "Bea"]
    link = response.context["sort_links"]["name"]
    assert link["arrow"] == "▲"
    assert "sort=-name" in link["url"]
    assert "q=b" in link["url"]
    response = client.get(SEARCH, {"sort": "-name"})
    assert [t.name for t in response.context["page"].object_list] == ["Ciro", "Bea", "Abel"]


def test_pagination_fifty_a_page_with_links_that_keep_the_search(client, boss):
    issuance = f.IssuanceFactory()
    for n in range(TICKETS_PER_PAGE + 3):
        ticket_for(issuance=issuance, name=f"Guest {n:03d}")
    first = client.get(SEARCH, {"q": "guest", "sort": "name"})
    page = first.context["page"]
    assert len(page.object_list) == TICKETS_PER_PAGE
    assert page.has_next
    assert not page.has_previous
    next_url = first.context["next_url"]
    assert "page=2" in next_url
    assert "q=guest" in next_url
    assert "sort=name" in next_url
    second = client.get(SEARCH + next_url)
    assert [t.name for t in second.context["page"].object_list] == [
        f"Guest {n:03d}" for n in range(TICKETS_PER_PAGE, TICKETS_PER_PAGE + 3)
    ]
    assert not second.context["page"].has_next
    assert "page=1" in second.context["previous_url"]


def _queries_for_page(client, count):
    issuance = f.IssuanceFactory()
    for _ in range(count):
        ticket_for(issuance=issuance, name="Same Name")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(SEARCH, {"q": "same"})
    assert len(response.context["page"].object_list) == count
    return len(queries)


def test_a_page_costs_the_same_number_of_queries_for_5_or_50_tickets(client, boss):
    client.get(SEARCH)  # fills the filters' lists, kept a minute
    few = _queries_for_page(client, 5)
    IssuedTicket.objects.all().delete()
    many = _queries_for_page(client, TICKETS_PER_PAGE)
    assert few == many


def test_the_filters_lists_are_read_once_then_kept(client, boss):
    event = f.EventFactory(name="Noche Blanca")
    with CaptureQueriesContext(connection) as first:
        client.get(SEARCH)
    with CaptureQueriesContext(connection) as second:
        response = client.get(SEARCH)
    # Events, issuers, reasons, channels and promoters: read by the first page only.
    assert len(first) - len(second) == 5
    assert f'<option value="{event.pk}">Noche Blanca' in response.content.decode()


def test_the_attribution_select_lists_channels_and_promoters(client, boss):
    channel = f.ChannelFactory(name="Instagram")
    promoter = f.PromoterFactory(first_name="Rosa", last_name="Vidal")
    html = client.get(SEARCH, {"attribution": f"channel:{channel.pk}"}).content.decode()
    select = re.search(r'<select[^>]*name="attribution"[^>]*>(.*?)</select>', html, re.S)
    assert select is not None
    assert "maxlength" not in select.group(0).split(">", 1)[0]
    assert f'<option value="channel:{channel.pk}" selected>Channel: Instagram</option>' in (
        select.group(1)
    )
    assert f'<option value="promoter:{promoter.pk}">Promoter: Rosa Vidal' in select.group(1)
    assert '<option value="none">None (no channel or promoter)</option>' in select.group(1)


def test_an_event_missing_from_the_kept_list_can_still_be_searched(client, boss):
    client.get(SEARCH)  # the lists are kept without the event below
    event = f.EventFactory(name="Just Mirrored")
    ticket_for(code="NEWEVT", event=event)
    response = client.get(SEARCH, {"event": event.pk})
    assert response.context["form"].is_valid()
    assert codes(response) == ["NEWEVT"]


def test_an_issuer_sees_only_their_own_tickets_list_and_detail(client):
    ivy = f.issuer()
    mine = ticket_for(issuance=f.IssuanceFactory(created_by=ivy), code="MINE01")
    theirs = ticket_for(code="THEIRS")
    client.force_login(ivy)
    response = client.get(SEARCH)
    assert codes(response) == ["MINE01"]
    assert "Issued by" not in response.content.decode()
    assert client.get(reverse("ticket-detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("ticket-detail", args=[theirs.pk])).status_code == 404


def test_the_nav_links_to_tickets_for_issuers_and_managers(client, boss):
    response = client.get(reverse("issuance-list"))
    assert f'href="{SEARCH}"' in response.content.decode()


# --- Saved searches ----------------------------------------------------------------------------


def test_save_update_list_and_delete_a_search(client, boss):
    save = reverse("saved-search-save")
    response = client.post(save, {"name": "Press", "query": "q=ana&reason=2&page=4&evil=1"})
    saved = SavedSearch.objects.get(owner=boss, name="Press")
    assert saved.query == "q=ana&reason=2"  # the search's own parameters, without the page
    assert response.status_code == 302
    assert response["Location"] == f"{SEARCH}?q=ana&reason=2"

    client.post(save, {"name": "Press", "query": "q=bea"})
    saved.refresh_from_db()
    assert saved.query == "q=bea"
    assert SavedSearch.objects.filter(owner=boss).count() == 1

    page = client.get(SEARCH).content.decode()
    assert f'href="{SEARCH}?q=bea"' in page

    client.post(reverse("saved-search-delete", args=[saved.pk]))
    assert not SavedSearch.objects.filter(pk=saved.pk).exists()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("  ", "Give the search a name to save it."),
        ("x" * 101, "at most 100 characters"),
        ("Pre\x00ss", "Null characters are not allowed."),  # PostgreSQL would refuse to store it
    ],
)
def test_a_saved_search_needs_a_plain_name(client, boss, name, message):
    save = reverse("saved-search-save")
    response = client.post(save, {"name": name, "query": "q=x"}, follow=True)
    assert response.redirect_chain[0][0] == f"{SEARCH}?q=x"
    assert message in response.content.decode()
    assert not SavedSearch.objects.exists()


def test_saved_searches_are_per_user(client, boss):
    other = f.manager()
    theirs = SavedSearch.objects.create(owner=other, name="Theirs", query="q=secret")
    mine = SavedSearch.objects.create(owner=boss, name="Theirs", query="q=mine")
    response = client.get(SEARCH)
    assert list(response.context["saved_searches"]) == [mine]
    assert "q=secret" not in response.content.decode()
    assert client.post(reverse("saved-search-delete", args=[theirs.pk])).status_code == 404
    assert SavedSearch.objects.filter(pk=theirs.pk).exists()


def test_saved_search_views_need_post(client, boss):
    assert client.get(reverse("saved-search-save")).status_code == 405


# --- The ticket page ---------------------------------------------------------------------------


def test_the_ticket_page_shows_everything_but_the_document(client, boss):
    ticket = ticket_for(
        name="José Pérez",
        code="JP0001",
        document_number="98765432W",
        raw={"_id": "x", "personal_document_number": "98765432W", "code": "JP0001"},
    )
    line = ticket.line
    line.sent_at = timezone.now()
    line.settled_at = line.sent_at
    line.save()
    ApiCall.objects.create(
        credential=line.issuance.credential, method="POST", path="/tickets/", duration_ms=12
    )
    sibling = f.IssuanceLineFactory(issuance=line.issuance, full_name="Sibling Holder")
    ticket.supplements.create(label="Cloakroom", price=3)
    AuditEntry.objects.create(action="issuance.created", target=f"issuance:{line.issuance_id}")

    response = client.get(reverse("ticket-detail", args=[ticket.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "JP0001" in html
    assert "José Pérez" in html
    assert "98765432W" not in html
    assert mask_document("98765432W") in html
    assert "Show document number" in html  # managers may
    assert "Cloakroom" in html
    assert "20.00\u00a0€" in html  # the face value, from the price option
    assert reverse("issuance-detail", args=[line.issuance_id]) in html
    assert sibling.full_name in html
    assert "POST /tickets/" in html
    assert "issuance.created" in html
    assert "personal_document_number" in html  # the raw JSON, masked


def test_revealing_the_document_is_audited(client, boss):
    ticket = ticket_for(document_number="98765432W")
    response = client.post(reverse("ticket-document-reveal", args=[ticket.pk]))
    assert response.status_code == 200
    assert "98765432W" in response.content.decode()
    entry = AuditEntry.objects.get(action="ticket.document_viewed")
    assert entry.actor == boss
    assert entry.target == f"ticket:{ticket.pk}"
    assert "98765432W" not in str(entry.data)
    # Shown once: the next visit is masked again.
    assert (
        "98765432W" not in client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    )


def test_an_issuer_may_not_reveal_a_document(client):
    ivy = f.issuer()
    ticket = ticket_for(issuance=f.IssuanceFactory(created_by=ivy), document_number="98765432W")
    client.force_login(ivy)
    page = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()
    assert "Show document number" not in page
    response = client.post(reverse("ticket-document-reveal", args=[ticket.pk]))
    assert response.status_code == 403
    assert not AuditEntry.objects.filter(action="ticket.document_viewed").exists()


def test_revealing_someone_elses_ticket_is_a_404(client):
    ivy = f.issuer()
    ticket = ticket_for(document_number="98765432W")
    client.force_login(ivy)
    assert client.post(reverse("ticket-document-reveal", args=[ticket.pk])).status_code == 404


def test_the_roles_have_the_document_permission_as_migrated():
    assert f.admin().has_perm("tickets.view_document_numbers")
    assert f.manager().has_perm("tickets.view_document_numbers")
    assert not f.issuer().has_perm("tickets.view_document_numbers")


def test_the_export_links_carry_the_search_and_the_chosen_columns(client, boss):
    response = client.get(SEARCH, {"q": "ana", "columns": ["code", "email"]})
    html = response.content.decode()
    assert "/tickets/export/?q=ana&amp;columns=code%2Cemail&amp;format=csv" in html
    assert "/tickets/export/?q=ana&amp;columns=code%2Cemail&amp;format=xlsx" in html


def test_saving_a_search_keeps_its_export_columns(client, boss):
    client.post(
        reverse("saved-search-save"), {"name": "Door list", "query": "q=ana&columns=code,email"}
    )
    assert boss.saved_searches.get().query == "q=ana&columns=code%2Cemail"


# --- How many match, the folding filters and their chips, Spanish -------------------------------


def test_the_page_says_how_many_tickets_match(client, boss):
    ticket_for(name="Ana García", code="AG0001")
    ticket_for(name="Ana López", code="AL0001")
    ticket_for(name="Bea Ruiz", code="BR0001")

    html = client.get(SEARCH, {"q": "ana"}).content.decode()
    assert "2 tickets match" in html
    html = client.get(SEARCH, {"q": "bea"}).content.decode()
    assert "1 ticket matches" in html


def test_past_the_bound_the_count_says_more(client, boss, monkeypatch):
    monkeypatch.setattr("tickets.views.search.TICKETS_PER_PAGE", 2)
    monkeypatch.setattr("tickets.selectors.search.COUNT_BOUND", 3)
    for i in range(5):
        ticket_for(name=f"Ana {i}", code=f"AN{i:04d}")

    with CaptureQueriesContext(connection) as captured:
        html = client.get(SEARCH, {"q": "ana"}).content.decode()
    assert "3+ tickets match" in html
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert "LIMIT 4" in counts[0]

    monkeypatch.setattr("tickets.selectors.search.COUNT_BOUND", 10)
    assert "5 tickets match" in client.get(SEARCH, {"q": "ana"}).content.decode()


def test_a_page_that_ends_the_results_is_counted_without_a_count_query(client, boss):
    ticket_for(name="Ana García", code="AG0001")
    with CaptureQueriesContext(connection) as captured:
        html = client.get(SEARCH, {"q": "ana"}).content.decode()
    assert "1 ticket matches" in html
    assert not [q for q in captured if "COUNT(" in q["sql"].upper()]


def test_the_filters_fold_away_after_a_search(client, boss):
    ticket_for(name="Ana García")
    fresh = client.get(SEARCH).content.decode()
    assert re.search(r'<details class="filter-panel[^>]*\bopen\b', fresh)

    searched = client.get(SEARCH, {"q": "ana"}).content.decode()
    assert re.search(r'<details class="filter-panel[^>]*>', searched)
    assert not re.search(r'<details class="filter-panel[^>]*\bopen\b', searched)

    # A search to correct keeps the panel open, its errors in sight.
    wrong = client.get(SEARCH, {"issued_from": "not-a-date"}).content.decode()
    assert re.search(r'<details class="filter-panel[^>]*\bopen\b', wrong)


def test_active_filters_show_as_chips_that_each_remove_their_filter(client, boss):
    ticket_for(name="Ana García", rate_name="VIP", is_valid=True)
    params = {"q": "ana", "status": "valid", "rate": "VIP", "sort": "name", "page": "2"}

    response = client.get(SEARCH, params)
    chips = {chip.label: chip for chip in response.context["chips"]}

    assert set(chips) == {"Search", "Status", "Rate name"}
    assert chips["Status"].value == "Valid"  # the option's label, not "valid"
    without_status = chips["Status"].remove_url
    assert "status=" not in without_status
    assert "q=ana" in without_status
    assert "rate=VIP" in without_status
    assert "sort=name" in without_status  # the sort is kept, the page starts again
    assert "page=" not in without_status
    html = response.content.decode()
    assert 'id="filter-chips"' in html
    assert f'href="{without_status.replace("&", "&amp;")}"' in html
    # Following the chip searches without that filter.
    assert [c.label for c in client.get(without_status).context["chips"]] == [
        "Search",
        "Rate name",
    ]


def test_a_chip_names_an_event_and_a_date_as_people_read_them(client, boss):
    event = f.EventFactory(name="Sábado Techno", night=dt.date(2026, 12, 5))
    ticket_for(event=event)

    response = client.get(SEARCH, {"event": event.pk, "night_from": "2026-12-01"})
    chips = {chip.label: chip.value for chip in response.context["chips"]}
    assert chips["Event"] == "Sábado Techno (Sat 5 Dec 2026)"
    assert chips["Event night from"] == "1 Dec 2026"


def test_no_search_no_chips_and_no_count(client, boss):
    response = client.get(SEARCH)
    assert response.context["chips"] == []
    assert 'id="match-count"' not in response.content.decode()


def test_the_search_page_reads_in_spanish(client, boss):
    ticket_for(
        name="Ana García",
        is_valid=True,
        event=f.EventFactory(name="Noche", night=dt.date(2026, 12, 5)),
        issued_at=dt.datetime(2026, 12, 1, 20, 0, tzinfo=dt.UTC),
    )
    cancelled = ticket_for(name="Ana Ruiz", is_valid=False, status="cancelled")

    html = client.get(SEARCH, {"q": "ana"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert '<html lang="es"' in html
    assert "2 entradas coinciden" in html
    assert "Filtros activos" in html
    assert '<span class="badge text-bg-success">Válida</span>' in html
    assert '<span class="badge text-bg-secondary">Cancelada</span>' in html
    assert "sáb 5 Dic 2026" in html  # the event's night, named in Spanish
    assert "Exportar CSV (Excel en español)" in html
    # Spanish Excel's CSV is offered first in Spanish.
    formats = re.findall(r"format=([\w-]+)", html)
    assert formats[0] == "csv-es"
    assert "csv" in formats
    assert "xlsx" in formats
    assert cancelled.code in html


def test_the_ticket_page_keeps_technical_details_behind_a_disclosure(client, boss):
    ticket = ticket_for(
        name="José Pérez",
        code="JP0001",
        remote_id="65f0c0ffee",
        payment_id="pay_778899",
        raw={"_id": "65f0c0ffee"},
        is_valid=False,
        status="cancelled",
        statuses=["cancelled"],
    )
    AuditEntry.objects.create(
        action="issuance.created", target=f"issuance:{ticket.line.issuance_id}"
    )

    html = client.get(reverse("ticket-detail", args=[ticket.pk])).content.decode()

    people, _, technical = html.partition('<details class="technical-details')
    assert technical, "no technical details disclosure"
    assert "Technical details" in technical
    for engineering in (
        "65f0c0ffee",
        "pay_778899",
        'id="raw-json"',
        'id="api-calls"',
        "issuance.created",
    ):
        assert engineering not in people, engineering
    assert "65f0c0ffee" in technical
    assert "pay_778899" in technical
    # For people: the status in words, the audit action as a sentence.
    assert 'data-testid="status">Cancelled<' in people
    assert "Submitted comps to issue" in people


def test_the_ticket_page_reads_in_spanish(client, boss):
    ticket = ticket_for(name="José Pérez", is_valid=True, price="12.50")
    html = client.get(
        reverse("ticket-detail", args=[ticket.pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()
    assert "Detalles técnicos" in html
    assert "Titular" in html
    assert 'data-testid="status">Válida<' in html
