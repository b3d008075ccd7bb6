"""The auth objects (auth.py): validated header values, masked reprs, the fingerprint.

What the client sends with them on the wire is tested in test_client.py.
"""

from __future__ import annotations

import hashlib

import pytest

from tests.fourvenues.client_support import API_KEY, INTEGRATION_ID, SECRET
from tickets.fourvenues import ApiKeyAuth, LegacyAuth, fingerprint


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
