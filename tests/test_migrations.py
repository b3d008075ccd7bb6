import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from tests import factories as f
from tickets.models import IssuanceLine, IssuedTicket

issued_at_migration = importlib.import_module("tickets.migrations.0008_ticket_issued_at")


@pytest.mark.django_db
def test_tickets_mirrored_before_issued_at_existed_get_their_issuance_time():
    issued = f.IssuedTicketFactory()
    adopted = f.IssuedTicketFactory(line=None)
    IssuedTicket.objects.update(issued_at=None)

    issued_at_migration.copy_issued_at(apps, None)

    issued.refresh_from_db()
    adopted.refresh_from_db()
    assert issued.issued_at == issued.line.issuance.created_at
    assert adopted.issued_at == adopted.remote_created_at


fill_migration = importlib.import_module("tickets.migrations.0010_fill_missing_issued_at")


@pytest.mark.django_db
def test_tickets_mirrored_without_issued_at_get_it_and_others_keep_theirs():
    missing = f.IssuedTicketFactory()
    kept = f.IssuedTicketFactory(line=None)
    IssuedTicket.objects.filter(pk=missing.pk).update(issued_at=None)
    original = IssuedTicket.objects.get(pk=kept.pk).issued_at

    fill_migration.fill_missing_issued_at(apps, None)

    missing.refresh_from_db()
    kept.refresh_from_db()
    assert missing.issued_at == missing.line.issuance.created_at
    assert kept.issued_at == original


admins_staff_migration = importlib.import_module(
    "tickets.migrations.0015_admins_reach_the_admin_site"
)


@pytest.mark.django_db
def test_admins_made_before_become_staff_and_nobody_else_does():
    admin = f.admin(is_staff=False)
    manager = f.manager()

    admins_staff_migration.admins_are_staff(apps, None)

    admin.refresh_from_db()
    manager.refresh_from_db()
    assert admin.is_staff
    assert not manager.is_staff


cause_migration = importlib.import_module("tickets.migrations.0016_line_failure_cause")


@pytest.mark.django_db
def test_lines_failed_before_the_cause_existed_get_it_from_their_error_text():
    def failed(error: str) -> int:
        return f.IssuanceLineFactory(state="failed", last_error=error).pk

    lines = {
        failed("Fourvenues refused the API key (HTTP 401)"): "credential",
        failed("The key may not do this (HTTP 403)"): "credential",
        failed("Fourvenues has no such ticket: the call did not create it."): "not_created",
        failed("Not sent: bad birthday."): "not_sent",
        failed("Too many requests (gave up after 5 attempts)"): "gave_up",
        failed("Fourvenues refused the ticket (HTTP 400): bad email"): "refused",
    }
    confirmed = f.IssuanceLineFactory(state="confirmed").pk

    cause_migration.causes_from_error_texts(apps, None)

    causes = dict(IssuanceLine.objects.values_list("pk", "failure_cause"))
    assert {pk: causes[pk] for pk in lines} == lines
    assert causes[confirmed] == ""


target_migration = importlib.import_module("tickets.migrations.0018_audit_one_target_format")


@pytest.mark.django_db
def test_audit_entries_written_before_one_target_format_get_it():
    from tickets.models import AuditEntry

    ivy = f.issuer(username="ivy")
    credential = f.CredentialFactory(name="Door key")
    event = f.EventFactory(name="Gala")
    reason = f.ReasonFactory(label="Crew")
    old = {
        "user:ivy": ("user.created", {}),
        "user:gone": ("auth.login_failed", {}),
        str(credential): ("credential.verified", {}),
        str(event): ("catalogue.rates_refreshed", {}),
        "Crew": ("reason.changed", {"id": reason.pk}),
        "12 tickets": ("tickets.exported", {"row_count": 12}),
        "issuance:42": ("issuance.created", {}),
        "something else": ("credential.changed", {}),
    }
    ids = {
        target: AuditEntry.objects.create(action=action, target=target, data=data).pk
        for target, (action, data) in old.items()
    }

    historical = (
        MigrationExecutor(connection)
        .loader.project_state(("tickets", "0018_audit_one_target_format"))
        .apps
    )
    # As the migration does: the append-only trigger (PostgreSQL) lets this one rewrite through.
    trigger = "TRIGGER tickets_auditentry_append_only"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the rows above were just added
            cursor.execute(f"ALTER TABLE tickets_auditentry DISABLE {trigger}")
        target_migration.one_target_format(historical, None)
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE tickets_auditentry ENABLE {trigger}")

    now = dict(
        (pk, (target, label))
        for pk, target, label in AuditEntry.objects.values_list("pk", "target", "target_label")
    )
    assert {target: now[pk] for target, pk in ids.items()} == {
        "user:ivy": (f"user:{ivy.pk}", "ivy"),
        "user:gone": ("", "gone"),
        str(credential): (f"credential:{credential.pk}", str(credential)),
        str(event): (f"event:{event.pk}", str(event)),
        "Crew": (f"reason:{reason.pk}", "Crew"),
        "12 tickets": ("", ""),
        "issuance:42": ("issuance:42", ""),
        "something else": ("", "something else"),
    }
