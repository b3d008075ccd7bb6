"""The auth objects (auth.py): validated header values, masked reprs, the fingerprint.

What the client sends with them on the wire is tested in test_client.py.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.fourvenues.client_support import API_KEY, INTEGRATION_ID, SECRET
from tickets.fourvenues import (
    ApiKeyAuth,
    CredentialUnusable,
    LegacyAuth,
    UnusableAuth,
    fingerprint,
    header_value_problem,
)


def test_auth_reprs_mask_secrets():
    assert API_KEY not in repr(ApiKeyAuth(API_KEY))
    assert API_KEY not in str(ApiKeyAuth(API_KEY))
    legacy = LegacyAuth(INTEGRATION_ID, SECRET)
    assert SECRET not in repr(legacy)
    assert INTEGRATION_ID not in repr(legacy)


@pytest.mark.parametrize("bad", ["", "   ", "key\r\nX-Evil: 1", " padded"])
def test_auth_rejects_unusable_header_values_without_quoting_them(bad):
    with pytest.raises(ValueError, match="API key") as caught:
        ApiKeyAuth(bad)
    if bad.strip():
        assert bad.strip() not in str(caught.value)


def test_fingerprint_is_the_sha256_of_the_key():
    assert fingerprint("ik_live_abc") == hashlib.sha256(b"ik_live_abc").hexdigest()


# --- Values that cannot travel in a header (issue 13, §4.2) ------------------------------------

UNSENDABLE = {
    "a typographic dash": "ik_live_abc\u2013def0123",
    "a line break inside": "ik_live_abc\ndef0123",
    "a carriage return": "ik_live_abc\rdef0123",
    "a tab": "ik_live_abc\tdef0123",
    "a NUL": "ik_live_abc\x00def0123",
    "a no-break space (latin-1, so http.client would send it)": "ik_live_abc\u00a0def0123",
    "a soft hyphen (latin-1 too)": "ik_live_abc\u00addef0123",
    "a zero-width space": "ik_live_abc\u200bdef0123",
    "a typographic quote": "ik_live_abc\u2019def0123",
    "an accented letter": "ik_live_ab\u00e9def0123",
    "a letter beyond latin-1": "ik_live_ab\u0416def0123",
    "an emoji": "ik_live_ab\U0001f600def0123",
    "a lone surrogate": "ik_live_ab\ud800def0123",
    "a leading space": " ik_live_abcdef0123",
    "nothing at all": "",
}


@pytest.mark.parametrize("value", UNSENDABLE.values(), ids=UNSENDABLE.keys())
def test_a_value_that_cannot_travel_in_a_header_is_named_without_being_quoted(value):
    problem = header_value_problem(value)
    assert problem
    assert "ik_live" not in problem
    assert "def0123" not in problem
    with pytest.raises(ValueError, match="API key") as caught:
        ApiKeyAuth(value)
    assert "def0123" not in str(caught.value)
    with pytest.raises(ValueError, match="secret"):
        LegacyAuth(INTEGRATION_ID, value)


def test_the_problem_says_which_character_to_retype():
    assert "typographic dash" in header_value_problem("ik\u2014x")
    assert "line break" in header_value_problem("ik\nx")
    assert "U+0416" in header_value_problem("ik\u0416x")


@pytest.mark.parametrize("value", [API_KEY, SECRET, "ik-live_A.b~c+d/e=f", "two words"])
def test_plain_ascii_values_can_travel(value):
    assert header_value_problem(value) == ""
    assert ApiKeyAuth(value).headers() == {"X-Api-Key": value}


def test_an_unusable_credential_refuses_to_make_headers_and_hides_its_values():
    auth = UnusableAuth(problem="The API key contains a line break", secrets=("ik\nsecret",))
    with pytest.raises(CredentialUnusable, match="line break") as caught:
        auth.headers()
    assert "ik\nsecret" not in caught.value.message
    assert not caught.value.may_have_been_created
    assert "ik\nsecret" not in repr(auth)
