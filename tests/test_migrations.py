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
