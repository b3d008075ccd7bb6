"""Shared test configuration.

Fixtures that start real parts (the Fourvenues sandbox, the worker, the browser) live in
`tests/fixtures/` and are registered here as plugins.
"""

import pytest
from django.conf import settings

pytest_plugins = ["tests.fixtures.sandbox"]


@pytest.fixture(autouse=True)
def _plain_static_storage() -> None:
    # WhiteNoise's manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
