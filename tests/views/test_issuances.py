"""The issuer's pages: the list, the live progress page, the codes (QR, CSV, print) and the two
actions a line may need (retry, check with Fourvenues now)."""

import csv
import io
import itertools

import pytest
import segno
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests import factories as f
from tickets.models import IssuanceStatus, IssuedTicket, LineState

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
        ["José Núñez", "jose@example.com", "CODE-1", "Sábado Noche", night, "VIP", "activated"],
        ["Bea", "bea@example.com", "CODE-2", "Sábado Noche", night, "VIP", "activated"],
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
