"""Issuers are told clearly when the key they would use cannot work: before they fill the form
when it is known to have expired, and on the issuance page when Fourvenues refused it."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from tests import factories
from tests.fixtures.worker import drain_tasks
from tickets.models import FailureCause, LineState
from tickets.services.credentials import update_credential


@pytest.mark.django_db
def test_an_expired_key_is_announced_before_the_form(client, issuing):
    issuing.credential.expires_on = timezone.localdate() - dt.timedelta(days=1)
    issuing.credential.save()
    client.force_login(issuing.issuer)
    response = client.get(reverse("issue-new"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "The Fourvenues API key in use expired on" in page
    assert 'name="idempotency_key"' not in page  # no form to fill in for nothing


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_key_refused_by_fourvenues_is_explained_on_the_issuance_page(client, issuing):
    update_credential(
        credential=issuing.credential, actor=None, new_secrets={"api_key": "ik_test_revoked_key"}
    )
    issuance = issuing.submit(holders=2)
    drain_tasks()
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.FAILED}
    client.force_login(issuing.issuer)
    page = client.get(reverse("issuance-detail", args=[issuance.pk])).content.decode()
    assert 'data-testid="credential-refused"' in page
    assert "Fourvenues refused the API key" in page
    assert "ik_test_revoked_key" not in page


@pytest.mark.django_db
def test_an_ordinary_refusal_does_not_blame_the_key(client):
    line = factories.IssuanceLineFactory(
        state=LineState.FAILED,
        last_error="Fourvenues refused the ticket (HTTP 400): bad email",
        failure_cause=FailureCause.REFUSED,
    )
    client.force_login(line.issuance.created_by)
    page = client.get(reverse("issuance-detail", args=[line.issuance.pk])).content.decode()
    assert "bad email" in page
    assert 'data-testid="credential-refused"' not in page


@pytest.mark.django_db
def test_the_key_is_blamed_for_why_a_line_failed_not_for_what_its_error_says(client):
    """A refusal whose text happens to quote a 401 (from the holder's data, say) is the holder's."""
    line = factories.IssuanceLineFactory(
        state=LineState.FAILED,
        last_error="Fourvenues refused the ticket (HTTP 400): name '(HTTP 401)' not allowed",
        failure_cause=FailureCause.REFUSED,
    )
    client.force_login(line.issuance.created_by)
    page = client.get(reverse("issuance-detail", args=[line.issuance.pk])).content.decode()
    assert 'data-testid="credential-refused"' not in page
