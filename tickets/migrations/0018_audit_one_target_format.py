"""One target format in the audit log: `<kind>:<pk>` (`user:7`, `credential:2`), with what staff
know the thing by in `target_label`. Earlier entries named users by username, credentials and
events by their display text, admin-edited rows by theirs, and exports as "N tickets"; each is
rewritten to the new form where the row can still be found, and keeps its old text as the label.

Rewriting the log is the one change the append-only trigger must let through: it is switched
off for this migration only, and the trigger function learns the new column.
"""

import re

from django.db import migrations

from tickets.migrations._postgresql import PostgreSQLOnly

KEYED = re.compile(r"^[a-z]+:\d+$")
ENVIRONMENT_LABELS = {"alpha": "Alpha (test)", "production": "Production"}

APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION tickets_auditentry_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL AND OLD.actor_id IS NOT NULL
       AND (NEW.id, NEW.actor_label, NEW.action, NEW.target, NEW.target_label, NEW.data,
            NEW.ip_address, NEW.created_at)
           IS NOT DISTINCT FROM
           (OLD.id, OLD.actor_label, OLD.action, OLD.target, OLD.target_label, OLD.data,
            OLD.ip_address, OLD.created_at) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'The audit log is append-only: % of an entry refused.', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def one_target_format(apps, schema_editor):
    AuditEntry = apps.get_model("tickets", "AuditEntry")
    users = dict(apps.get_model("auth", "User").objects.values_list("username", "pk"))
    credentials = {
        f"{name} ({ENVIRONMENT_LABELS.get(environment, environment)})": pk
        for pk, name, environment in apps.get_model("tickets", "Credential").objects.values_list(
            "pk", "name", "environment"
        )
    }
    events = {
        f"{name} ({night:%a %d %b %Y})": pk
        for pk, name, night in apps.get_model("tickets", "Event").objects.values_list(
            "pk", "name", "night"
        )
    }

    def rewritten(entry) -> tuple[str, str]:
        old, kind = entry.target, entry.action.partition(".")[0]
        if old.startswith("user:"):
            username = old.removeprefix("user:")
            return (f"user:{users[username]}" if username in users else "", username)
        if kind in ("reason", "supplement") and isinstance(entry.data.get("id"), int):
            return (f"{kind}:{entry.data['id']}", old)
        if kind in ("credential", "catalogue") and old in credentials:
            return (f"credential:{credentials[old]}", old)
        if kind == "catalogue" and old in events:
            return (f"event:{events[old]}", old)
        if entry.action == "tickets.exported":
            return ("", "")  # "N tickets": the count is in the entry's data
        return ("", old)

    changed = []
    for entry in AuditEntry.objects.exclude(target="").iterator(chunk_size=2000):
        if KEYED.match(entry.target):
            continue
        entry.target, entry.target_label = rewritten(entry)
        changed.append(entry)
    AuditEntry.objects.bulk_update(changed, ["target", "target_label"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0017_audit_target_label"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        PostgreSQLOnly(
            sql="ALTER TABLE tickets_auditentry DISABLE TRIGGER tickets_auditentry_append_only",
            reverse_sql="ALTER TABLE tickets_auditentry ENABLE TRIGGER tickets_auditentry_append_only",
        ),
        migrations.RunPython(one_target_format, migrations.RunPython.noop),
        PostgreSQLOnly(
            sql=[
                APPEND_ONLY_FUNCTION,
                # Foreign-key checks still pending would make PostgreSQL refuse the ALTER TABLE.
                "SET CONSTRAINTS ALL IMMEDIATE",
                "ALTER TABLE tickets_auditentry ENABLE TRIGGER tickets_auditentry_append_only",
            ],
            reverse_sql="ALTER TABLE tickets_auditentry DISABLE TRIGGER tickets_auditentry_append_only",
        ),
    ]
