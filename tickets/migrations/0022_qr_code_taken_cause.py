"""A line refused because its QR code of ours is in use keeps that as its cause (no more telling it by its error text)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0021_ticket_unknowns'),
    ]

    operations = [
        migrations.AlterField(
            model_name='issuanceline',
            name='failure_cause',
            field=models.CharField(blank=True, choices=[('', '—'), ('credential', 'The Fourvenues credential was refused'), ('refused', 'Fourvenues refused the ticket'), ('not_created', 'Fourvenues has no such ticket'), ('not_sent', 'Not sent: the request could not be built'), ('gave_up', 'Fourvenues stayed unavailable'), ('qr_code_taken', 'Fourvenues says its QR code is already in use')], default='', max_length=20),
        ),
    ]
