"""Fixtures of the view tests."""

import pytest

from tests import factories as f
from tickets.models import Reason


@pytest.fixture
def catalogue():
    """What the issuing form offers: one event with a rate and an 18+ option, a channel, and the
    "Press" reason (the views' tests; tests/fixtures/issuing.py mirrors the sandbox's instead)."""
    credential = f.CredentialFactory()
    option = f.PriceOptionFactory(min_age=18)
    return {
        "credential": credential,
        "event": option.rate.event,
        "rate": option.rate,
        "option": option,
        "channel": f.ChannelFactory(),
        "reason": Reason.objects.get(label="Press"),
    }
