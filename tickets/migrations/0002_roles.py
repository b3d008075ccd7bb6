"""The three roles and their permissions. Groups are only ever created here, never by hand.

Each later migration that adds a permission extends the mapping for the roles that need it.
"""

from django.db import migrations

from tickets.migrations._roles import grant

ROLE_PERMISSIONS = {
    "Issuer": [],
    "Manager": ["view_apicall"],
    "Admin": [
        "view_apicall",
        "view_auditentry",
        "view_credential",
        "add_credential",
        "change_credential",
        "delete_credential",
    ],
}


def create_roles(apps, schema_editor):
    grant(apps, ROLE_PERMISSIONS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
