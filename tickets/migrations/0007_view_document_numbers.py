"""The permission to see a holder's full document number (every viewing is audited), granted to
the Manager and Admin roles."""

from django.db import migrations

from tickets.migrations._roles import grant, revoke

ROLES = ["Manager", "Admin"]
CODENAME = "view_document_numbers"


ROLE_PERMISSIONS = {role: [CODENAME] for role in ROLES}


def forwards(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


def backwards(apps, schema_editor):
    revoke(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0006_search_trigram_index")]

    operations = [
        migrations.AlterModelOptions(
            name="issuedticket",
            options={
                "ordering": ["-remote_created_at", "-id"],
                "permissions": [
                    (
                        "view_document_numbers",
                        "Can see holders' full document numbers (audited)",
                    )
                ],
            },
        ),
        migrations.RunPython(forwards, backwards),
    ]
