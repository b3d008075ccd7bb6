"""A trigram GIN index for the ticket search, on PostgreSQL only.

Kept out of the migration state on purpose (stack.md, trap 1): an `AddIndex` with `gin_trgm_ops`
breaks SQLite, where the same `contains` query simply runs unindexed.
"""

from django.db import migrations

from tickets.migrations._postgresql import PostgreSQLOnly


class Migration(migrations.Migration):
    dependencies = [("tickets", "0005_search")]

    operations = [
        PostgreSQLOnly(
            sql=[
                "CREATE EXTENSION IF NOT EXISTS pg_trgm",
                "CREATE INDEX IF NOT EXISTS tickets_issuedticket_search_trgm "
                "ON tickets_issuedticket USING gin (search_text gin_trgm_ops)",
            ],
            reverse_sql=["DROP INDEX IF EXISTS tickets_issuedticket_search_trgm"],
        )
    ]
