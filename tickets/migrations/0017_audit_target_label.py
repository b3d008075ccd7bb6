"""The audit log gains `target_label`, and its action codes their registry (`AuditAction`)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('tickets', '0016_line_failure_cause'),
    ]

    operations = [
        migrations.AddField(
            model_name='auditentry',
            name='target_label',
            field=models.CharField(blank=True, max_length=200),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('auth.login', 'Signed in'), ('auth.logout', 'Signed out'), ('auth.login_failed', 'Failed to sign in'), ('auth.locked_out', 'Locked out after too many failed sign-ins'), ('user.created', 'Created a user'), ('user.role_changed', "Changed a user's role"), ('user.deactivated', 'Deactivated a user'), ('user.reactivated', 'Reactivated a user'), ('user.password_reset', "Reset a user's password"), ('credential.created', 'Added a Fourvenues credential'), ('credential.changed', 'Changed a Fourvenues credential'), ('credential.activated', 'Activated a Fourvenues credential'), ('credential.deactivated', 'Deactivated a Fourvenues credential'), ('credential.verified', 'Tested a Fourvenues credential: it works'), ('credential.verify_failed', 'Tested a Fourvenues credential: it failed'), ('catalogue.refreshed', 'Refreshed the catalogue from Fourvenues'), ('catalogue.refresh_failed', 'Could not refresh the catalogue'), ('catalogue.rates_refreshed', "Refreshed an event's rates"), ('catalogue.rates_refresh_failed', "Could not refresh an event's rates"), ('issuance.created', 'Submitted comps to issue'), ('issuance.lines_confirmed', 'Fourvenues issued tickets'), ('issuance.lines_failed', 'Tickets failed'), ('issuance.lines_unknown', "Tickets' outcome unknown: checking"), ('issuance.unmatched_ticket', 'Kept a ticket that matched no line'), ('issuance.line_retried', 'Sent a failed ticket again'), ('issuance.resolve_requested', 'Asked to check tickets now'), ('resolver.postponed', 'Could not check tickets yet: will ask again'), ('ticket.document_viewed', "Viewed a holder's document number"), ('tickets.exported', 'Exported tickets'), ('reconciliation.requested', 'Started a reconciliation'), ('discrepancy.acknowledged', 'Acknowledged a difference'), ('discrepancy.adopted', 'Adopted a ticket unknown to Comps'), ('discrepancy.rechecked', 'Checked a difference again'), ('reason.created', 'Added a reason'), ('reason.changed', 'Changed a reason'), ('reason.deleted', 'Deleted a reason'), ('supplement.created', 'Added a supplement'), ('supplement.changed', 'Changed a supplement'), ('supplement.deleted', 'Deleted a supplement')], db_index=True, max_length=100),
        ),
    ]
