"""Issuing permissions for the roles, and the starting list of comp reasons (admins edit it)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "Issuer": ["issue_comps"],
    "Manager": ["issue_comps", "view_all_issuances", "refresh_catalogue"],
    "Admin": [
        "issue_comps",
        "view_all_issuances",
        "refresh_catalogue",
        "view_supplement",
        "add_supplement",
        "change_supplement",
        "delete_supplement",
        "view_reason",
        "add_reason",
        "change_reason",
        "delete_reason",
    ],
}

REASONS = ["Artist", "Press", "Promoter", "Staff", "VIP", "Partner", "Other"]


def forwards(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        Group.objects.get(name=role).permissions.add(
            *Permission.objects.filter(content_type__app_label="tickets", codename__in=codenames)
        )
    Reason = apps.get_model("tickets", "Reason")
    for position, label in enumerate(REASONS):
        Reason.objects.get_or_create(label=label, defaults={"position": position})


def backwards(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        Group.objects.get(name=role).permissions.remove(
            *Permission.objects.filter(content_type__app_label="tickets", codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_catalogue_ledger_mirror")]

    operations = [migrations.RunPython(forwards, backwards)]
