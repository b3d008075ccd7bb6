"""Why a line failed, kept as a field: the issuance page told a refused credential apart by
searching the error text for "(HTTP 401)". Lines failed before this get it from that text."""

from django.db import migrations, models
from django.db.models import Q


def causes_from_error_texts(apps, schema_editor):
    IssuanceLine = apps.get_model("tickets", "IssuanceLine")
    failed = IssuanceLine.objects.filter(state="failed")
    failed.filter(Q(last_error__contains="(HTTP 401)") | Q(last_error__contains="(HTTP 403)")).update(
        failure_cause="credential"
    )
    failed.filter(last_error__startswith="Fourvenues has no such ticket").update(
        failure_cause="not_created"
    )
    failed.filter(last_error__startswith="Not sent:").update(failure_cause="not_sent")
    failed.filter(last_error__contains="(gave up after").update(failure_cause="gave_up")
    failed.filter(failure_cause="").update(failure_cause="refused")


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0015_admins_reach_the_admin_site'),
    ]

    operations = [
        migrations.AddField(
            model_name='issuanceline',
            name='failure_cause',
            field=models.CharField(blank=True, choices=[('', '—'), ('credential', 'The Fourvenues credential was refused'), ('refused', 'Fourvenues refused the ticket'), ('not_created', 'Fourvenues has no such ticket'), ('not_sent', 'Not sent: the request could not be built'), ('gave_up', 'Fourvenues stayed unavailable')], default='', max_length=20),
        ),
        migrations.RunPython(causes_from_error_texts, migrations.RunPython.noop),
    ]
