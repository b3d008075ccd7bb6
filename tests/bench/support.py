"""What every benchmark needs around it: a throwaway test database of whatever DATABASE_URL
names (SQLite by default), with the test suite's fast password hasher and plain static files.

Import it after `django.setup()`.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.test.utils import setup_databases, setup_test_environment, teardown_databases


@contextmanager
def throwaway_database() -> Iterator[None]:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    setup_test_environment()  # also lets django.test.Client's "testserver" in
    old_config = setup_databases(verbosity=0, interactive=False)
    try:
        yield
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
