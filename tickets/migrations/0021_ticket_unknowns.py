"""A mirrored ticket's status and amounts may be unknown (issue 13, §4.6).

Fourvenues' real clients have seen tickets without `status`, `price` or `total_paid`. Stored as 0
or as valid, such a ticket would pass for a free, activated comp; NULL says "unknown". Rows
already written keep their values: nothing tells which of their zeros were missing fields.
"""

from django.db import migrations, models


def _nullable_amount() -> models.DecimalField:
    return models.DecimalField(decimal_places=2, default=0, max_digits=10, null=True)


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0020_shared_rate_budget"),
    ]

    operations = [
        migrations.AlterField(
            model_name="issuedticket",
            name="is_valid",
            field=models.BooleanField(default=True, null=True),
        ),
        *(
            migrations.AlterField(model_name="issuedticket", name=name, field=_nullable_amount())
            for name in ("price", "refunded", "total_extras", "total_fees", "total_paid")
        ),
    ]
