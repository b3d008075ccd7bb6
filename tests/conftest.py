"""Shared test configuration.

Fixtures that start real parts (the Fourvenues sandbox, the worker, the browser) live in
`tests/fixtures/` and are registered here as plugins.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client
from django.utils import translation

from tests import factories
from tests.catalogue_support import register
from tickets.fourvenues.sandbox import SandboxServer
from tickets.models import Credential, Environment
from tickets.services.credentials import register_credential

pytest_plugins = [
    "tests.fixtures.sandbox",
    "tests.fixtures.worker",
    "tests.fixtures.issuing",
    "tests.fixtures.mail",
]


def pytest_configure(config: pytest.Config) -> None:
    # WhiteNoise's manifest storage needs collectstatic; tests render templates without it.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Hashing a password a million times per test user is what real logins need, not tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The tests read the product's words in English, its source language, unless a test asks
    # for Spanish (a browser with Spanish first, or a person who chose it). The venue default,
    # Spanish, is tested where it is set (tests/test_languages.py).
    settings.LANGUAGE_CODE = "en"
    # Managers and admins sign in with a password only, as under `make run`; the two-factor
    # tests (tests/*/test_two_factor.py) turn it on with the `settings` fixture.
    settings.COMPS_REQUIRE_TWO_FACTOR = False
    _let_the_test_reset_empty_the_audit_log()


def _let_the_test_reset_empty_the_audit_log() -> None:
    """On PostgreSQL the audit log's trigger refuses TRUNCATE (migration 0027), which is how
    Django empties the database after each transactional test. The reset, and only the reset,
    switches that trigger off around its TRUNCATE (the test database's owner may)."""
    from django.db.backends.postgresql.operations import DatabaseOperations

    flush = DatabaseOperations.sql_flush
    trigger = "ALTER TABLE tickets_auditentry {} TRIGGER tickets_auditentry_no_truncate;"

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        statements = flush(
            self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade
        )
        if "tickets_auditentry" not in tables or not statements:
            return statements
        return [trigger.format("DISABLE"), *statements, trigger.format("ENABLE")]

    DatabaseOperations.sql_flush = sql_flush


@pytest.fixture(autouse=True, scope="session")
def _training_mailbox(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The training mailbox exists, as under `make run`, so every page is tested with its link
    and the URL matrix reaches it; its own tests point it at their mail server."""
    settings.COMPS_MAILBOX_DIR = str(tmp_path_factory.mktemp("training-mailbox"))


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with nothing cached (the search filters' lists are kept a minute)."""
    cache.clear()


@pytest.fixture(autouse=True)
def _english_after_each_test() -> Iterator[None]:
    """A request in Spanish leaves Spanish active on the test's thread (Django does not reset
    it after a response): the next test would read Spanish where it expects English."""
    # Active from the start too: Django's fallback language was fixed at start-up, when
    # LANGUAGE_CODE was still the venue's Spanish, so tests outside a request would read Spanish.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.deactivate()


# --- Personas: one person per role, and their logged-in browsers (cf. healthchecks' hc/test.py).
# They override pytest-django's `admin_user` / `admin_client` on purpose: our admin is a person
# with the Admin role, not a superuser.


@pytest.fixture
def issuer(db: None) -> User:
    return factories.issuer(username="iris", first_name="Iris", last_name="Issuer")


@pytest.fixture
def manager(db: None) -> User:
    return factories.manager(username="max", first_name="Max", last_name="Manager")


@pytest.fixture
def admin(db: None) -> User:
    return factories.admin(username="ada", first_name="Ada", last_name="Admin")


@pytest.fixture
def issuer_client(client: Client, issuer: User) -> Client:
    client.force_login(issuer)
    return client


@pytest.fixture
def manager_client(client: Client, manager: User) -> Client:
    client.force_login(manager)
    return client


@pytest.fixture
def admin_client(client: Client, admin: User) -> Client:
    client.force_login(admin)
    return client


# --- Credentials

CREDENTIAL_API_KEY = "ik_live_0123456789abcdefSECRETvalue"


@pytest.fixture
def credential(db: None) -> Credential:
    """The active production credential, with a key worth keeping out of every page and log."""
    return register_credential(
        name="Production key",
        environment=Environment.PRODUCTION,
        api_key=CREDENTIAL_API_KEY,
        notes="Issued by Fourvenues in May",
        actor=None,
    )


@pytest.fixture
def alpha_credential(db: None) -> Credential:
    """An active alpha credential whose API answers nothing (the factories' catalogue is alpha)."""
    return factories.CredentialFactory()


@pytest.fixture
def sandbox_credential(server: SandboxServer) -> Credential:
    """An active alpha credential pointed at a running sandbox."""
    return register(server)
