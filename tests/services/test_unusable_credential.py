"""A credential that cannot travel in an HTTP header (issue 13, §4.2): refused on save; one
stored before that check makes every use fail with a message, never a crash and never a line
left "Checking with Fourvenues", and its lines can be retried once an admin fixes it.

Against the sandbox over HTTP, so what would have reached Fourvenues is what it counted.
"""

import pytest
from django.utils import timezone

from tests.fixtures.worker import drain_tasks
from tickets.fourvenues import CredentialUnusable
from tickets.models import ApiCall, AuditEntry, Credential, FailureCause, LineState
from tickets.services.catalogue import CatalogueRefreshError, refresh_catalogue
from tickets.services.credentials import (
    CredentialError,
    register_credential,
    update_credential,
    verify_credential,
)
from tickets.services.issuance import retry_line
from tickets.services.resolver import resolve_issuance

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

# Stored as they would have been before the check: copied from a document, pasted from a chat.
STORED = {
    "a typographic dash": ("\u2013", "typographic dash"),
    "a line break": ("\n", "line break"),
    "a no-break space": ("\u00a0", "special space"),
}


@pytest.fixture(params=STORED.values(), ids=STORED.keys())
def broken(request, issuing):
    """The issuing credential with one bad character in the middle of its key."""
    char, words = request.param
    key = issuing.sandbox.app.api_key
    bad = key[:6] + char + key[6:]
    Credential.objects.filter(pk=issuing.credential.pk).update(api_key=bad)
    issuing.credential.refresh_from_db()
    return issuing, bad, words


def _creates(sandbox) -> int:
    return sum(1 for method, _ in sandbox.request_log if method == "POST")


def test_its_lines_fail_at_once_with_a_message_and_nothing_is_sent(broken):
    issuing, bad, words = broken
    issuance = issuing.submit(3)
    drain_tasks()
    lines = list(issuance.lines.order_by("position"))
    assert {line.state for line in lines} == {LineState.FAILED}
    assert {line.failure_cause for line in lines} == {FailureCause.CREDENTIAL}
    for line in lines:
        assert words in line.last_error
        assert "nothing was sent" in line.last_error
        assert bad not in line.last_error
        assert bad[7:] not in line.last_error
    assert issuing.sandbox.request_log == []
    assert not ApiCall.objects.exists()  # no call was made, so none is recorded

    # Once an admin types it again, the failed lines go out and are issued.
    update_credential(
        credential=issuing.credential,
        actor=None,
        new_secrets={"api_key": issuing.sandbox.app.api_key},
    )
    for line in lines:
        retry_line(line=line, user=issuing.issuer)
    drain_tasks()
    assert set(issuance.lines.values_list("state", flat=True)) == {LineState.CONFIRMED}
    assert len(issuing.sandbox.tickets()) == 3
    assert _creates(issuing.sandbox) == 3  # each line sent once, now


def test_the_resolver_postpones_instead_of_crashing(broken):
    issuing, bad, words = broken
    issuance = issuing.submit(1)
    now = timezone.now()
    issuance.lines.update(state=LineState.UNKNOWN, sent_at=now, next_resolve_at=now)
    resolve_issuance(issuance_id=issuance.pk)
    line = issuance.lines.get()
    assert line.state == LineState.UNKNOWN  # it may exist: only a lookup can settle it
    assert line.resolve_attempts == 1
    assert line.next_resolve_at > now
    entry = AuditEntry.objects.get(action="resolver.postponed")
    assert words in entry.data["reason"]
    assert bad not in str(entry.data)
    assert issuing.sandbox.request_log == []


def test_test_connection_and_the_catalogue_refresh_say_why_without_calling(broken):
    issuing, bad, words = broken
    with pytest.raises(CredentialUnusable, match=words) as caught:
        verify_credential(credential=issuing.credential, actor=None)
    assert bad not in caught.value.message
    with pytest.raises(CatalogueRefreshError, match=words) as refused:
        refresh_catalogue(credential=issuing.credential)
    assert bad not in str(refused.value)
    assert issuing.sandbox.request_log == []
    assert bad not in str(list(AuditEntry.objects.values("data")))


# --- Refused on save ---------------------------------------------------------------------------


@pytest.mark.parametrize(("char", "words"), STORED.values(), ids=STORED.keys())
def test_registering_or_changing_to_an_unsendable_secret_is_refused_on_its_field(char, words):
    bad = f"ik_live_abc{char}def0123456789"
    with pytest.raises(CredentialError, match=f"API key contains a {words}") as caught:
        register_credential(name="Key", environment="alpha", api_key=bad, actor=None)
    assert caught.value.field == "api_key"
    assert "def0123456789" not in str(caught.value)
    assert not Credential.objects.exists()

    credential = register_credential(
        name="Key", environment="alpha", api_key="ik_live_good_value", actor=None
    )
    with pytest.raises(CredentialError, match=f"secret contains a {words}") as caught:
        update_credential(
            credential=credential,
            actor=None,
            auth_scheme="legacy",
            new_secrets={"integration_id": "integration-1", "secret": bad},
        )
    assert caught.value.field == "secret"
    credential.refresh_from_db()
    assert credential.auth_scheme == "api_key"
    assert credential.api_key == "ik_live_good_value"
