"""0019 repairs what was written before document numbers were kept out of the mirror's raw copy
and out of saved searches."""

import importlib

import pytest
from django.apps import apps
from django.http import QueryDict

from tests import factories as f
from tickets.models import IssuedTicket, SavedSearch, TicketSupplement
from tickets.redaction import mask_document
from tickets.text import document_digest

migration = importlib.import_module("tickets.migrations.0019_mask_documents_at_rest")

DOCUMENT = "98765432W"


@pytest.mark.django_db
def test_document_numbers_in_raw_copies_are_masked_and_nothing_else_changes():
    echoed = f.IssuedTicketFactory(
        raw={
            "_id": "a",
            "code": "JP0001",
            "personal_document_type": "dni",
            "personal_document_number": DOCUMENT,
            "nested": [{"Personal_Document_Number": "X1234567L"}],
        }
    )
    plain = f.IssuedTicketFactory(raw={"_id": "b", "code": "JP0002", "name": "Ana"})
    empty = f.IssuedTicketFactory(raw={"_id": "c", "personal_document_number": ""})
    supplement = TicketSupplement.objects.create(
        ticket=plain, raw={"_id": "s", "personal_document_number": "Z7654321Q"}
    )
    IssuedTicket.objects.filter(pk=plain.pk).update(raw={"_id": "b", "code": "JP0002"})

    migration.mask_documents_at_rest(apps, None)
    migration.mask_documents_at_rest(apps, None)  # twice: the same result

    echoed.refresh_from_db()
    assert echoed.raw == {
        "_id": "a",
        "code": "JP0001",
        "personal_document_type": "dni",
        "personal_document_number": mask_document(DOCUMENT),
        "nested": [{"Personal_Document_Number": mask_document("X1234567L")}],
    }
    assert IssuedTicket.objects.get(pk=plain.pk).raw == {"_id": "b", "code": "JP0002"}
    assert IssuedTicket.objects.get(pk=empty.pk).raw == {"_id": "c", "personal_document_number": ""}
    supplement.refresh_from_db()
    assert supplement.raw["personal_document_number"] == mask_document("Z7654321Q")


@pytest.mark.django_db
def test_saved_searches_by_a_holders_document_number_keep_its_digest():
    f.IssuanceLineFactory(
        document_type="dni", document_number=DOCUMENT, document_digest=document_digest(DOCUMENT)
    )
    owner = f.manager()
    by_document = SavedSearch.objects.create(
        owner=owner, name="Dora", query="q=98765432-w&status=valid&columns=code%2Cemail"
    )
    by_name = SavedSearch.objects.create(owner=owner, name="Ana", query="q=ana&status=valid")
    unknown = SavedSearch.objects.create(owner=owner, name="Other", query="q=11111111H")

    migration.mask_documents_at_rest(apps, None)

    by_document.refresh_from_db()
    params = QueryDict(by_document.query)
    assert "q" not in params
    assert params["doc_digest"] == document_digest(DOCUMENT)
    assert params["status"] == "valid"
    assert params["columns"] == "code,email"
    assert "98765432" not in by_document.query
    # Text that is nobody's document number cannot be told from a name: kept as it was.
    assert SavedSearch.objects.get(pk=by_name.pk).query == "q=ana&status=valid"
    assert SavedSearch.objects.get(pk=unknown.pk).query == "q=11111111H"


@pytest.mark.django_db
def test_a_repaired_saved_search_opens_on_the_holders_tickets(client):
    line = f.IssuanceLineFactory(
        document_type="dni", document_number=DOCUMENT, document_digest=document_digest(DOCUMENT)
    )
    ticket = f.IssuedTicketFactory(line=line)
    other = f.IssuedTicketFactory()
    owner = f.manager()
    saved = SavedSearch.objects.create(owner=owner, name="Dora", query=f"q={DOCUMENT}")
    migration.mask_documents_at_rest(apps, None)
    client.force_login(owner)

    opened = client.get(f"/tickets/saved/{saved.pk}/")
    page = client.get(opened["Location"]).content.decode()

    assert DOCUMENT not in opened["Location"]
    assert ticket.code in page
    assert other.code not in page
