import pytest
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from tests import factories
from tests.catalogue_support import start_sandbox
from tests.fixtures.worker import drain_tasks
from tickets.models import AuditEntry, Event

REFRESH_URL = reverse("catalogue-refresh")
STATUS_URL = reverse("catalogue-status")


@pytest.fixture
def server(sandbox_factory, settings):
    # A short window keeps each refresh to a handful of calls.
    settings.FOURVENUES_CATALOGUE_DAYS = 7
    return start_sandbox(sandbox_factory, settings)


@pytest.mark.django_db
def test_an_issuer_may_not_refresh_the_catalogue(client, sandbox_credential):
    client.force_login(factories.issuer())
    response = client.post(REFRESH_URL)
    assert response.status_code == 403
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_refreshing_is_post_only(client, sandbox_credential):
    client.force_login(factories.manager())
    assert client.get(REFRESH_URL).status_code == 405
    assert not Event.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_manager_refreshes_in_the_background_and_the_home_page_follows_it(
    client, server, sandbox_credential
):
    user = factories.manager()
    client.force_login(user)

    response = client.post(REFRESH_URL, {"next": "/?from=button"}, follow=True)

    assert response.redirect_chain == [("/?from=button", 302)]
    assert "Refreshing the catalogue from Fourvenues in the background" in response.content.decode()
    assert not Event.objects.exists()  # nothing done in the request: the worker does it
    status = client.get(STATUS_URL).content.decode()
    assert "Refreshing…" in status
    assert 'hx-trigger="every 2s"' in status

    drain_tasks()

    events = Event.objects.count()
    assert events > 0
    status = client.get(STATUS_URL).content.decode()
    assert "hx-trigger" not in status  # the poll stops
    assert f"Catalogue refreshed: {events} events" in status
    assert "last refreshed from Fourvenues" in status
    assert AuditEntry.objects.get(action="catalogue.refreshed").actor == user


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_clicking_twice_queues_one_refresh(client, server, sandbox_credential):
    client.force_login(factories.manager())
    client.post(REFRESH_URL)
    second = client.post(REFRESH_URL, follow=True)
    assert "A catalogue refresh is already under way." in second.content.decode()
    assert (
        DBTaskResult.objects.filter(task_path__endswith="refresh_catalogue_requested").count() == 1
    )
    drain_tasks()
    assert AuditEntry.objects.filter(action="catalogue.refreshed").count() == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_status_says_it_in_spanish(client, server, sandbox_credential):
    client.force_login(factories.manager())
    client.post(REFRESH_URL)
    assert "Actualizando…" in client.get(STATUS_URL, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    drain_tasks()
    status = client.get(STATUS_URL, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Catálogo actualizado" in status


@pytest.mark.django_db
@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        # Not paths: redirect() would take them for view names (a 500), or follow them relatively.
        "home",
        "abc",
        "-1",
    ],
)
def test_a_next_url_that_is_not_a_path_on_this_site_is_ignored(
    client, sandbox_credential, next_url
):
    client.force_login(factories.manager())
    response = client.post(REFRESH_URL, {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_failed_refresh_is_explained_and_keeps_the_catalogue(client, server, sandbox_credential):
    client.force_login(factories.manager())
    client.post(REFRESH_URL)
    drain_tasks()
    events = Event.objects.count()
    sandbox_credential.api_key = "ik_test_revoked_key_value"
    sandbox_credential.save()

    client.post(REFRESH_URL)
    drain_tasks()

    page = client.get(STATUS_URL).content.decode()
    assert "The last refresh failed, so the previous catalogue is kept" in page
    assert "rejected the API credentials" in page
    assert "ik_test_revoked_key_value" not in page
    assert Event.objects.count() == events


@pytest.mark.django_db
def test_without_a_credential_there_is_nothing_to_refresh(client):
    client.force_login(factories.manager())
    response = client.post(REFRESH_URL, follow=True)
    assert "No Fourvenues credential is active" in response.content.decode()


@pytest.mark.django_db
def test_the_status_line_shows_the_button_only_to_those_allowed(client, sandbox_credential):
    client.force_login(factories.manager())
    page = client.get(STATUS_URL).content.decode()
    assert REFRESH_URL in page
    assert "has not been refreshed from Fourvenues yet" in page

    client.force_login(factories.issuer())
    page = client.get(STATUS_URL).content.decode()
    assert REFRESH_URL not in page
    assert "has not been refreshed from Fourvenues yet" in page
