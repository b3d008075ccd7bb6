"""The permission to see a holder's full document number (every viewing is audited), granted to
the Manager and Admin roles."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ["Manager", "Admin"]
CODENAME = "view_document_numbers"


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="tickets", codename=CODENAME)
    for role in ROLES:
        Group.objects.get(name=role).permissions.add(permission)


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(content_type__app_label="tickets", codename=CODENAME)
    for role in ROLES:
        Group.objects.get(name=role).permissions.remove(*permissions)


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
