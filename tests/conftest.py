"""Shared test configuration.

Fixtures that start real parts (the Fourvenues sandbox, the worker, the browser) live in
`tests/fixtures/` and are registered here as plugins.
"""

import pytest
from django.conf import settings
from django.core.cache import cache

pytest_plugins = ["tests.fixtures.sandbox", "tests.fixtures.worker", "tests.fixtures.issuing"]


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise's manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Hashing a password a million times per test user is what real logins need, not tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with nothing cached (the search filters' lists are kept a minute)."""
    cache.clear()
