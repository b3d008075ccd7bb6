"""Signs of life of the scheduler and the workers (`ProcessBeat`), and the audit log's trigger
extended to TRUNCATE, which row triggers never see (PostgreSQL only, like the rest of it); the
audit codes of unlocking, two-factor sign-in and prepared exports."""

from django.db import migrations, models

from tickets.migrations._postgresql import PostgreSQLOnly

REFUSE_TRUNCATE = """
CREATE OR REPLACE FUNCTION tickets_auditentry_no_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'The audit log is append-only: TRUNCATE refused.'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER tickets_auditentry_no_truncate
    BEFORE TRUNCATE ON tickets_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION tickets_auditentry_no_truncate();
"""

ALLOW_TRUNCATE = """
DROP TRIGGER IF EXISTS tickets_auditentry_no_truncate ON tickets_auditentry;
DROP FUNCTION IF EXISTS tickets_auditentry_no_truncate();
"""


class Migration(migrations.Migration):
    dependencies = [("tickets", "0026_managers_in_control")]

    operations = [
        migrations.CreateModel(
            name="ProcessBeat",
            fields=[
                ("process", models.CharField(max_length=20, primary_key=True, serialize=False)),
                ("seen_at", models.DateTimeField()),
            ],
        ),
        PostgreSQLOnly(REFUSE_TRUNCATE, ALLOW_TRUNCATE),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('auth.login', 'Signed in'), ('auth.logout', 'Signed out'), ('auth.login_failed', 'Failed to sign in'), ('auth.locked_out', 'Locked out after too many failed sign-ins'), ('user.created', 'Created a user'), ('user.role_changed', "Changed a user's role"), ('user.deactivated', 'Deactivated a user'), ('user.reactivated', 'Reactivated a user'), ('user.password_reset', "Reset a user's password"), ('user.unlocked', 'Let a locked-out person sign in again'), ('user.two_factor_reset', "Reset a person's two-factor sign-in"), ('auth.two_factor_enrolled', 'Turned on two-factor sign-in'), ('auth.two_factor_failed', 'Typed a wrong two-factor code'), ('auth.recovery_codes_created', 'Made new recovery codes'), ('auth.recovery_code_used', 'Signed in with a recovery code'), ('tickets.export_prepared', 'A large export was prepared'), ('credential.created', 'Added a Fourvenues credential'), ('credential.changed', 'Changed a Fourvenues credential'), ('credential.activated', 'Activated a Fourvenues credential'), ('credential.deactivated', 'Deactivated a Fourvenues credential'), ('credential.verified', 'Tested a Fourvenues credential: it works'), ('credential.verify_failed', 'Tested a Fourvenues credential: it failed'), ('catalogue.refreshed', 'Refreshed the catalogue from Fourvenues'), ('catalogue.refresh_failed', 'Could not refresh the catalogue'), ('catalogue.rates_refreshed', "Refreshed an event's rates"), ('catalogue.rates_refresh_failed', "Could not refresh an event's rates"), ('issuance.created', 'Submitted comps to issue'), ('issuance.lines_confirmed', 'Fourvenues issued tickets'), ('issuance.lines_failed', 'Tickets failed'), ('issuance.lines_unknown', "Tickets' outcome unknown: checking"), ('issuance.unmatched_ticket', 'Kept a ticket that matched no line'), ('issuance.line_retried', 'Sent a failed ticket again'), ('issuance.resolve_requested', 'Asked to check tickets now'), ('resolver.postponed', 'Could not check tickets yet: will ask again'), ('ticket.document_viewed', "Viewed a holder's document number"), ('tickets.exported', 'Exported tickets'), ('reconciliation.requested', 'Started a reconciliation'), ('discrepancy.acknowledged', 'Acknowledged a difference'), ('discrepancy.adopted', 'Adopted a ticket unknown to Comps'), ('discrepancy.rechecked', 'Checked a difference again'), ('reason.created', 'Added a reason'), ('reason.changed', 'Changed a reason'), ('reason.deleted', 'Deleted a reason'), ('supplement.created', 'Added a supplement'), ('supplement.changed', 'Changed a supplement'), ('supplement.deleted', 'Deleted a supplement'), ('delivery.resend_requested', 'Asked for a ticket to be sent to its guest again'), ('delivery.email_changed', "Changed where a guest's ticket is sent"), ('delivery.whatsapp', 'Sent a guest their ticket by WhatsApp'), ('allowance.created', 'Set an allowance'), ('allowance.changed', 'Changed an allowance'), ('allowance.deleted', 'Removed an allowance'), ('issuer_group.created', 'Created a group of issuers'), ('issuer_group.changed', 'Changed a group of issuers'), ('issuer_group.deleted', 'Deleted a group of issuers'), ('event_policy.changed', "Changed an event's cut-off or approval"), ('venue_policy.changed', "Changed the venue's approval or withdrawal rules"), ('issuance.cut_off_overridden', 'Issued after the cut-off'), ('approval.requested', 'Asked for approval'), ('approval.approved', 'Approved comps'), ('approval.rejected', 'Rejected comps'), ('withdrawal.requested', 'Asked to withdraw a comp'), ('withdrawal.confirmed', 'A comp was withdrawn'), ('withdrawal.failed', 'A comp could not be withdrawn'), ('withdrawal.unknown', "A withdrawal's outcome is unknown: checking"), ('withdrawal.retried', 'Tried to withdraw a comp again'), ('event_summary.sent', 'Sent the morning-after summary'), ('personal_data.purged', "Removed holders' personal data")], db_index=True, max_length=100),
        ),
    ]
