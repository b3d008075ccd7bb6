"""Issuing permissions for the roles, and the starting list of comp reasons (admins edit it)."""

from django.db import migrations

from tickets.migrations._roles import grant, revoke

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
    grant(apps, ROLE_PERMISSIONS)
    Reason = apps.get_model("tickets", "Reason")
    for position, label in enumerate(REASONS):
        Reason.objects.get_or_create(label=label, defaults={"position": position})


def backwards(apps, schema_editor):
    revoke(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_catalogue_ledger_mirror")]

    operations = [migrations.RunPython(forwards, backwards)]
