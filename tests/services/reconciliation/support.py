"""Shared by the reconciliation tests (and the command's and browser's): a run through the
sandbox, and a planted data set with one difference of every kind."""

from __future__ import annotations

from dataclasses import dataclass

from tests.fixtures.issuing import IssuingSetup
from tickets.models import (
    Discrepancy,
    DiscrepancyState,
    IssuedTicket,
    ReconciliationRun,
    RunTrigger,
)
from tickets.services.reconciliation import runs
from tickets.services.sending import send_pending_lines


def reconcile(setup: IssuingSetup, *, full: bool = True) -> ReconciliationRun:
    run = runs.request_run(event=setup.event, trigger=RunTrigger.COMMAND, full=full, enqueue=False)
    return runs.execute_run(run_id=run.pk)


def issue_through_comps(setup: IssuingSetup, holders: int) -> list[IssuedTicket]:
    issuance = setup.submit(holders)
    send_pending_lines(issuance_id=issuance.pk)
    return list(IssuedTicket.objects.filter(line__issuance=issuance).order_by("line__position"))


def open_discrepancies(kind: str) -> set[str]:
    return set(
        Discrepancy.objects.filter(kind=kind, state=DiscrepancyState.OPEN).values_list(
            "remote_id", flat=True
        )
    )


@dataclass
class Planted:
    checked_in: IssuedTicket
    cancelled: IssuedTicket
    drifted: IssuedTicket
    deleted: IssuedTicket
    untouched: IssuedTicket
    by_hand: dict
    ordinary_sale: dict


def plant(setup: IssuingSetup) -> Planted:
    checked_in, cancelled, drifted, deleted, untouched = issue_through_comps(setup, 5)
    store = setup.sandbox.store
    event_id = setup.event.remote_id
    store.update(checked_in.remote_id, {"enter": 1, "entry_date": 1_800_000_000})
    store.update(cancelled.remote_id, {"status": "cancelled", "refunded": 0})
    store.update(drifted.remote_id, {"name": "Somebody Else"})
    store.delete(deleted.remote_id)
    [by_hand] = store.load(
        [
            {
                "event_id": event_id,
                "rate_id": setup.rate.remote_id,
                "channel_id": setup.channel.remote_id,
                "name": "Issued By Hand",
                "email": "byhand@example.com",
                "personal_document_number": "12345678Z",
            }
        ]
    )
    paid_rate = next(
        rate
        for rate in setup.sandbox.catalogue.rates_for(event_id)
        if rate["_id"] != setup.rate.remote_id
    )
    [ordinary_sale] = store.load(
        [
            {
                "event_id": event_id,
                "rate_id": paid_rate["_id"],
                "channel_id": setup.sandbox.catalogue.channels[0]["_id"],
                "price": 20,
                "total_paid": 20,
                "sale_type": "online",
                "payment_id": "somebody-elses-payment",
                "name": "Paying Customer",
                "email": "customer@example.com",
            }
        ]
    )
    return Planted(checked_in, cancelled, drifted, deleted, untouched, by_hand, ordinary_sale)
