"""Odd input in any query parameter or form field gets a page or a message, never a 500.

Each page is asked with one odd value at a time in each parameter it reads: the fields of its
forms, and the few it reads from the request itself. As an admin, who may open every page. This
found a ?page= too big for SQLite's OFFSET, a `next` that redirect() took for a view name, and a
NUL byte that PostgreSQL refused to store.
"""

import itertools

import pytest
from django import forms

from tests import factories as f
from tickets.forms.audit import AuditLogFilterForm
from tickets.forms.credentials import CredentialForm
from tickets.forms.holders import HOLDER_PREFIX, HolderForm
from tickets.forms.holders_csv import CsvImportForm
from tickets.forms.issue import IssuanceForm
from tickets.forms.reconciliation import AcknowledgeDiscrepanciesForm, DiscrepancyFilterForm
from tickets.forms.reports import ReportFilterForm
from tickets.forms.search import SavedSearchForm, TicketSearchForm
from tickets.forms.users import UserCreateForm

pytestmark = pytest.mark.django_db

ODD_VALUES = ["abc", "-1", "99999999999999999999", "2026-13-45", "\x00 ñ" * 300]


def fields(*form_classes: type[forms.Form], prefix: str = "") -> list[str]:
    return [f"{prefix}{name}" for form in form_classes for name in form.base_fields]


HOLDER_FIELDS = [*fields(HolderForm, prefix=f"{HOLDER_PREFIX}-0-"), f"{HOLDER_PREFIX}-TOTAL_FORMS"]
SEARCH_FIELDS = [*fields(TicketSearchForm), "page", "sort", "columns", "format", "documents"]

# What each page reads from its query string.
QUERY_PARAMS = {
    "/issue/": ["key"],
    "/issue/rates/": ["event"],
    "/issue/options/": ["event", "rate"],
    "/issue/row/": ["index", "event", "rate", f"{HOLDER_PREFIX}-TOTAL_FORMS"],
    "/issuances/": ["mine", "page"],
    "/tickets/": SEARCH_FIELDS,
    "/tickets/export/": SEARCH_FIELDS,
    "/audit/": [*fields(AuditLogFilterForm), "page"],
    "/reports/": fields(ReportFilterForm),
    "/reconciliation/runs/": ["event", "page"],
    "/reconciliation/discrepancies/": [*fields(DiscrepancyFilterForm), "page"],
}

# What each form posts.
FORM_FIELDS = {
    "/issue/": fields(IssuanceForm) + HOLDER_FIELDS,
    "/issue/import/": fields(IssuanceForm, CsvImportForm) + HOLDER_FIELDS,
    "/credentials/new/": fields(CredentialForm),
    "/users/new/": fields(UserCreateForm),
    "/catalogue/refresh/": ["next"],
    "/tickets/saved/": fields(SavedSearchForm),
    "/reconciliation/discrepancies/acknowledge/": fields(AcknowledgeDiscrepanciesForm),
}


@pytest.fixture
def catalogued_admin_client(admin_client, alpha_credential, settings):
    # A credential and a catalogue, so the issuing pages go past "nothing to issue with". Its
    # API does not answer: a catalogue refresh fails at once, with a message, not after retries.
    settings.FOURVENUES_GET_RETRIES = 0
    f.PriceOptionFactory()
    return admin_client


def test_odd_query_parameters_never_give_a_server_error(catalogued_admin_client):
    failures = [
        (page, param, value[:12], status)
        for page, params in QUERY_PARAMS.items()
        for param, value in itertools.product(params, ODD_VALUES)
        if (status := catalogued_admin_client.get(page, {param: value}).status_code) >= 500
    ]
    assert failures == []


def test_odd_form_fields_never_give_a_server_error(catalogued_admin_client):
    failures = [
        (url, field, value[:12], status)
        for url, names in FORM_FIELDS.items()
        for field, value in itertools.product(names, ODD_VALUES)
        if (status := catalogued_admin_client.post(url, {field: value}).status_code) >= 500
    ]
    assert failures == []
