"""The audit log page: admins filter and read it."""

import pytest
from django.urls import reverse

from tests import factories
from tickets.models import AuditEntry
from tickets.services import audit


@pytest.mark.django_db
def test_admins_filter_the_log_by_action_prefix_and_person(client):
    ada = factories.admin(username="ada")
    production = factories.CredentialFactory(name="Production key")
    alpha = factories.CredentialFactory(name="Alpha key")
    audit.record(action="credential.verified", actor=ada, target=production)
    audit.record(action="credential.changed", actor=ada, target=alpha)
    audit.record(action="tickets.exported", actor=ada)
    # A code that starts like the prefix without being under it (written before the registry).
    AuditEntry.objects.create(action="credentials.other", target_label="not a credential.* one")
    client.force_login(ada)

    page = client.get(reverse("audit-log"), {"action": "credential"}).content.decode()
    assert "credential.verified" in page
    assert "credential.changed" in page
    assert "tickets.exported" not in page
    assert "credentials.other" not in page

    page = client.get(reverse("audit-log"), {"target": "alpha key"}).content.decode()
    assert "credential.changed" in page
    assert "credential.verified" not in page

    page = client.get(reverse("audit-log"), {"target": f"credential:{production.pk}"})
    assert "credential.verified" in page.content.decode()
    assert "credential.changed" not in page.content.decode()


@pytest.mark.django_db
def test_a_bad_filter_is_explained_and_changes_nothing(client):
    client.force_login(factories.admin())
    response = client.get(reverse("audit-log"), {"since": "not-a-date"})
    assert response.status_code == 200
    assert "Enter a valid date" in response.content.decode()
