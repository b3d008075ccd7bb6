"""The backup the README prescribes (`pg_dump --format=custom`, then `pg_restore` into an empty
database) brings back every row, the encrypted secrets still readable with the same keys, and
the audit log's triggers with them."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from tests import factories
from tickets.services import audit

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the backup is PostgreSQL's"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

TABLES = ("tickets_issuance", "tickets_issuanceline", "tickets_issuedticket", "tickets_auditentry")


def _server() -> dict[str, str]:
    db = connection.settings_dict
    return {
        "host": db["HOST"] or "127.0.0.1",
        "port": str(db["PORT"] or 5432),
        "user": db["USER"] or "postgres",
    }


def _counts(dbname: str) -> dict[str, int]:
    with psycopg.connect(dbname=dbname, **_server()) as restored:
        return {
            table: restored.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in TABLES
        }


def test_a_dump_restored_into_an_empty_database_holds_the_same_data_and_guards(tmp_path: Path):
    ticket = factories.IssuedTicketFactory()
    credential = ticket.line.issuance.credential
    audit.record(action="credential.verified", target=credential)
    server = _server()
    source = connection.settings_dict["NAME"]
    copy = f"comps_restore_{secrets.token_hex(4)}"
    dump = tmp_path / "comps.dump"
    flags = ["--host", server["host"], "--port", server["port"], "--username", server["user"]]

    subprocess.run(
        ["pg_dump", *flags, "--format=custom", "--no-owner", "--file", str(dump), source],
        check=True,
        timeout=120,
    )
    subprocess.run(["createdb", *flags, copy], check=True, timeout=60)
    try:
        subprocess.run(
            ["pg_restore", *flags, "--no-owner", "--exit-on-error", "--dbname", copy, str(dump)],
            check=True,
            timeout=120,
        )
        assert _counts(copy) == _counts(source)
        with psycopg.connect(dbname=copy, autocommit=True, **server) as restored:
            api_key = restored.execute(
                "SELECT api_key FROM tickets_credential WHERE id = %s", [credential.pk]
            ).fetchone()[0]
            # The same FIELD_ENCRYPTION_KEYS read the restored secret.
            assert credential._meta.get_field("api_key").from_db_value(
                api_key, None, connection
            ) == (credential.api_key)
            with pytest.raises(psycopg.Error, match="append-only"):
                restored.execute("DELETE FROM tickets_auditentry")
            with pytest.raises(psycopg.Error, match="append-only"):
                restored.execute("TRUNCATE tickets_auditentry")
    finally:
        subprocess.run(["dropdb", *flags, "--if-exists", copy], check=True, timeout=60)
