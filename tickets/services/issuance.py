"""Issuing comps: the ledger is written before any call, and a create is never sent twice.

The flow (design.md, "The one rule that shapes everything"):

1. `submit_issuance` turns a reviewed draft into an `Issuance` with one `IssuanceLine` per holder,
   keyed by the idempotency key minted when the form was first rendered, and enqueues the
   sending task in the same transaction. A second submit with the same key finds the same row.
2. `send_pending_lines` (run by the worker) claims lines in chunks, marks them `sending`, commits,
   and only then calls Fourvenues. The answer settles each line: `confirmed` (ticket mirrored),
   `failed` (refused: safe to retry) or `unknown` (may exist remotely: the resolver decides).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class SupplementLine:
    supplement_id: str
    label: str
    price: Decimal


@dataclass(frozen=True)
class HolderData:
    """One ticket holder, already validated and normalised (email lowercased, phone E.164)."""

    full_name: str
    email: str
    phone: str = ""
    gender: str = ""
    birthday: dt.date | None = None
    address: str = ""
    country: str = ""  # ISO 3166-1 alpha-2
    postal_code: str = ""
    document_type: str = ""
    document_number: str = ""
    supplements: tuple[SupplementLine, ...] = ()


@dataclass(frozen=True)
class IssuanceDraft:
    """What the issuer asked for, between the form and the confirm button (kept in the session).

    Ids are local primary keys of the catalogue mirror and of `Reason`.
    """

    event_id: int
    rate_id: int
    price_option_id: int
    reason_id: int
    sale_type: str
    holders: tuple[HolderData, ...]
    channel_id: int | None = None
    promoter_id: int | None = None
    note: str = ""
    total_price: Decimal = Decimal("0")
    fee: Decimal = Decimal("0")
    warnings: tuple[str, ...] = field(default=(), compare=False)

    def to_session(self) -> dict[str, Any]:
        """A JSON-safe dict (the session serialiser is JSON)."""

        def plain(value: Any) -> Any:
            if isinstance(value, Decimal):
                return str(value)
            if isinstance(value, dt.date):
                return value.isoformat()
            if isinstance(value, dict):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            return value

        return plain(asdict(self))

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> IssuanceDraft:
        holders = tuple(
            HolderData(
                **{
                    **holder,
                    "birthday": dt.date.fromisoformat(holder["birthday"])
                    if holder.get("birthday")
                    else None,
                    "supplements": tuple(
                        SupplementLine(
                            supplement_id=s["supplement_id"],
                            label=s["label"],
                            price=Decimal(s["price"]),
                        )
                        for s in holder.get("supplements", ())
                    ),
                }
            )
            for holder in data["holders"]
        )
        return cls(
            **{
                **data,
                "holders": holders,
                "total_price": Decimal(data.get("total_price", "0")),
                "fee": Decimal(data.get("fee", "0")),
                "warnings": tuple(data.get("warnings", ())),
            }
        )
