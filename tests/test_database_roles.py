"""The app's own PostgreSQL role (`manage.py grant_app_role`) and the audit log's defences against
what a superuser connection allowed before: truncating it, or switching its trigger off."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from psycopg import sql

from tests import factories
from tickets.models import AuditEntry
from tickets.services import audit

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="roles and triggers are PostgreSQL's"
    ),
    # Committed rows: the other connection sees them, and a TRUNCATE waits on no pending checks.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_the_audit_log_refuses_truncate_even_from_its_owner():
    audit.record(action="credential.verified")
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE tickets_auditentry")
    assert AuditEntry.objects.count() == 1


@pytest.fixture
def app_role(tmp_path) -> Iterator[psycopg.Connection]:
    """A connection as a freshly granted app role, dropped afterwards (roles outlive databases)."""
    role = f"comps_app_test_{secrets.token_hex(4)}"
    password_file = tmp_path / "password"
    password_file.write_text(secrets.token_urlsafe(16))
    call_command("grant_app_role", role=role, password_file=password_file)
    settings = connection.settings_dict
    app = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=role,
        password=password_file.read_text(),
        autocommit=True,
    )
    try:
        yield app
    finally:
        app.close()
        with connection.cursor() as cursor:
            name = sql.Identifier(role).as_string(cursor.cursor)
            cursor.execute(f"DROP OWNED BY {name}")
            cursor.execute(f"DROP ROLE {name}")


def _refused(app: psycopg.Connection, statement: str, *params: object) -> str:
    with pytest.raises(psycopg.Error) as refusal:
        app.execute(statement, params or None)
    return str(refusal.value)


def test_the_app_role_reads_and_writes_rows_but_cannot_touch_the_audit_log(app_role):
    entry = audit.record(action="credential.verified")
    issuer = factories.issuer()

    app_role.execute("UPDATE auth_user SET first_name = 'Ivy' WHERE id = %s", [issuer.pk])
    app_role.execute(
        "INSERT INTO tickets_auditentry (actor_label, action, target, target_label, data, "
        "created_at) VALUES ('', 'credential.verified', '', '', '{}', now())"
    )
    assert app_role.execute("SELECT count(*) FROM tickets_auditentry").fetchone() == (2,)

    assert "permission denied" in _refused(app_role, "TRUNCATE tickets_auditentry")
    assert "permission denied" in _refused(
        app_role, "DELETE FROM tickets_auditentry WHERE id = %s", entry.pk
    )
    assert "append-only" in _refused(
        app_role, "UPDATE tickets_auditentry SET action = 'x' WHERE id = %s", entry.pk
    )
    assert "must be owner" in _refused(
        app_role, "ALTER TABLE tickets_auditentry DISABLE TRIGGER ALL"
    )
    assert "must be owner" in _refused(
        app_role, "DROP TRIGGER tickets_auditentry_append_only ON tickets_auditentry"
    )
    assert "must be owner" in _refused(app_role, "DROP TABLE tickets_issuance")
    superuser = app_role.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
    assert superuser.fetchone() == (False,)
    assert AuditEntry.objects.filter(pk=entry.pk, action="credential.verified").exists()
