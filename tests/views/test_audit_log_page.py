"""The audit log page: admins filter and read it."""

import pytest
from django.urls import reverse

from tests import factories
from tickets.services import audit


@pytest.mark.django_db
def test_admins_filter_the_log_by_action_prefix_and_person(client):
    ada = factories.admin(username="ada")
    audit.record(action="credential.verified", actor=ada, target="Production key")
    audit.record(action="credential.changed", actor=ada, target="Alpha key")
    audit.record(action="tickets.exported", actor=ada, target="search")
    audit.record(action="credentials.other", target="not a credential.* action")
    client.force_login(ada)

    page = client.get(reverse("audit-log"), {"action": "credential"}).content.decode()
    assert "credential.verified" in page
    assert "credential.changed" in page
    assert "tickets.exported" not in page
    assert "credentials.other" not in page

    page = client.get(reverse("audit-log"), {"target": "alpha"}).content.decode()
    assert "credential.changed" in page
    assert "credential.verified" not in page


@pytest.mark.django_db
def test_a_bad_filter_is_explained_and_changes_nothing(client):
    client.force_login(factories.admin())
    response = client.get(reverse("audit-log"), {"since": "not-a-date"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()
