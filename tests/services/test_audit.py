import pytest
from django.contrib.auth.models import User

from tickets.models import AuditEntry, AuditLogIsAppendOnly
from tickets.services import audit


@pytest.mark.django_db
def test_record_keeps_who_and_what_and_refuses_changes():
    user = User.objects.create_user("ada")
    entry = audit.record(action="credential.created", actor=user, data={"secret": "x"})
    assert entry.actor_label == "ada"
    assert entry.data == {"secret": "[redacted]"}
    entry.action = "something.else"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    assert AuditEntry.objects.get().action == "credential.created"


@pytest.mark.django_db
def test_record_without_an_actor_is_the_system():
    assert audit.record(action="catalogue.refreshed").actor_label == "system"
