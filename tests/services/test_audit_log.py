"""The audit log is append-only: the model, its queryset and (on PostgreSQL) a trigger refuse to
change or delete an entry; logins, failed logins and lockouts are recorded."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from tests import factories
from tickets.models import AuditEntry, AuditLogIsAppendOnly
from tickets.services import audit

PASSWORD = "a-long-password-1"


@pytest.mark.django_db
def test_the_application_cannot_change_or_delete_an_entry():
    entry = audit.record(action="credential.verified", data={"channels": 2})
    entry.action = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(action="rewritten")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).action == "credential.verified"


@pytest.mark.django_db
def test_on_postgresql_a_trigger_refuses_update_and_delete_in_sql():
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger exists on postgresql only")
    entry = audit.record(action="credential.verified")
    for sql in (
        "UPDATE tickets_auditentry SET action = 'rewritten' WHERE id = %s",
        "DELETE FROM tickets_auditentry WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [entry.pk])
    assert AuditEntry.objects.get(pk=entry.pk).action == "credential.verified"


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_entries_under_their_name():
    user = factories.admin(username="gone")
    entry = audit.record(action="user.created", actor=user)
    user.delete()
    entry = AuditEntry.objects.get(pk=entry.pk)
    assert (entry.actor, entry.actor_label) == (None, "gone")


@pytest.mark.django_db
def test_logins_and_failed_logins_are_recorded_without_the_password(client):
    ivy = factories.issuer(username="ivy")
    client.post(reverse("login"), {"username": "ivy", "password": "wrong-password-typed"})
    client.post(reverse("login"), {"username": "ivy", "password": PASSWORD})
    failed = AuditEntry.objects.get(action="auth.login_failed")
    login = AuditEntry.objects.get(action="auth.login")
    assert failed.target == login.target == f"user:{ivy.pk}"
    assert failed.target_label == login.target_label == "ivy"
    assert login.actor_label == "ivy"
    assert failed.ip_address == "127.0.0.1"
    logged = str(list(AuditEntry.objects.values()))
    assert "wrong-password-typed" not in logged
    assert PASSWORD not in logged


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_with_a_clear_page(client, settings):
    ivy = factories.issuer(username="ivy")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "ivy", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "ivy", "password": PASSWORD})
    assert response.status_code == 403
    assert "Too many failed attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(
        action="auth.locked_out", target=f"user:{ivy.pk}", target_label="ivy"
    ).exists()


def test_every_action_code_written_in_the_code_is_in_the_registry():
    """`record` refuses an unregistered code: find every literal one before production does."""
    import pathlib
    import re

    from tickets.models import AuditAction

    written = set()
    for path in pathlib.Path("tickets").rglob("*.py"):
        text = path.read_text()
        written |= set(
            re.findall(r'action=(?:f"\{self\.audit_prefix\}|")([a-z_]*\.[a-z_]+)"', text)
        )
        written |= set(re.findall(r'else "([a-z_]+\.[a-z_]+)"', text))
    prefixes = {"reason", "supplement"}  # the admin's audit_prefix values
    expanded = {
        f"{prefix}{code}" for code in written if code.startswith(".") for prefix in prefixes
    } | {code for code in written if not code.startswith(".")}
    assert len(expanded) > 30
    assert expanded <= set(AuditAction.values), expanded - set(AuditAction.values)


@pytest.mark.django_db
def test_an_unregistered_action_is_refused_and_writes_nothing():
    with pytest.raises(audit.UnknownAction):
        audit.record(action="credential.tested")
    assert not AuditEntry.objects.exists()


@pytest.mark.django_db
def test_every_entry_names_its_target_as_kind_and_key():
    user = factories.issuer(username="ivy")
    ticket = factories.IssuedTicketFactory()
    entries = [
        audit.record(action="user.created", target=user),
        audit.record(action="ticket.document_viewed", target=ticket),
        audit.record(action="issuance.created", target=ticket.line.issuance),
        audit.record(action="issuance.created", target=audit.Ref(type(ticket.line.issuance), 9)),
        audit.record(action="auth.login_failed", target_label="nobody"),
    ]
    assert [(e.target, e.target_label) for e in entries] == [
        (f"user:{user.pk}", "ivy"),
        (f"ticket:{ticket.pk}", ""),
        (f"issuance:{ticket.line.issuance.pk}", ""),
        ("issuance:9", ""),
        ("", "nobody"),
    ]
