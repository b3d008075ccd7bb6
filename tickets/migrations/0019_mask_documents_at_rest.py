"""No full document number at rest outside the ledger line's encrypted field (issue 13, 4.1).

Until now the mirror kept Fourvenues' answer as it came, `personal_document_number` and all, in
`IssuedTicket.raw` (and a supplement's `raw`), and a saved search kept the search box as typed,
a document number included. This repairs the rows already written, as the code now writes them:

- every value under a key naming a document number (`personal_document_number`, at any depth)
  is masked as staff see it (`tickets.redaction.mask_document`: "•••43W");
- a saved search whose `q` is the full document number of a holder Comps issued to (its digest
  is on a ledger line) keeps that number's digest instead (`doc_digest=<digest>`, what a search
  by document number is saved as, `tickets.services.search.stored_query`). A `q` that matches no
  holder's document cannot be told from any other text and is kept.

Masking cannot be undone: going back leaves the rows masked.
"""

import re
from typing import Any

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps
from django.db.models import Model, TextField
from django.db.models.functions import Cast
from django.http import QueryDict

from tickets.redaction import mask_document
from tickets.text import document_digest, normalise_document

DOCUMENT_KEY = re.compile(r"document_number", re.IGNORECASE)
DOCUMENT_MIN_LENGTH = 5  # tickets.selectors.search.DOCUMENT_MIN_LENGTH when this was written
DIGEST_PARAM = "doc_digest"
BATCH = 1000


def masked(data: Any) -> Any:
    """`data` with every document number masked (the mirror's `raw_without_documents`, frozen
    here as it was)."""
    if isinstance(data, dict):
        return {
            key: (
                mask_document(str(value))
                if DOCUMENT_KEY.search(str(key)) and value not in (None, "")
                else masked(value)
            )
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [masked(item) for item in data]
    return data


def _mask_raw(model: type[Model]) -> None:
    # Only rows whose JSON names a document number are read (a text search in the database);
    # their ids first, so no write lands in a table being read (SQLite has no isolation there).
    pks = list(
        model.objects.annotate(raw_text=Cast("raw", TextField()))
        .filter(raw_text__icontains="document_number")
        .values_list("pk", flat=True)
    )
    for start in range(0, len(pks), BATCH):
        rows = list(model.objects.filter(pk__in=pks[start : start + BATCH]).only("pk", "raw"))
        changed = []
        for row in rows:
            clean = masked(row.raw)
            if clean != row.raw:
                row.raw = clean
                changed.append(row)
        model.objects.bulk_update(changed, ["raw"])


def _digest_saved_searches(apps: StateApps) -> None:
    SavedSearch = apps.get_model("tickets", "SavedSearch")
    IssuanceLine = apps.get_model("tickets", "IssuanceLine")
    for saved in list(SavedSearch.objects.filter(query__contains="q=")):
        params = QueryDict(saved.query, mutable=True)
        term = params.get("q", "")
        if len(normalise_document(term)) < DOCUMENT_MIN_LENGTH:
            continue
        digest = document_digest(term)
        if not IssuanceLine.objects.filter(document_digest=digest).exists():
            continue
        params.pop("q")
        params[DIGEST_PARAM] = digest
        saved.query = params.urlencode()
        saved.save(update_fields=["query"])


def mask_documents_at_rest(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    _mask_raw(apps.get_model("tickets", "IssuedTicket"))
    _mask_raw(apps.get_model("tickets", "TicketSupplement"))
    _digest_saved_searches(apps)


class Migration(migrations.Migration):
    dependencies = [("tickets", "0018_audit_one_target_format")]

    operations = [
        migrations.RunPython(mask_documents_at_rest, migrations.RunPython.noop, elidable=False)
    ]
