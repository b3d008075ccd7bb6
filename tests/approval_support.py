"""Issuances waiting for approval, built as `services.issuance.submit_issuance` writes them when
an issuance is over an allowance or over the size threshold: lines `pending_approval`, status
`awaiting_approval`, an `ApprovalRequest(state=requested, grounds=[...])` and the audit entry."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django_tasks_db.models import DBTaskResult

from tests import factories
from tickets.models import ApprovalRequest, Issuance, IssuanceStatus, LineState
from tickets.services import audit
from tickets.services.issuance import new_qr_code


def allowance_ground(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "allowance",
        "allowance": 1,
        "holder": "Iris Issuer",
        "people_limit": 10,
        "people_used": 9,
        "people_asked": 3,
        "value_limit": "200.00",
        "value_used": "180.00",
        "value_asked": "60.00",
        **overrides,
    }


def size_ground(*, size: int = 2, holders: int = 3) -> dict[str, Any]:
    return {"kind": "size", "size": size, "holders": holders}


def awaiting_issuance(
    *,
    holders: int = 2,
    requester: User | None = None,
    grounds: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Issuance:
    issuance = factories.IssuanceFactory(
        created_by=requester or factories.issuer(),
        status=IssuanceStatus.AWAITING_APPROVAL,
        **fields,
    )
    for position in range(1, holders + 1):
        factories.IssuanceLineFactory(
            issuance=issuance,
            position=position,
            state=LineState.PENDING_APPROVAL,
            qr_code=new_qr_code(),
        )
    ApprovalRequest.objects.create(
        issuance=issuance, grounds=grounds if grounds is not None else [allowance_ground()]
    )
    audit.record(
        action="approval.requested",
        actor=issuance.created_by,
        target=issuance,
        data={"grounds": grounds or []},
    )
    return issuance


def queued(task: str, *args: Any) -> list[DBTaskResult]:
    """The tasks `tickets.tasks.<task>` queued, with these arguments if given."""
    found = DBTaskResult.objects.filter(task_path=f"tickets.tasks.{task}")
    return [t for t in found if not args or t.args_kwargs["args"] == list(args)]
