"""IssuedTicket.issued_by: the creator of the ticket's issuance, kept by the database.

Filled in for the tickets already mirrored, then kept by triggers on every insert and every
change of `line` (or of `issued_by` itself), whatever writes the row: the ORM, a bulk insert, the
seeding's COPY. PostgreSQL sets it before the row is written; SQLite, whose triggers cannot
change the row being written, right after.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CREATOR_OF_LINE = """(
    SELECT issuance.created_by_id
    FROM tickets_issuanceline line
    JOIN tickets_issuance issuance ON issuance.id = line.issuance_id
    WHERE line.id = {line}
)"""

POSTGRESQL_FORWARDS = [
    f"UPDATE tickets_issuedticket SET issued_by_id = {CREATOR_OF_LINE.format(line='line_id')}"
    " WHERE line_id IS NOT NULL",
    f"""
    CREATE FUNCTION tickets_issuedticket_issued_by() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        NEW.issued_by_id := {CREATOR_OF_LINE.format(line="NEW.line_id")};
        RETURN NEW;
    END
    $$
    """,
    """
    CREATE TRIGGER tickets_issuedticket_issued_by
    BEFORE INSERT OR UPDATE OF line_id, issued_by_id ON tickets_issuedticket
    FOR EACH ROW EXECUTE FUNCTION tickets_issuedticket_issued_by()
    """,
]
POSTGRESQL_BACKWARDS = [
    "DROP TRIGGER IF EXISTS tickets_issuedticket_issued_by ON tickets_issuedticket",
    "DROP FUNCTION IF EXISTS tickets_issuedticket_issued_by()",
]

SQLITE_SET = (
    f"UPDATE tickets_issuedticket SET issued_by_id = {CREATOR_OF_LINE.format(line='NEW.line_id')}"
    " WHERE id = NEW.id;"
)
SQLITE_FORWARDS = [
    f"UPDATE tickets_issuedticket SET issued_by_id = {CREATOR_OF_LINE.format(line='line_id')}"
    " WHERE line_id IS NOT NULL",
    # SQLite's recursive triggers are off: the update below does not fire the second trigger.
    "CREATE TRIGGER tickets_issuedticket_issued_by_insert AFTER INSERT ON tickets_issuedticket"
    f" BEGIN {SQLITE_SET} END",
    "CREATE TRIGGER tickets_issuedticket_issued_by_update"
    f" AFTER UPDATE OF line_id, issued_by_id ON tickets_issuedticket BEGIN {SQLITE_SET} END",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS tickets_issuedticket_issued_by_insert",
    "DROP TRIGGER IF EXISTS tickets_issuedticket_issued_by_update",
]


def run(statements_by_vendor):
    def apply(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0030_line_unfinished_by_state"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="issuedticket",
            name="issued_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.RunPython(
            run({"postgresql": POSTGRESQL_FORWARDS, "sqlite": SQLITE_FORWARDS}),
            run({"postgresql": POSTGRESQL_BACKWARDS, "sqlite": SQLITE_BACKWARDS}),
        ),
        migrations.AddIndex(
            model_name="issuedticket",
            index=models.Index(
                fields=["issued_by", "issued_at", "id"],
                include=("search_text",),
                name="issued_ticket_issuer_text_idx",
            ),
        ),
    ]
