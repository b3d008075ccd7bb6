"""What both export-job test modules set up: a private export directory with a small inline
limit, and issued tickets to export."""

import itertools

from tests import factories as f
from tickets.models import IssuedTicket, LineState

_ids = itertools.count(1)
INLINE_LIMIT = 3  # an XLSX of more rows than this becomes a job


def use_export_dir(settings, tmp_path):
    settings.COMPS_EXPORT_DIR = tmp_path / "exports"  # created by the first build
    settings.COMPS_XLSX_INLINE_LIMIT = INLINE_LIMIT
    settings.COMPS_EXPORT_TTL_HOURS = 24
    return settings.COMPS_EXPORT_DIR


def ticket(issuance, **kwargs) -> IssuedTicket:
    """An issued, mirrored ticket of `issuance`, its line confirmed."""
    n = next(_ids)
    values = {
        "environment": "alpha",
        "remote_id": f"remote-{n}",
        "code": f"CODE{n:04d}",
        "name": f"Holder {n}",
        "email": f"holder{n}@example.com",
        "line": f.IssuanceLineFactory(issuance=issuance, state=LineState.CONFIRMED),
        "event": issuance.event,
    }
    return IssuedTicket.objects.create(**{**values, **kwargs})
