"""Tickets mirrored between migration 0008 and the fix to the mirror were stored without
`issued_at`: fill it the way 0008 did, so that they sort and export like every other ticket."""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def fill_missing_issued_at(apps, schema_editor):
    IssuedTicket = apps.get_model("tickets", "IssuedTicket")
    IssuanceLine = apps.get_model("tickets", "IssuanceLine")
    issued = IssuanceLine.objects.filter(pk=OuterRef("line_id")).values("issuance__created_at")
    IssuedTicket.objects.filter(issued_at__isnull=True).update(
        issued_at=Coalesce(Subquery(issued[:1]), "remote_created_at", "mirrored_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ("tickets", "0009_ticket_event_issued_index"),
    ]

    operations = [
        migrations.RunPython(fill_missing_issued_at, migrations.RunPython.noop),
    ]
