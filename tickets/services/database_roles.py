"""The PostgreSQL role the app connects as in production: it may read and write the app's rows
and nothing more. It owns no table, so it can neither alter nor drop one, nor switch the audit
log's trigger off; it may not delete or truncate audit entries at all (the trigger refuses
updates but the one a deleted user's entries need).

Migrations run as the database's owner; `grant_app_role` runs after each migration, so the
tables a migration adds are granted too.
"""

from __future__ import annotations

from django.db import connection
from psycopg import sql

AUDIT_TABLE = "tickets_auditentry"


class DatabaseRoleError(Exception):
    pass


def grant_app_role(*, role: str, password: str | None) -> None:
    """Create `role` if missing (a login with no special rights) and grant it the app's rows.
    `password` None keeps the one it has."""
    if connection.vendor != "postgresql":
        raise DatabaseRoleError("Database roles exist on PostgreSQL only.")
    name = sql.Identifier(role)
    database = sql.Identifier(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        statements = [] if cursor.fetchone() else [sql.SQL("CREATE ROLE {} LOGIN").format(name)]
        statements += [
            sql.SQL(
                "ALTER ROLE {} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION "
                "NOBYPASSRLS"
            ).format(name),
            sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(database, name),
            sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(name),
            sql.SQL(
                "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {}"
            ).format(name),
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {}").format(
                name
            ),
            sql.SQL("REVOKE DELETE, TRUNCATE ON {} FROM {}").format(
                sql.Identifier(AUDIT_TABLE), name
            ),
        ]
        if password is not None:
            statements.append(
                sql.SQL("ALTER ROLE {} WITH PASSWORD {}").format(name, sql.Literal(password))
            )
        raw = cursor.cursor  # psycopg's own cursor: identifiers and literals quoted by psycopg
        for statement in statements:
            raw.execute(statement)
