"""IssuedTicket.issued_by is kept by the database (migration 0031), whatever writes the row.

On SQLite a migration that rebuilds the ticket table (most changes of a column do) drops its
triggers with the old table: these tests then fail, and that migration must create them again
(`tickets/migrations/0031_issued_ticket_issued_by.py` holds their SQL).
"""

import pytest

from tests import factories as f
from tickets.models import IssuedTicket
from tickets.selectors import search as search_selectors


def issued_by_in_database(ticket: IssuedTicket) -> int | None:
    return IssuedTicket.objects.values_list("issued_by_id", flat=True).get(pk=ticket.pk)


@pytest.mark.django_db
def test_a_ticket_inserted_by_the_orm_or_in_bulk_gets_its_issuances_creator():
    created = f.IssuedTicketFactory()
    line = f.IssuanceLineFactory(state="confirmed")
    (bulk,) = IssuedTicket.objects.bulk_create(
        [IssuedTicket(environment="alpha", remote_id="bulk-1", line=line)]
    )

    assert issued_by_in_database(created) == created.line.issuance.created_by_id
    assert issued_by_in_database(bulk) == line.issuance.created_by_id


@pytest.mark.django_db
def test_a_ticket_without_a_line_has_no_issuer_and_one_linked_later_gets_its_issuer():
    adopted = f.IssuedTicketFactory(line=None)
    assert issued_by_in_database(adopted) is None

    line = f.IssuanceLineFactory(state="confirmed")
    adopted.line = line
    adopted.save()  # as the mirror links a ticket adopted before its line was known

    assert issued_by_in_database(adopted) == line.issuance.created_by_id


@pytest.mark.django_db
def test_what_is_written_into_issued_by_itself_is_overwritten_by_the_truth():
    ticket = f.IssuedTicketFactory()
    someone_else = f.UserFactory()

    IssuedTicket.objects.filter(pk=ticket.pk).update(issued_by=someone_else)

    assert issued_by_in_database(ticket) == ticket.line.issuance.created_by_id


@pytest.mark.django_db
def test_an_issuer_sees_exactly_the_tickets_of_their_own_issuances():
    issuer = f.issuer()
    own = [f.IssuedTicketFactory(line__issuance__created_by=issuer) for _ in range(3)]
    f.IssuedTicketFactory()  # someone else's
    f.IssuedTicketFactory(line=None)  # issued outside Comps

    visible = search_selectors.tickets_visible_to(issuer)

    assert sorted(visible.values_list("pk", flat=True)) == sorted(t.pk for t in own)
