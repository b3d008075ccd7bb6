"""Admins and security: the permissions of the in-app credential vault, users page and audit log
(granted to the Admin role), and a PostgreSQL trigger that refuses to change or delete an audit
entry whatever the application does."""

from django.db import migrations

from tickets.migrations._postgresql import PostgreSQLOnly
from tickets.migrations._roles import grant, revoke

ROLE_PERMISSIONS = {"Admin": ["manage_credentials", "manage_users", "view_audit_log"]}

# The one update allowed: deleting a user clears `actor` (ON DELETE SET NULL, done by Django);
# `actor_label` keeps the name, and every other column must stay as it was.
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION tickets_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL AND OLD.actor_id IS NOT NULL
       AND (NEW.id, NEW.actor_label, NEW.action, NEW.target, NEW.data, NEW.ip_address,
            NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.actor_label, OLD.action, OLD.target, OLD.data, OLD.ip_address,
            OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'The audit log is append-only: % of an entry refused.', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def forwards(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_fill_missing_issued_at")]

    operations = [
        migrations.AlterModelOptions(
            name="auditentry",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("view_audit_log", "Can read the audit log"),
                    ("manage_users", "Can create and deactivate users and set their role"),
                ],
                "verbose_name_plural": "audit entries",
            },
        ),
        migrations.AlterModelOptions(
            name="credential",
            options={
                "permissions": [
                    ("manage_credentials", "Can add, change, test and deactivate credentials")
                ]
            },
        ),
        migrations.RunPython(forwards, backwards),
        PostgreSQLOnly(
            sql=[
                APPEND_ONLY_FUNCTION,
                "CREATE TRIGGER tickets_auditentry_append_only "
                "BEFORE UPDATE OR DELETE ON tickets_auditentry "
                "FOR EACH ROW EXECUTE FUNCTION tickets_auditentry_append_only()",
            ],
            reverse_sql=[
                "DROP TRIGGER IF EXISTS tickets_auditentry_append_only ON tickets_auditentry",
                "DROP FUNCTION IF EXISTS tickets_auditentry_append_only()",
            ],
        ),
    ]
