"""One request budget per Fourvenues key, in the database (`RateBudget`, services.ratelimit);
lines put back after a 429 or an outage wait for `send_after`; and an index for the sender's
look for a key's issuances still sending; long tasks' heartbeats (`TaskHeartbeat`)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tickets", "0019_mask_documents_at_rest")]

    operations = [
        migrations.CreateModel(
            name="RateBudget",
            fields=[
                ("key", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("last_slot", models.FloatField(default=0)),
                ("slow_until", models.FloatField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="TaskHeartbeat",
            fields=[
                ("task_id", models.UUIDField(primary_key=True, serialize=False)),
                ("beat_at", models.DateTimeField(db_index=True)),
            ],
        ),
        migrations.AddField(
            model_name="issuanceline",
            name="send_after",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name="issuance",
            index=models.Index(
                condition=models.Q(("status", "in_progress")),
                fields=["credential"],
                name="issuance_in_progress",
            ),
        ),
    ]
