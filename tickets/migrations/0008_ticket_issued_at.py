"""Tickets carry when they were issued, indexed, so searches and exports sort without joins;
the RunPython fills it for tickets mirrored before it existed."""


from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def copy_issued_at(apps, schema_editor):
    IssuedTicket = apps.get_model("tickets", "IssuedTicket")
    IssuanceLine = apps.get_model("tickets", "IssuanceLine")
    issued = IssuanceLine.objects.filter(pk=OuterRef("line_id")).values("issuance__created_at")
    IssuedTicket.objects.update(
        issued_at=Coalesce(Subquery(issued[:1]), "remote_created_at", "mirrored_at")
    )


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0007_view_document_numbers'),
    ]

    operations = [
        migrations.AddField(
            model_name='issuedticket',
            name='issued_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='issuedticket',
            index=models.Index(fields=['issued_at', 'id'], name='issued_ticket_issued_idx'),
        ),
        migrations.RunPython(copy_issued_at, migrations.RunPython.noop),
    ]
