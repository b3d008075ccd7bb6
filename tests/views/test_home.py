"""The home page: what each role opens the product for."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from tests import factories
from tickets.models import LineState, UserPreferences


def _page(client) -> str:
    return client.get(reverse("home")).content.decode()


def test_an_issuer_sees_a_start_button_and_their_recent_issuances(
    issuer_client, issuer, credential
):
    mine = factories.IssuanceFactory(created_by=issuer)
    factories.IssuanceLineFactory(issuance=mine, state=LineState.CONFIRMED)
    someone_elses = factories.IssuanceFactory()
    page = _page(issuer_client)
    assert 'data-testid="start-issuing"' in page
    assert reverse("issuance-detail", args=[mine.pk]) in page
    assert reverse("issuance-detail", args=[someone_elses.pk]) not in page
    assert "1 of 1 issued" in page
    # The manager's and admin's parts are not theirs.
    assert 'data-testid="home-nights"' not in page
    assert 'data-testid="home-credentials"' not in page


def test_an_issuer_who_left_sees_what_needs_them(issuer_client, issuer, credential):
    issuance = factories.IssuanceFactory(created_by=issuer)
    factories.IssuanceLineFactory(issuance=issuance, state=LineState.FAILED)
    factories.IssuanceLineFactory(issuance=issuance, state=LineState.FAILED)
    page = _page(issuer_client)
    assert 'data-testid="home-needs-action"' in page
    assert "2 lines to retry" in page


def test_nothing_needing_action_shows_no_alarm(issuer_client, issuer, credential):
    factories.IssuanceLineFactory(
        issuance=factories.IssuanceFactory(created_by=issuer), state=LineState.CONFIRMED
    )
    assert 'data-testid="home-needs-action"' not in _page(issuer_client)


def test_without_a_credential_the_home_page_says_so_and_offers_no_start(issuer_client):
    page = _page(issuer_client)
    assert 'data-testid="no-credential"' in page
    assert 'data-testid="start-issuing"' not in page


def test_a_manager_sees_the_coming_nights_with_comps_and_check_ins(manager_client, credential):
    tonight = factories.EventFactory(
        environment=credential.environment, night=timezone.localdate(), name="Noche Blanca"
    )
    later = factories.EventFactory(
        environment=credential.environment,
        night=timezone.localdate() + dt.timedelta(days=3),
        name="Sala Dos",
    )
    factories.EventFactory(
        environment=credential.environment,
        night=timezone.localdate() + dt.timedelta(days=30),
        name="Too Far",
    )
    option = factories.PriceOptionFactory(rate=factories.RateFactory(event=tonight))
    issuance = factories.IssuanceFactory(price_option=option, credential=credential)
    for entered in (1, 0, 0):
        factories.IssuedTicketFactory(
            line=factories.IssuanceLineFactory(issuance=issuance, state=LineState.CONFIRMED),
            environment=credential.environment,
            entered=entered,
        )
    page = manager_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'data-testid="home-nights"' in page
    assert "Noche Blanca" in page
    assert "Sala Dos" in page
    assert "Too Far" not in page
    assert "Tonight" in page
    row = page.split("Noche Blanca")[1].split("</tr>")[0]
    assert '<td class="text-end">3</td>' in row
    assert '<td class="text-end">1</td>' in row
    assert later.name in page


def test_a_manager_sees_open_differences_and_who_issued_most(manager_client, credential):
    from tests.test_url_matrix import _a_discrepancy

    busy = factories.issuer(first_name="Bea", last_name="Busy")
    issuance = factories.IssuanceFactory(created_by=busy, credential=credential)
    ticket = factories.IssuedTicketFactory(
        line=factories.IssuanceLineFactory(issuance=issuance, state=LineState.CONFIRMED),
        environment=credential.environment,
    )
    _a_discrepancy(ticket)
    page = _page(manager_client)
    assert "One open difference to look at" in page
    assert reverse("discrepancy-queue") in page
    assert "Bea Busy" in page


def test_an_admin_sees_the_connections_health(admin_client, credential):
    page = _page(admin_client)
    assert 'data-testid="home-credentials"' in page
    assert credential.name in page
    assert 'data-testid="home-failed-logins"' in page
    assert 'data-testid="home-last-reconciliation"' in page


def test_the_home_page_speaks_the_persons_language(issuer_client, issuer, credential):
    UserPreferences.objects.create(user=issuer, language="es")
    issuer_client.force_login(issuer)
    page = _page(issuer_client)
    assert "Emitir invitaciones" in page
    assert "Tus emisiones recientes" in page


def test_a_manager_can_refresh_the_catalogue_from_the_home_page(manager_client, credential):
    page = _page(manager_client)
    assert 'data-testid="home-catalogue"' in page
    assert reverse("catalogue-refresh") in page


def test_an_issuer_has_no_catalogue_button(issuer_client, credential):
    assert reverse("catalogue-refresh") not in _page(issuer_client)
