"""Exports of the ticket search prepared in the background (`ExportJob`)."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0027_process_beats_audit_truncate'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='ExportJob',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('format', models.CharField(max_length=10)),
                ('filters', models.JSONField(blank=True, default=dict)),
                ('columns', models.JSONField(default=list)),
                ('logged_filter', models.JSONField(blank=True, default=dict)),
                ('language', models.CharField(blank=True, max_length=10)),
                ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Being prepared'), ('ready', 'Ready'), ('failed', 'Failed'), ('expired', 'Expired')], default='queued', max_length=10)),
                ('task_id', models.CharField(blank=True, max_length=64)),
                ('row_count', models.PositiveIntegerField(blank=True, null=True)),
                ('file_name', models.CharField(blank=True, max_length=80)),
                ('size', models.PositiveBigIntegerField(blank=True, null=True)),
                ('error', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('started_at', models.DateTimeField(blank=True, null=True)),
                ('finished_at', models.DateTimeField(blank=True, null=True)),
                ('fetched_at', models.DateTimeField(blank=True, null=True)),
                ('expires_at', models.DateTimeField(blank=True, null=True)),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='export_jobs', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'export',
                'verbose_name_plural': 'exports',
                'ordering': ['-created_at', '-id'],
                'indexes': [models.Index(fields=['owner', '-created_at'], name='export_job_owner_recent')],
                'constraints': [models.CheckConstraint(condition=models.Q(('state__in', ['queued', 'running', 'ready', 'failed', 'expired'])), name='export_job_state_valid')],
            },
        ),
    ]
