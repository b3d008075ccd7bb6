"""Lists longer than a page (templates/_pagination.html): the links between pages keep the
list's own filter, and say where they are."""

import re

import pytest
from django.urls import reverse

from tests import factories as f
from tests.views.test_reconciliation import a_discrepancy, a_run
from tickets.models import Credential, DiscrepancyKind
from tickets.selectors import audit as audit_selectors
from tickets.services import audit
from tickets.views import issuances, reconciliation

pytestmark = pytest.mark.django_db


def links(response) -> list[tuple[str, str]]:
    """(href, rel) of the previous and next links."""
    return re.findall(
        r'<a class="page-link" href="([^"]+)" rel="(prev|next)"', response.content.decode()
    )


def test_my_issuances_pages_keep_only_mine(client, monkeypatch):
    monkeypatch.setattr(issuances, "ISSUANCES_PER_PAGE", 1)
    boss = f.manager()
    client.force_login(boss)
    f.IssuanceFactory(created_by=boss)
    f.IssuanceFactory(created_by=boss)
    f.IssuanceFactory()  # someone else's: not in "mine"
    url = reverse("issuance-list")
    assert links(client.get(url, {"mine": "1"})) == [("?mine=1&amp;page=2", "next")]
    last = client.get(url, {"mine": "1", "page": "2"})
    assert links(last) == [("?mine=1&amp;page=1", "prev")]
    assert "Page 2 of 2" in last.content.decode()


def test_audit_log_pages_keep_the_filter(client, monkeypatch):
    monkeypatch.setattr(audit_selectors, "AUDIT_PAGE_SIZE", 1)
    client.force_login(f.admin())
    for n in range(2):
        audit.record(action="credential.verified", target=audit.Ref(Credential, n + 1))
    first = client.get(reverse("audit-log"), {"action": "credential"})
    assert links(first) == [("?action=credential&amp;page=2", "next")]
    assert "Newer" not in first.content.decode()
    assert ">Older</a>" in first.content.decode()


def test_runs_and_differences_pages_keep_the_event_and_filters(client, monkeypatch):
    monkeypatch.setattr(reconciliation, "ROWS_PER_PAGE", 1)
    f.CredentialFactory()
    event = f.EventFactory()
    runs = [a_run(event), a_run(event)]
    for n, run in enumerate(runs):
        a_discrepancy(run, DiscrepancyKind.DRIFT, f"remote-{n}")
    client.force_login(f.manager())

    runs_page = client.get(reverse("reconciliation-runs"), {"event": event.pk})
    assert links(runs_page) == [(f"?event={event.pk}&amp;page=2", "next")]
    queue = client.get(reverse("discrepancy-queue"), {"kind": "drift", "page": "2"})
    assert links(queue) == [("?kind=drift&amp;page=1", "prev")]
