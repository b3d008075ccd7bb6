"""Admins keep the reasons and supplements in Django's admin site, which only staff may open:
admins made on the users page before this were not staff."""

from django.db import migrations


def admins_are_staff(apps, schema_editor):
    User = apps.get_model("auth", "User")
    User.objects.filter(groups__name="Admin", is_staff=False).update(is_staff=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0014_event_index_covers_search_text"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(admins_are_staff, migrations.RunPython.noop)]
