"""The issuer's pages: the list, the live progress page, the codes (QR, CSV, print) and the two
actions a line may need (retry, check with Fourvenues now)."""

import csv
import datetime as dt
import io
import itertools
from pathlib import Path

import pytest
import segno
from django.contrib.staticfiles import finders
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from django_tasks_db.models import DBTaskResult

from tests import factories as f
from tickets.models import FailureCause, IssuanceStatus, IssuedTicket, LineState
from tickets.services import resolver
from tickets.views import issuances as issuance_views

pytestmark = pytest.mark.django_db

_remote_ids = itertools.count(1)


def line(issuance, state=LineState.PENDING, **kwargs):
    return f.IssuanceLineFactory(issuance=issuance, state=state, **kwargs)


def confirmed(issuance, code, **kwargs):
    """A confirmed line with its mirrored ticket, as the sending task leaves it."""
    confirmed_line = line(issuance, LineState.CONFIRMED, **kwargs)
    IssuedTicket.objects.create(
        environment="alpha",
        remote_id=f"remote-{next(_remote_ids)}",
        line=confirmed_line,
        event=issuance.event,
        code=code,
        status="activated",
        name=confirmed_line.full_name,
        email=confirmed_line.email,
    )
    return confirmed_line


def url(name, issuance, *lines):
    return reverse(name, args=[issuance.pk, *(ln.pk for ln in lines)])


# --- Who sees what ---------------------------------------------------------------------------


def test_an_issuer_lists_only_their_own_issuances(issuer_client, issuer):
    mine = f.IssuanceFactory(created_by=issuer, price_option__rate__event__name="My night")
    f.IssuanceFactory(price_option__rate__event__name="Someone else's night")

    response = issuer_client.get(reverse("issuance-list"))

    assert response.status_code == 200
    assert list(response.context["page"].object_list) == [mine]
    html = response.content.decode()
    assert "My night" in html
    assert "Someone else" not in html
    assert "Issued by" not in html
    assert "Only mine" not in html  # nothing to narrow for an issuer


@pytest.mark.parametrize(
    ("method", "name", "with_line"),
    [
        ("get", "issuance-detail", False),
        ("get", "issuance-progress", False),
        ("get", "issuance-codes-csv", False),
        ("get", "issuance-print", False),
        ("get", "issuance-line-qr", True),
        ("post", "issuance-line-retry", True),
        ("post", "issuance-resolve", False),
    ],
)
def test_someone_elses_issuance_is_not_found_for_an_issuer(
    issuer_client, issuer, method, name, with_line
):
    theirs = f.IssuanceFactory()
    their_line = confirmed(theirs, "THEIRS-1")
    if with_line:
        their_line.state = LineState.FAILED
        their_line.save()
    lines = [their_line] if with_line else []

    response = getattr(issuer_client, method)(url(name, theirs, *lines))

    assert response.status_code == 404
    their_line.refresh_from_db()
    assert their_line.state == (LineState.FAILED if with_line else LineState.CONFIRMED)


def test_a_line_of_another_issuance_is_not_found_under_mine(issuer_client, issuer):
    mine = f.IssuanceFactory(created_by=issuer)
    other_line = confirmed(f.IssuanceFactory(), "OTHER-1")

    response = issuer_client.get(url("issuance-line-qr", mine, other_line))

    assert response.status_code == 404


def test_a_manager_sees_every_issuance_and_who_issued_it(client):
    manager = f.manager(first_name="Mia", last_name="Manager")
    client.force_login(manager)
    own = f.IssuanceFactory(created_by=manager)
    other = f.IssuanceFactory(created_by=f.issuer(first_name="Ivo", last_name="Issuer"))

    response = client.get(reverse("issuance-list"))

    assert set(response.context["page"].object_list) == {own, other}
    html = response.content.decode()
    assert "Issued by" in html
    assert "Ivo Issuer" in html
    assert client.get(url("issuance-detail", other)).status_code == 200


def test_a_manager_can_narrow_the_list_to_their_own(client):
    manager = f.manager()
    client.force_login(manager)
    own = f.IssuanceFactory(created_by=manager)
    f.IssuanceFactory()

    response = client.get(reverse("issuance-list"), {"mine": "1"})

    assert list(response.context["page"].object_list) == [own]
    assert response.context["only_mine"] is True


def test_mine_1_changes_nothing_for_an_issuer(issuer_client, issuer):
    mine = f.IssuanceFactory(created_by=issuer)

    response = issuer_client.get(reverse("issuance-list"), {"mine": "1"})

    assert list(response.context["page"].object_list) == [mine]


def test_users_who_cannot_issue_comps_are_refused(client):
    client.force_login(f.UserFactory())
    issuance = f.IssuanceFactory()

    assert client.get(reverse("issuance-list")).status_code == 403
    assert client.get(url("issuance-detail", issuance)).status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(client):
    response = client.get(reverse("issuance-list"))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_nav_links_an_issuer_to_my_issuances(issuer_client, issuer):
    response = issuer_client.get(reverse("home"))

    assert reverse("issuance-list") in response.content.decode()
    assert ">My issuances</a>" in response.content.decode()


def test_the_nav_links_a_manager_to_everyones_issuances(client):
    client.force_login(f.manager())
    response = client.get(reverse("home"))

    assert reverse("issuance-list") in response.content.decode()
    assert ">Issuances</a>" in response.content.decode()
    assert "My issuances" not in response.content.decode()


# --- The list --------------------------------------------------------------------------------


def test_the_list_is_newest_first_and_paged_by_25(issuer_client, issuer):
    issuances = [f.IssuanceFactory(created_by=issuer) for _ in range(27)]
    newest_first = list(reversed(issuances))

    first = issuer_client.get(reverse("issuance-list"))
    second = issuer_client.get(reverse("issuance-list"), {"page": "2"})

    assert list(first.context["page"].object_list) == newest_first[:25]
    assert list(second.context["page"].object_list) == newest_first[25:]
    assert "Page 1 of 2" in first.content.decode()


def test_the_list_shows_event_rate_holders_reason_and_status(issuer_client, issuer):
    issuance = f.IssuanceFactory(
        created_by=issuer,
        price_option__rate__event__name="Saturday Club",
        price_option__rate__name="Guest list",
        status=IssuanceStatus.PARTIAL,
    )
    confirmed(issuance, "C-1")
    confirmed(issuance, "C-2")
    line(issuance, LineState.FAILED)

    html = issuer_client.get(reverse("issuance-list")).content.decode()

    assert "Saturday Club" in html
    assert "Guest list" in html
    assert "2/3" in html
    assert "Staff" in html
    assert 'badge-status-partial">Completed with failures<' in html
    assert url("issuance-detail", issuance) in html


# --- The detail page and its live part -------------------------------------------------------


def test_the_detail_page_shows_the_header(issuer_client, issuer):
    issuance = f.IssuanceFactory(
        created_by=issuer,
        price_option__rate__event__name="Friday Live",
        price_option__rate__name="VIP",
        channel=f.ChannelFactory(name="Press office"),
        note="For the band's manager",
    )

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    for text in ("Friday Live", "VIP", "Channel: Press office", "Staff", "For the band"):
        assert text in html
    assert issuer.get_full_name() in html


def test_confirmed_lines_show_their_code_and_a_qr_image(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.COMPLETED)
    first = confirmed(issuance, "CODE-AAA", full_name="Ada Lovelace", email="ada@example.com")
    second = confirmed(issuance, "CODE-BBB")

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    assert "Ada Lovelace" in html
    assert "ada@example.com" in html
    assert '<code class="ticket-code">CODE-AAA</code>' in html
    assert '<code class="ticket-code">CODE-BBB</code>' in html
    assert f'src="{url("issuance-line-qr", issuance, first)}"' in html
    assert f'src="{url("issuance-line-qr", issuance, second)}"' in html
    assert "Retry" not in html
    assert url("issuance-codes-csv", issuance) in html
    assert url("issuance-print", issuance) in html


def test_only_failed_lines_show_their_error_and_a_retry_button(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.PARTIAL)
    ok = confirmed(issuance, "CODE-OK")
    failed = line(issuance, LineState.FAILED, last_error="Fourvenues refused: invalid email")

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    assert "Fourvenues refused: invalid email" in html
    assert html.count(">Retry</button>") == 1
    assert f'action="{url("issuance-line-retry", issuance, failed)}"' in html
    assert url("issuance-line-retry", issuance, ok) not in html
    assert f'src="{url("issuance-line-qr", issuance, failed)}"' not in html


def test_unknown_lines_say_they_are_being_checked_and_cannot_be_retried(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.CHECKING)
    unknown = line(issuance, LineState.UNKNOWN, last_error="Timed out")

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    assert "Checking with Fourvenues…" in html
    assert url("issuance-line-retry", issuance, unknown) not in html
    assert ">Retry</button>" not in html
    assert "Check with Fourvenues now" in html
    assert f'action="{url("issuance-resolve", issuance)}"' in html


def test_no_check_now_button_without_unknown_lines(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer)
    line(issuance, LineState.FAILED)
    confirmed(issuance, "C-1")

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    assert "Check with Fourvenues now" not in html


@pytest.mark.parametrize("state", [LineState.PENDING, LineState.SENDING, LineState.UNKNOWN])
def test_the_progress_part_polls_while_a_line_may_still_change(issuer_client, issuer, state):
    issuance = f.IssuanceFactory(created_by=issuer)
    confirmed(issuance, "C-1")
    line(issuance, state)

    partial = issuer_client.get(url("issuance-progress", issuance))
    page = issuer_client.get(url("issuance-detail", issuance))

    polling = (
        f'hx-get="{url("issuance-progress", issuance)}" hx-trigger="every 1s" hx-swap="outerHTML"'
    )
    assert partial.status_code == 200
    assert polling in partial.content.decode()
    assert polling in page.content.decode()
    assert "<html" not in partial.content.decode()  # just the fragment htmx swaps in
    assert partial["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize(
    "states",
    [
        [LineState.CONFIRMED, LineState.CONFIRMED],
        [LineState.CONFIRMED, LineState.FAILED],
        [LineState.FAILED, LineState.REJECTED],
    ],
)
def test_the_progress_part_stops_polling_once_every_line_settled(issuer_client, issuer, states):
    issuance = f.IssuanceFactory(created_by=issuer)
    for position, state in enumerate(states):
        if state == LineState.CONFIRMED:
            confirmed(issuance, f"C-{position}")
        else:
            line(issuance, state)

    html = issuer_client.get(url("issuance-progress", issuance)).content.decode()

    assert 'id="issuance-progress"' in html
    assert "hx-trigger" not in html
    assert "hx-get" not in html
    assert f"{len(states)} of {len(states)} settled" in html


def test_the_progress_bar_counts_settled_lines(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer)
    confirmed(issuance, "C-1")
    line(issuance, LineState.FAILED)
    line(issuance, LineState.SENDING)
    line(issuance, LineState.PENDING)

    html = issuer_client.get(url("issuance-progress", issuance)).content.decode()

    assert "2 of 4 settled · 1 issued · 1 failed" in html
    assert 'aria-label="Issued" aria-valuenow="25"' in html
    assert 'aria-label="Failed" aria-valuenow="25"' in html


# --- QR, CSV and print -----------------------------------------------------------------------


def test_the_qr_view_returns_the_svg_of_the_ticket_code(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer)
    ticketed = confirmed(issuance, "COMPS-QRCODE42")

    response = issuer_client.get(url("issuance-line-qr", issuance, ticketed))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "private" in response["Cache-Control"]
    expected = io.BytesIO()
    segno.make("COMPS-QRCODE42", error="m").save(expected, kind="svg", scale=4, border=2)
    assert response.content == expected.getvalue()
    assert b"<svg" in response.content


@pytest.mark.parametrize("state", [LineState.PENDING, LineState.FAILED, LineState.UNKNOWN])
def test_the_qr_view_is_not_found_for_a_line_without_ticket(issuer_client, issuer, state):
    issuance = f.IssuanceFactory(created_by=issuer)
    untickted = line(issuance, state)

    response = issuer_client.get(url("issuance-line-qr", issuance, untickted))

    assert response.status_code == 404


def read_csv(response):
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_the_csv_has_exactly_the_confirmed_tickets(issuer_client, issuer):
    issuance = f.IssuanceFactory(
        created_by=issuer,
        price_option__rate__event__name="Sábado Noche",
        price_option__rate__event__slug="sabado-noche",
        price_option__rate__name="VIP",
    )
    confirmed(issuance, "CODE-1", full_name="José Núñez", email="jose@example.com")
    line(issuance, LineState.FAILED, full_name="Failed Person")
    line(issuance, LineState.UNKNOWN, full_name="Unknown Person")
    confirmed(issuance, "CODE-2", full_name="Bea", email="bea@example.com")
    night = issuance.event.night.isoformat()

    response = issuer_client.get(url("issuance-codes-csv", issuance))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="comps-sabado-noche-{issuance.pk}.csv"'
    )
    assert read_csv(response) == [
        ["Holder", "Email", "Ticket code", "Event", "Night", "Rate", "Status"],
        ["José Núñez", "jose@example.com", "CODE-1", "Sábado Noche", night, "VIP", "Valid"],
        ["Bea", "bea@example.com", "CODE-2", "Sábado Noche", night, "VIP", "Valid"],
    ]


def test_the_csv_never_contains_document_numbers(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer)
    confirmed(issuance, "CODE-1", document_type="dni", document_number="12345678Z")

    response = issuer_client.get(url("issuance-codes-csv", issuance))

    assert b"12345678Z" not in response.content
    assert b"dni" not in response.content.lower()


@pytest.mark.parametrize("payload", ["=HYPERLINK(1)", "+1+1", "-2+3", "@SUM(A1)"])
def test_the_csv_defuses_spreadsheet_formulas(issuer_client, issuer, payload):
    issuance = f.IssuanceFactory(created_by=issuer, price_option__rate__event__name=payload)
    confirmed(issuance, "CODE-1", full_name=payload)

    rows = read_csv(issuer_client.get(url("issuance-codes-csv", issuance)))

    holder, _, code, event, *_ = rows[1]
    assert holder == f"'{payload}"
    assert event == f"'{payload}"
    assert code == "CODE-1"


def test_the_csv_filename_falls_back_to_the_event_name(issuer_client, issuer):
    issuance = f.IssuanceFactory(
        created_by=issuer,
        price_option__rate__event__name="Jueves Ñ",
        price_option__rate__event__slug="",
    )

    response = issuer_client.get(url("issuance-codes-csv", issuance))

    assert f'filename="comps-jueves-n-{issuance.pk}.csv"' in response["Content-Disposition"]


def test_the_print_view_has_a_card_per_confirmed_ticket(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, price_option__rate__event__name="Print Night")
    first = confirmed(issuance, "PRINT-AAA", full_name="Ada")
    second = confirmed(issuance, "PRINT-BBB", full_name="Bea")
    line(issuance, LineState.FAILED, full_name="Cid")

    response = issuer_client.get(url("issuance-print", issuance))

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('class="card h-100 print-card"') == 2
    for ticketed, code in ((first, "PRINT-AAA"), (second, "PRINT-BBB")):
        assert code in html
        assert f'src="{url("issuance-line-qr", issuance, ticketed)}"' in html
    assert "Cid" not in html
    assert "Print Night" in html
    assert "bootstrap/css/bootstrap.min.css" in html
    assert "https://" not in html  # no CDN
    assert "<script>" not in html  # no inline scripts


# --- Retry and check now ---------------------------------------------------------------------


def test_retrying_a_failed_line_queues_it_again(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.PARTIAL)
    confirmed(issuance, "C-1")
    failed = line(issuance, LineState.FAILED, full_name="Ada", last_error="Refused")
    tasks_before = DBTaskResult.objects.count()

    response = issuer_client.post(url("issuance-line-retry", issuance, failed), follow=True)

    assert response.redirect_chain == [(url("issuance-detail", issuance), 302)]
    failed.refresh_from_db()
    assert failed.state == LineState.PENDING
    assert DBTaskResult.objects.count() == tasks_before + 1
    assert "Sending the ticket for Ada again." in response.content.decode()
    assert "hx-trigger" in response.content.decode()  # back to polling


@pytest.mark.parametrize("state", [LineState.CONFIRMED, LineState.UNKNOWN, LineState.SENDING])
def test_only_failed_lines_can_be_retried(issuer_client, issuer, state):
    issuance = f.IssuanceFactory(created_by=issuer)
    not_failed = line(issuance, state, full_name="Ada")

    response = issuer_client.post(url("issuance-line-retry", issuance, not_failed), follow=True)

    not_failed.refresh_from_db()
    assert not_failed.state == state
    assert "cannot be retried" in response.content.decode()
    assert 'class="alert alert-danger"' in response.content.decode()


def test_check_now_asks_the_resolver_about_unknown_lines(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.CHECKING)
    unknown = line(issuance, LineState.UNKNOWN)
    tasks_before = DBTaskResult.objects.count()

    response = issuer_client.post(url("issuance-resolve", issuance), follow=True)

    assert response.redirect_chain == [(url("issuance-detail", issuance), 302)]
    unknown.refresh_from_db()
    assert unknown.next_resolve_at is not None
    assert DBTaskResult.objects.count() == tasks_before + 1
    assert "Asked Fourvenues" in response.content.decode()


def test_check_now_without_unknown_lines_says_so(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer)
    confirmed(issuance, "C-1")

    response = issuer_client.post(url("issuance-resolve", issuance), follow=True)

    assert "No ticket of this issuance is waiting to be checked." in response.content.decode()


def test_the_views_pass_the_user_and_request_to_the_services(issuer_client, issuer, monkeypatch):
    issuance = f.IssuanceFactory(created_by=issuer)
    failed = line(issuance, LineState.FAILED)
    calls = []
    monkeypatch.setattr(
        "tickets.services.issuance.retry_line", lambda **kwargs: calls.append(("retry", kwargs))
    )
    monkeypatch.setattr(
        "tickets.services.issuance.resolve_now", lambda **kwargs: calls.append(("resolve", kwargs))
    )

    issuer_client.post(url("issuance-line-retry", issuance, failed))
    issuer_client.post(url("issuance-resolve", issuance))

    (retry_name, retry), (resolve_name, resolve) = calls
    assert (retry_name, retry["line"], retry["user"]) == ("retry", failed, issuer)
    assert (resolve_name, resolve["issuance"], resolve["user"]) == ("resolve", issuance, issuer)
    assert retry["request"].path == url("issuance-line-retry", issuance, failed)
    assert resolve["request"].method == "POST"


@pytest.mark.parametrize("name", ["issuance-line-retry", "issuance-resolve"])
def test_retry_and_check_now_refuse_get(issuer_client, issuer, name):
    issuance = f.IssuanceFactory(created_by=issuer)
    failed = line(issuance, LineState.FAILED)
    lines = [failed] if name == "issuance-line-retry" else []

    response = issuer_client.get(url(name, issuance, *lines))

    assert response.status_code == 405
    failed.refresh_from_db()
    assert failed.state == LineState.FAILED


# --- On a phone: one card per holder ---------------------------------------------------------


def test_each_line_cell_names_its_column_for_the_phone_cards(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.PARTIAL)
    ticketed = confirmed(issuance, "CODE-PHONE")
    failed = line(issuance, LineState.FAILED)

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    # Below md the table is shown as cards (comps.css): each cell carries its column's name.
    assert 'class="table-responsive issuance-lines-wrap"' in html
    assert html.count('data-label="Holder"') == 2
    assert html.count('data-label="Ticket code"') == 2
    # A failed line has no code or QR: those cells are left out of its card.
    failed_row = html.split(f'id="line-{failed.pk}"')[1]
    assert 'class="line-qr line-empty"' in failed_row
    assert 'class="line-actions"' in failed_row
    ticketed_row = html.split(f'id="line-{ticketed.pk}"')[1].split("</tr>")[0]
    assert 'class="line-qr"' in ticketed_row
    assert 'class="line-actions line-empty"' in ticketed_row


def test_the_stylesheet_turns_the_lines_table_into_cards_below_md():
    css = Path(finders.find("css/comps.css")).read_text(encoding="utf-8")
    phone = css.split("@media (max-width: 767.98px) {", 1)[1].split("\n}\n", 1)[0]

    assert ".issuance-lines tr {" in phone
    assert "display: block" in phone
    assert ".issuance-lines td.line-empty { display: none; }" in phone
    assert "content: attr(data-label)" in phone


# --- What the progress panel says, for every status ------------------------------------------


def summary_of(client, issuance):
    html = client.get(url("issuance-progress", issuance)).content.decode()
    return html.split('data-testid="progress-summary"', 1)[1].split("</div>\n", 1)[0]


def test_in_progress_says_the_page_updates_and_can_be_left(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.IN_PROGRESS)
    line(issuance, LineState.PENDING)

    summary = summary_of(issuer_client, issuance)

    assert "Sending the tickets to Fourvenues. This page updates by itself." in summary
    assert "You can leave it: the sending goes on in the background" in summary
    assert f'href="{reverse("issuance-list")}?mine=1"' in summary
    assert "were issued" not in summary


@override_settings(FOURVENUES_RESOLVE_DELAY_SECONDS=15.0, FOURVENUES_RESOLVE_GRACE_SECONDS=120.0)
def test_checking_says_what_happens_how_long_it_takes_and_that_the_page_can_be_left(
    issuer_client, issuer
):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.CHECKING)
    line(issuance, LineState.UNKNOWN)
    line(issuance, LineState.UNKNOWN)
    confirmed(issuance, "C-1")

    summary = summary_of(issuer_client, issuance)

    assert "Checking with Fourvenues whether 2 tickets were created." in summary
    assert "sending again could issue a ticket twice" in summary
    assert "first about 15 seconds after sending" in summary
    assert "not found 2 minutes after sending was not created" in summary
    assert "You can leave this page: the checking goes on in the background" in summary
    assert "were issued" not in summary  # nothing says it is over while lines are checked


@override_settings(FOURVENUES_RESOLVE_DELAY_SECONDS=1.0, FOURVENUES_RESOLVE_GRACE_SECONDS=30.0)
def test_the_checking_delays_follow_the_settings(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.CHECKING)
    line(issuance, LineState.UNKNOWN)

    summary = summary_of(issuer_client, issuance)

    assert "whether one ticket was created" in summary
    assert "first about 1 second after sending" in summary
    assert "not found 30 seconds after sending" in summary


def test_completed_says_every_comp_was_issued(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.COMPLETED)
    confirmed(issuance, "C-1")
    confirmed(issuance, "C-2")

    summary = summary_of(issuer_client, issuance)

    assert "All 2 comps were issued." in summary
    assert "alert-success" in summary
    assert "Sending" not in summary
    assert "Checking" not in summary


def test_partial_says_how_many_were_issued_and_what_to_retry(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.PARTIAL)
    confirmed(issuance, "C-1")
    line(issuance, LineState.FAILED)

    summary = summary_of(issuer_client, issuance)

    assert "1 of 2 comps were issued. One was not: retry it below." in summary
    assert "alert-success" not in summary


def test_failed_says_nothing_was_issued(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.FAILED)
    line(issuance, LineState.FAILED)

    summary = summary_of(issuer_client, issuance)

    assert "No comp was issued. Retry the failed lines below." in summary
    assert "alert-danger" in summary


def test_a_refused_key_is_explained_once_not_as_a_plain_retry(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.FAILED)
    line(issuance, LineState.FAILED, failure_cause=FailureCause.CREDENTIAL)

    html = issuer_client.get(url("issuance-progress", issuance)).content.decode()

    assert 'data-testid="credential-refused"' in html
    assert "Retry the failed lines below." not in summary_of(issuer_client, issuance)
    assert "Retry once an admin has fixed the key." in html


def test_a_failed_line_says_what_to_do_by_its_cause(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.FAILED)
    line(issuance, LineState.FAILED, failure_cause=FailureCause.REFUSED, last_error="bad email")
    line(issuance, LineState.FAILED, failure_cause=FailureCause.GAVE_UP)

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    assert "Fourvenues refused this ticket: check the holder's details, then retry." in html
    assert "bad email" in html
    assert "Fourvenues stayed unavailable: nothing was created. Retry in a while." in html


# --- The printable card of one ticket --------------------------------------------------------


def test_the_qr_thumbnail_opens_the_tickets_card(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.COMPLETED)
    ticketed = confirmed(issuance, "CODE-CARD")

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    assert f'href="{url("issuance-line-card", issuance, ticketed)}"' in html


def test_the_card_shows_code_event_holder_and_a_large_qr(issuer_client, issuer):
    issuance = f.IssuanceFactory(
        created_by=issuer,
        price_option__rate__event__name="Card Night",
        price_option__rate__name="VIP",
    )
    ticketed = confirmed(issuance, "CARD-CODE-9", full_name="Ada Lovelace")

    response = issuer_client.get(url("issuance-line-card", issuance, ticketed))

    html = response.content.decode()
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert '<p class="ticket-card-code font-monospace text-break mt-3 mb-2">CARD-CODE-9</p>' in html
    assert "Card Night" in html
    assert "VIP" in html
    assert "Ada Lovelace" in html
    qr = f'<img class="ticket-card-qr" src="{url("issuance-line-qr", issuance, ticketed)}"'
    assert qr + ' width="320" height="320"' in html
    assert "data-print-page" in html  # the print button, wired by issuances.js
    assert "<script>" not in html
    assert 'style="' not in html


@pytest.mark.parametrize("state", [LineState.PENDING, LineState.FAILED, LineState.UNKNOWN])
def test_the_card_is_not_found_for_a_line_without_ticket(issuer_client, issuer, state):
    issuance = f.IssuanceFactory(created_by=issuer)

    response = issuer_client.get(url("issuance-line-card", issuance, line(issuance, state)))

    assert response.status_code == 404


def test_the_card_of_someone_elses_ticket_is_not_found(issuer_client, issuer):
    theirs = f.IssuanceFactory()
    their_line = confirmed(theirs, "THEIRS-CARD")

    response = issuer_client.get(url("issuance-line-card", theirs, their_line))

    assert response.status_code == 404
    assert b"THEIRS-CARD" not in response.content


# --- Needs action ----------------------------------------------------------------------------


def test_my_issuances_marks_those_with_lines_to_retry(issuer_client, issuer):
    needy = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.PARTIAL)
    confirmed(needy, "C-1")
    line(needy, LineState.FAILED)
    line(needy, LineState.FAILED)
    fine = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.COMPLETED)
    confirmed(fine, "C-2")

    html = issuer_client.get(reverse("issuance-list")).content.decode()

    assert html.count("needs-action-badge") == 1
    assert "Needs action: 2 lines to retry" in html
    assert '<span class="badge text-bg-danger" data-testid="needs-action-count">1</span>' in html


def test_the_needs_action_filter_keeps_only_issuances_with_failed_lines(issuer_client, issuer):
    needy = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.FAILED)
    line(needy, LineState.FAILED)
    rejected = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.REJECTED)
    line(rejected, LineState.REJECTED)  # final: nothing to do
    fine = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.COMPLETED)
    confirmed(fine, "C-1")

    response = issuer_client.get(reverse("issuance-list"), {"needs_action": "1"})

    assert list(response.context["page"].object_list) == [needy]
    assert response.context["needs_action"] is True
    html = response.content.decode()
    assert f'href="{reverse("issuance-list")}?needs_action=1" aria-current="page"' in html


def test_the_needs_action_filter_says_when_nothing_needs_you(issuer_client, issuer):
    confirmed(f.IssuanceFactory(created_by=issuer), "C-1")

    html = issuer_client.get(reverse("issuance-list"), {"needs_action": "1"}).content.decode()

    assert 'data-testid="nothing-needs-action"' in html
    assert "No issuances yet." not in html


def test_a_managers_filters_combine_and_the_page_links_keep_them(client):
    manager = f.manager()
    client.force_login(manager)
    for _ in range(26):
        line(f.IssuanceFactory(created_by=manager), LineState.FAILED)
    line(f.IssuanceFactory(), LineState.FAILED)  # someone else's

    response = client.get(reverse("issuance-list"), {"mine": "1", "needs_action": "1"})

    html = response.content.decode()
    assert response.context["page"].paginator.count == 26
    assert "?mine=1&amp;needs_action=1&amp;page=2" in html
    # Each filter's other choice keeps the other filter.
    assert f'href="{reverse("issuance-list")}?needs_action=1"' in html  # everyone's, needing action
    assert f'href="{reverse("issuance-list")}?mine=1"' in html  # all of mine


# --- In Spanish ------------------------------------------------------------------------------


def test_the_detail_page_renders_in_spanish(issuer_client, issuer):
    issuance = f.IssuanceFactory(
        created_by=issuer,
        status=IssuanceStatus.PARTIAL,
        channel=f.ChannelFactory(name="Prensa"),
    )
    confirmed(issuance, "CODE-ES", full_name="José Núñez")
    line(
        issuance,
        LineState.FAILED,
        failure_cause=FailureCause.NOT_CREATED,
        last_error=resolver.NOT_CREATED,
    )

    response = issuer_client.get(url("issuance-detail", issuance), HTTP_ACCEPT_LANGUAGE="es")

    html = response.content.decode()
    assert '<html lang="es">' in html
    for spanish in (
        "Tarifa",
        "Opción de precio",
        "Canal: Prensa",
        "Emitida por",
        "Titular",
        "Código de la entrada",
        "Se emitieron 1 de 2 invitaciones. Una no: reinténtala abajo.",
        ">Reintentar</button>",
        "Descargar códigos (CSV)",
        # The resolver's stored English reason, shown translated.
        "Fourvenues no tiene esta entrada: la llamada no la creó. Se puede enviar de nuevo.",
    ):
        assert spanish in html, spanish
    for english in (">Retry<", ">Holder<", "Price option", "Download codes", "did not create it"):
        assert english not in html, english


@override_settings(FOURVENUES_RESOLVE_DELAY_SECONDS=15.0, FOURVENUES_RESOLVE_GRACE_SECONDS=120.0)
def test_checking_is_explained_in_spanish(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.CHECKING)
    line(issuance, LineState.UNKNOWN)

    html = issuer_client.get(
        url("issuance-progress", issuance), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "Comprobando con Fourvenues si se creó una entrada." in html
    assert "unos 15 segundos después del envío" in html
    assert "2 minutos después del envío" in html
    assert "Puedes salir de esta página" in html
    assert "Comprobar con Fourvenues ahora" in html


def test_the_list_renders_in_spanish_with_spanish_dates(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.FAILED)
    line(issuance, LineState.FAILED)
    issuance.created_at = dt.datetime(2026, 3, 7, 22, 30, tzinfo=dt.UTC)
    issuance.save(update_fields=["created_at"])

    html = issuer_client.get(reverse("issuance-list"), HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert "Requiere acción: una línea que reintentar" in html
    assert ">Titulares<" in html
    assert "07/03/2026 23:30" in html  # the venue's zone, day first


def test_the_print_sheet_and_card_render_in_spanish(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer)
    issuance.event.night = dt.date(2026, 3, 7)  # a Saturday
    issuance.event.save(update_fields=["night"])
    ticketed = confirmed(issuance, "CODE-PRINT")
    confirmed(issuance, "CODE-PRINT-2")

    sheet = issuer_client.get(url("issuance-print", issuance), HTTP_ACCEPT_LANGUAGE="es")
    card = issuer_client.get(
        url("issuance-line-card", issuance, ticketed), HTTP_ACCEPT_LANGUAGE="es"
    )

    for html in (sheet.content.decode(), card.content.decode()):
        assert '<html lang="es">' in html
        assert "Volver a la emisión" in html
        assert ">Imprimir</button>" in html
        assert "sábado 7 Mar 2026" in html
        assert "Código QR de CODE-PRINT" in html
    assert "2 entradas" in sheet.content.decode()


def test_the_print_sheet_in_english_names_the_weekday(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer)
    issuance.event.night = dt.date(2026, 3, 7)
    issuance.event.save(update_fields=["night"])
    confirmed(issuance, "CODE-PRINT")

    html = issuer_client.get(url("issuance-print", issuance)).content.decode()

    assert '<html lang="en">' in html
    assert "Saturday 7 Mar 2026" in html
    assert "1 ticket<" in html


def test_flash_messages_are_translated(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.FAILED)
    failed = line(issuance, LineState.FAILED, full_name="Ada")

    response = issuer_client.post(
        url("issuance-line-retry", issuance, failed), follow=True, HTTP_ACCEPT_LANGUAGE="es"
    )

    assert "Enviando de nuevo la entrada de Ada." in response.content.decode()


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (1, "1 second"),
        (15, "15 seconds"),
        (89, "89 seconds"),
        (90, "2 minutes"),
        (120, "2 minutes"),
        (60 * 30, "30 minutes"),
    ],
)
def test_delays_are_said_in_seconds_then_minutes(seconds, said):
    with translation.override("en"):
        assert issuance_views.duration(seconds) == said
    with translation.override("es"):
        assert issuance_views.duration(seconds) == said.replace("minute", "minuto").replace(
            "second", "segundo"
        )


def test_a_recorded_error_is_escaped_when_shown(issuer_client, issuer):
    issuance = f.IssuanceFactory(created_by=issuer, status=IssuanceStatus.FAILED)
    line(issuance, LineState.FAILED, last_error='Refused: <img src=x onerror="alert(1)">')

    html = issuer_client.get(url("issuance-detail", issuance)).content.decode()

    assert "<img src=x" not in html
    assert "Refused: &lt;img src=x" in html
