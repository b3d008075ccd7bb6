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


@pytest.mark.django_db
def test_a_change_shows_as_labelled_old_and_new_values_with_the_data_behind_details(
    admin_client, credential
):
    from tickets.services.credentials import update_credential

    old = credential.notes
    update_credential(credential=credential, actor=None, notes="Rotates in June")
    audit.record(action="user.role_changed", data={"from": "Issuer", "to": "Manager"})
    page = admin_client.get(reverse("audit-log")).content.decode()
    assert (
        f'<span class="fw-semibold">Notes</span>: <del class="text-body-secondary">{old}</del>'
        in (page)
    )
    assert "<ins>Rotates in June</ins>" in page
    assert "<ins>Manager</ins>" in page
    assert "<summary>Technical details</summary>" in page
    # The raw dictionary only inside the disclosure.
    details = page.split("<summary>Technical details</summary>", 1)[1]
    assert "&#x27;changed&#x27;" in details


@pytest.mark.django_db
def test_the_log_reads_in_spanish(admin_client):
    audit.record(action="user.role_changed", data={"from": "Issuer", "to": "Manager"})
    page = admin_client.get(reverse("audit-log"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Registro de auditoría" in page or "registro de auditoría" in page
    assert "<summary>Detalles técnicos</summary>" in page
    assert '<span class="fw-semibold">Rol</span>' in page
    assert "Filtrar" in page


@pytest.mark.django_db
def test_the_filter_bar_is_styled_like_the_others(admin_client):
    page = admin_client.get(reverse("audit-log")).content.decode()
    assert '<form method="get" class="filter-bar card card-body mb-3" role="search"' in page
    assert page.count('<div class="col-sm-6 col-lg-3">') == 5
    assert 'class="btn btn-outline-secondary" href="/audit/"' in page or "Clear" in page
