"""The search box, posted by the page's script when its term could be a document number: a
holder's number is searched by token, never put in an address; anything else goes on as the
ordinary search."""

import pytest
from django.urls import reverse

from tests import factories as f
from tickets.text import document_digest

DOCUMENT = "12345678Z"


@pytest.fixture
def holder(db):
    line = f.IssuanceLineFactory(
        state="confirmed",
        document_type="dni",
        document_number=DOCUMENT,
        document_digest=document_digest(DOCUMENT),
    )
    return f.IssuedTicketFactory(line=line, name="Dora Canary")


def test_a_holders_document_number_is_searched_by_token(manager_client, holder):
    response = manager_client.post(
        reverse("ticket-search-document"), {"q": DOCUMENT, "status": "valid"}
    )
    assert response.status_code == 302
    location = response["Location"]
    assert "12345678" not in location.upper()
    assert "doc=" in location
    assert "status=valid" in location  # the other filters go along
    page = manager_client.get(location).content.decode()
    assert "Dora Canary" in page
    assert "12345678" not in page.upper()


def test_other_terms_go_on_as_the_ordinary_search(manager_client, holder):
    response = manager_client.post(reverse("ticket-search-document"), {"q": "600 123 456"})
    assert response.status_code == 302
    assert response["Location"] == reverse("ticket-search") + "?q=600+123+456"


def test_an_issuer_cannot_learn_whose_number_it_is(issuer_client, holder):
    # Someone else's holder: for this issuer it is no document number, an ordinary search.
    response = issuer_client.post(reverse("ticket-search-document"), {"q": DOCUMENT})
    assert "doc=" not in response["Location"]
