import importlib

import pytest
from django.apps import apps

from tests import factories as f
from tickets.models import IssuedTicket

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
