"""Fixtures of the client's unit tests: a fake clock, the call records, `responses` standing in
for Fourvenues (the boundary right below the client), and a client built over them."""

import pytest
import responses

from tests.fourvenues.client_support import FakeTime, client_factory
from tickets.fourvenues import CallRecord, FourvenuesClient


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def make_client(fake_time, records):
    return client_factory(fake_time, records)


@pytest.fixture
def client(make_client) -> FourvenuesClient:
    return make_client()
