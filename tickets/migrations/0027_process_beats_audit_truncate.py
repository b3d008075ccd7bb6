"""Signs of life of the scheduler and the workers (`ProcessBeat`), and the audit log's trigger
extended to TRUNCATE, which row triggers never see (PostgreSQL only, like the rest of it)."""

from django.db import migrations, models

from tickets.migrations._postgresql import PostgreSQLOnly

REFUSE_TRUNCATE = """
CREATE OR REPLACE FUNCTION tickets_auditentry_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit log is append-only: TRUNCATE refused.'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tickets_auditentry_no_truncate
    BEFORE TRUNCATE ON tickets_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_auditentry_no_truncate();
"""

ALLOW_TRUNCATE = """
DROP TRIGGER IF EXISTS tickets_auditentry_no_truncate ON tickets_auditentry;
DROP FUNCTION IF EXISTS tickets_auditentry_no_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [("tickets", "0026_managers_in_control")]

    operations = [
        migrations.CreateModel(
            name="ProcessBeat",
            fields=[
                ("process", models.CharField(max_length=20, primary_key=True, serialize=False)),
                ("seen_at", models.DateTimeField()),
            ],
        ),
        PostgreSQLOnly(REFUSE_TRUNCATE, ALLOW_TRUNCATE),
    ]
