"""`search_selectors.search_tickets`: every search key, every filter, sorting and who sees what.

The filters are written as the page's URL writes them and validated by its form, as the view does;
the PostgreSQL test at the end checks that the text search is served by the trigram index.
"""

import datetime as dt
import time

import pytest
from django.db import connection
from django.utils import timezone

from tests import factories as f
from tickets.forms.search import TicketSearchForm
from tickets.models import IssuanceLine, IssuedTicket
from tickets.selectors import search as search_selectors
from tickets.text import document_digest
from tickets.text import search_text as text_search_text

pytestmark = pytest.mark.django_db


def filters_of(params):
    form = TicketSearchForm.from_query(params)
    assert form.is_valid(), form.errors
    return form.filters()


def searched(user, params):
    return search_selectors.search_tickets(user=user, filters=filters_of(params))


def found(user, **params):
    return list(searched(user, params))


def ticket_for(*, issuance=None, line_kwargs=None, **kwargs):
    line_kwargs = dict(line_kwargs or {})
    if line_kwargs.get("document_number"):
        line_kwargs["document_digest"] = document_digest(line_kwargs["document_number"])
    line = f.IssuanceLineFactory(
        issuance=issuance or f.IssuanceFactory(), state="confirmed", **line_kwargs
    )
    return f.IssuedTicketFactory(line=line, **kwargs)


@pytest.fixture
def boss():
    return f.manager()


@pytest.fixture
def jose():
    return ticket_for(
        name="José Pérez Núñez",
        email="Jose.Perez@Example.COM",
        phone="+34 612 34 56 78",
        code="ABC123XYZ",
        qr_code="COMPS-9f8e7d",
        payment_id="pay_778899",
        remote_id="65f0c0ffee",
        line_kwargs={"document_type": "dni", "document_number": "98765432W"},
    )


@pytest.fixture
def other():
    return ticket_for(name="Ana García", email="ana@example.org", phone="699 000 111")


# --- The search box ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "term",
    [
        "josé",
        "JOSE",
        "pérez nú",
        "perez nu",
        "NUÑEZ",
        "jose.perez@",
        "EXAMPLE.com",
        "+34 612 34 56 78",
        "612345678",
        "612 34 56 78",
        "0034612345678",
        "612-34-56-78",
        "abc123xyz",
        "ABC123",
        "COMPS-9f8e7d",
        "pay_778899",
        "65f0c0ffee",
        "98765432W",
        "98765432-w",
        " 98.765.432 w ",
    ],
)
def test_the_search_box_finds_a_ticket_by(term, boss, jose, other):
    assert found(boss, q=term) == [jose]


@pytest.mark.parametrize("term", ["98765432", "5432W", "8765432W", "nobody"])
def test_partial_document_numbers_and_strangers_find_nothing(term, boss, jose, other):
    assert found(boss, q=term) == []


def test_the_document_number_is_never_in_the_searchable_text(jose):
    assert "98765432" not in jose.search_text
    assert jose.line.document_digest == document_digest("98765432W")


def test_an_empty_search_lists_everything_visible(boss, jose, other):
    assert set(found(boss)) == {jose, other}
    assert set(found(boss, q="   ")) == {jose, other}


# --- Visibility --------------------------------------------------------------------------------


def test_an_issuer_sees_only_the_tickets_of_their_own_issuances(boss):
    ivy = f.issuer()
    mine = ticket_for(issuance=f.IssuanceFactory(created_by=ivy), name="Mine Holder")
    theirs = ticket_for(name="Their Holder")
    unlinked = f.IssuedTicketFactory(line=None, name="Box Office")
    assert found(ivy) == [mine]
    assert found(ivy, q="holder") == [mine]
    assert set(found(boss)) == {mine, theirs, unlinked}
    assert search_selectors.tickets_visible_to(ivy).filter(pk=theirs.pk).exists() is False


# --- Filters -----------------------------------------------------------------------------------


def test_filter_by_event_and_rate_name(boss, jose, other):
    assert found(boss, event=str(jose.event_id)) == [jose]
    assert found(boss, rate=jose.rate_name.upper()) == [jose]
    assert found(boss, rate="No such rate") == []


def test_filter_by_status(boss, jose, other):
    IssuedTicket.objects.filter(pk=other.pk).update(is_valid=False, status="cancelled", refunded=20)
    assert found(boss, status="valid") == [jose]
    assert found(boss, status="invalid") == [other]
    assert found(boss, status="refunded") == [other]


def test_filter_by_issuer_and_reason(boss, jose, other):
    press = f.ReasonFactory(label="Press")
    other.line.issuance.reason = press
    other.line.issuance.save()
    assert found(boss, issued_by=str(jose.line.issuance.created_by_id)) == [jose]
    assert found(boss, reason=str(press.pk)) == [other]


def test_filter_by_attribution(boss):
    channel = f.ChannelFactory()
    promoter = f.PromoterFactory()
    by_channel = ticket_for(issuance=f.IssuanceFactory(channel=channel))
    by_promoter = ticket_for(issuance=f.IssuanceFactory(promoter=promoter))
    plain = ticket_for()
    assert found(boss, attribution=f"channel:{channel.pk}") == [by_channel]
    assert found(boss, attribution=f"promoter:{promoter.pk}") == [by_promoter]
    assert found(boss, attribution="none") == [plain]


def test_filter_by_issue_date(boss, jose, other):
    from tickets.models import Issuance

    long_ago = timezone.now() - dt.timedelta(days=30)
    Issuance.objects.filter(pk=other.line.issuance_id).update(created_at=long_ago)
    today = timezone.localdate()
    assert found(boss, issued_from=today.isoformat()) == [jose]
    assert found(boss, issued_to=(today - dt.timedelta(days=1)).isoformat()) == [other]
    assert found(
        boss,
        issued_from=(today - dt.timedelta(days=31)).isoformat(),
        issued_to=(today - dt.timedelta(days=29)).isoformat(),
    ) == [other]


def test_filter_by_event_night(boss, jose, other):
    IssuedTicket.objects.filter(pk=other.pk).update(event_night=dt.date(2026, 3, 14))
    IssuedTicket.objects.filter(pk=jose.pk).update(event_night=dt.date(2026, 3, 21))
    assert found(boss, night_from="2026-03-15") == [jose]
    assert found(boss, night_to="2026-03-15") == [other]
    assert found(boss, night_from="2026-03-14", night_to="2026-03-14") == [other]


def test_filter_by_check_in(boss, jose, other):
    IssuedTicket.objects.filter(pk=jose.pk).update(entered=1, entry_date=timezone.now())
    assert found(boss, checked_in="yes") == [jose]
    assert found(boss, checked_in="no") == [other]


def test_filter_by_environment(boss, jose, other):
    IssuedTicket.objects.filter(pk=other.pk).update(environment="production")
    assert found(boss, environment="production") == [other]
    assert found(boss, environment="alpha") == [jose]


def test_filters_combine_with_the_search_box(boss, jose, other):
    assert found(boss, q="jose", event=str(other.event_id)) == []
    assert found(boss, q="jose", event=str(jose.event_id)) == [jose]


# --- Sorting and bad input ---------------------------------------------------------------------


def test_sorting_by_name_both_ways_and_newest_issued_first_by_default(boss):
    names = ["Carla", "Alba", "Bruno"]
    tickets = [ticket_for(name=name) for name in names]
    assert [t.name for t in found(boss, sort="name")] == ["Alba", "Bruno", "Carla"]
    assert [t.name for t in found(boss, sort="-name")] == ["Carla", "Bruno", "Alba"]
    assert found(boss) == list(reversed(tickets))
    assert found(boss, sort="issued") == tickets


@pytest.mark.parametrize(
    "key",
    ["code", "email", "event", "rate", "status", "checked_in", "issued_by", "reason", "issued"],
)
def test_every_sort_key_runs(boss, jose, other, key):
    assert set(found(boss, sort=key)) == {jose, other}
    assert set(found(boss, sort=f"-{key}")) == {jose, other}


def test_the_default_filters_select_everything_visible_newest_issued_first(boss):
    tickets = [ticket_for(name=name) for name in ("Alba", "Bruno")]
    filters = search_selectors.TicketSearchFilters()
    assert filters.sort == search_selectors.DEFAULT_SORT
    assert list(search_selectors.search_tickets(user=boss, filters=filters)) == tickets[::-1]


def test_unknown_parameters_are_ignored(boss, jose):
    assert found(boss, q="jose", utm_source="mail", page="3") == [jose]


# --- PostgreSQL: the trigram index serves the text search ----------------------------------------

INDEX = "tickets_issuedticket_search_trgm"


def _bulk_tickets(count: int) -> None:
    now = timezone.now()
    IssuedTicket.objects.bulk_create(
        IssuedTicket(
            environment="alpha",
            remote_id=f"bulk{n:06d}",
            code=f"BK{n:06d}",
            name=f"Holder Number{n}",
            email=f"holder{n}@example.net",
            raw={},
            remote_created_at=now,
            issued_at=now,
            search_text=text_search_text(
                f"Holder Number{n}", f"holder{n}@example.net", f"BK{n:06d}", f"bulk{n:06d}"
            ),
        )
        for n in range(count)
    )


def test_the_text_search_uses_the_trigram_index_on_postgresql(boss, jose):
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index exists on postgresql only")
    started = time.monotonic()
    _bulk_tickets(5_000)
    with connection.cursor() as cursor:
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [INDEX])
        cursor.execute("ANALYZE tickets_issuedticket")
        cursor.execute("ANALYZE tickets_issuanceline")
    tickets = searched(boss, {"q": "José Pérez"})
    plan = tickets.explain()
    assert INDEX in plan, plan
    assert list(tickets) == [jose]
    # The phone form of the search (an OR of digit fragments) is served by the index as well.
    phone_plan = searched(boss, {"q": "+34 612 34 56 78"}).explain()
    assert INDEX in phone_plan, phone_plan
    # With no term, the newest page comes straight off the (issued_at, id) index, no sort.
    page_plan = searched(boss, {})[:51].explain()
    assert "issued_ticket_issued_idx" in page_plan, page_plan
    assert time.monotonic() - started < 10


def test_document_search_resolves_line_ids_before_the_ticket_query(boss, jose):
    # Keeps the OR on the ticket table (one index per arm on PostgreSQL).
    sql = str(searched(boss, {"q": "98765432W"}).query)
    assert "document_digest" not in sql.split(" WHERE ", 1)[1]
    assert IssuanceLine.objects.filter(document_digest=document_digest("98765432W")).count() == 1


# --- How many match, and what a status is called -------------------------------------------------


def test_the_count_is_exact_up_to_the_bound_then_says_more():
    manager = f.manager()
    for _ in range(4):
        ticket_for()

    assert search_selectors.count_up_to(searched(manager, {}), bound=4) == 4
    assert search_selectors.count_up_to(searched(manager, {}), bound=10) == 4
    # Past the bound the count stops at bound + 1: "more than 3", never the exact number.
    assert search_selectors.count_up_to(searched(manager, {}), bound=3) == 4
    assert search_selectors.count_up_to(searched(manager, {}), bound=2) == 3


def test_the_count_is_one_query_over_a_limited_subquery():
    from django.test.utils import CaptureQueriesContext

    ticket_for()
    with CaptureQueriesContext(connection) as captured:
        search_selectors.count_up_to(searched(f.manager(), {}))
    counts = [q["sql"] for q in captured if "COUNT(" in q["sql"].upper()]
    assert len(counts) == 1
    assert f"LIMIT {search_selectors.COUNT_BOUND + 1}" in counts[0]


@pytest.mark.parametrize(
    ("is_valid", "status", "label"),
    [
        (True, "activated", "Valid"),
        (None, "", "Status unknown"),
        (False, "cancelled", "Cancelled"),
        (False, "refunded", "Refunded"),
        (False, "activated", "Not valid"),
        (False, "", "Not valid"),
        (False, "some_new_status", "some_new_status"),
    ],
)
def test_a_status_has_the_words_people_read(is_valid, status, label):
    assert search_selectors.ticket_status_label(is_valid, status) == label


def test_a_status_label_follows_the_language():
    from django.utils import translation

    with translation.override("es"):
        assert search_selectors.ticket_status_label(True, "activated") == "Válida"
        assert search_selectors.ticket_status_label(False, "cancelled") == "Cancelada"
