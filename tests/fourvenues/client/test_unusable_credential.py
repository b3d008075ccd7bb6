"""A credential that cannot go in a request (issue 13, §4.2): the client raises
`CredentialUnusable` before throttling or sending anything, never a crash and never "may have
been created"."""

import pytest

from tests.fourvenues.client_support import API_KEY, comp_request, url
from tickets.fourvenues import CredentialUnusable, OutcomeUnknown, UnusableAuth


class _SlippedAuth:
    """An auth whose headers went wrong after it was built (the client's own check)."""

    fingerprint = "f" * 64
    secrets = (API_KEY,)

    def __init__(self, headers=None, error=None):
        self._headers, self._error = headers, error

    def headers(self):
        if self._error is not None:
            raise self._error
        return self._headers


class _CountingLimiter:
    def __init__(self):
        self.acquired = 0

    def acquire(self):
        self.acquired += 1


UNUSABLE = {
    "stored before values were checked": UnusableAuth(
        problem="The API key contains a line break", secrets=(API_KEY + "\n2",)
    ),
    "a header value with a typographic dash": _SlippedAuth({"X-Api-Key": API_KEY + "\u2013"}),
    "a header value with a line break": _SlippedAuth({"X-Api-Key": API_KEY + "\r\nX-Evil: 1"}),
    "headers that cannot be built": _SlippedAuth(
        error=UnicodeEncodeError("latin-1", API_KEY, 0, 1, "x")
    ),
}


@pytest.fixture(params=UNUSABLE.values(), ids=UNUSABLE.keys())
def unusable_client(request, make_client):
    limiter = _CountingLimiter()
    return make_client(auth=request.param, rate_limiter=limiter), limiter


def test_a_create_with_an_unusable_credential_is_never_sent_and_never_unknown(
    rsps, records, unusable_client
):
    client, limiter = unusable_client
    rsps.post(url("/tickets/"), json={"success": True, "data": []})
    with pytest.raises(CredentialUnusable) as caught:
        client.create_tickets(comp_request())
    assert not isinstance(caught.value, OutcomeUnknown)
    assert not caught.value.may_have_been_created
    assert "nothing was sent" in caught.value.message
    assert API_KEY not in caught.value.message
    assert len(rsps.calls) == 0
    assert records == []
    assert limiter.acquired == 0


def test_a_read_with_an_unusable_credential_raises_at_once_without_retrying(
    rsps, records, fake_time, unusable_client
):
    client, limiter = unusable_client
    rsps.get(url("/channels/"), json={"success": True, "data": []})
    with pytest.raises(CredentialUnusable) as caught:
        client.check_connection()
    assert API_KEY not in caught.value.message
    assert len(rsps.calls) == 0
    assert records == []
    assert fake_time.sleeps == []
    assert limiter.acquired == 0
