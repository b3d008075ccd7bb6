"""The reviewed draft: its types, its encrypted round trip through the session, its warnings,
and the one plan of how holders become calls.

Between the issuing form and the confirm button the request lives in the session as an
`IssuanceDraft`, encrypted (never in hidden fields the browser could alter after review). The
forms build it, the review page shows it, `services.issuance.submit_issuance` writes it to the
ledger and `services.sending` sends its lines in the calls `split_into_calls` plans.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tickets.fields import DecryptionError, decrypt, encrypt
from tickets.models import Event, PriceOption
from tickets.text import fold

T = TypeVar("T")

SESSION_DRAFTS = "issuance_drafts"
# A draft holds up to 200 holders' personal data: keep only the few most recent in the session.
MAX_SESSION_DRAFTS = 5


# --- The draft -----------------------------------------------------------------------------------


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
    # The language of the guest's messages and page ("" for the venue's, LANGUAGE_CODE).
    language: str = ""


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
    # How the tickets reach their guests (`DeliveryMode`); defaulted so that drafts stored in a
    # session before it existed still load.
    delivery_mode: str = "comps"
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # The form's row numbers (from 1) of the rows left blank and so not issued: the review names
    # them, so that no row goes missing unseen.
    blank_rows: tuple[int, ...] = field(default=(), compare=False)

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
                "blank_rows": tuple(data.get("blank_rows", ())),
            }
        )


# --- In the session ------------------------------------------------------------------------------


def _drafts(session: SessionBase) -> dict[str, str]:
    return session.get(SESSION_DRAFTS, {})


def load_draft(session: SessionBase, key: uuid.UUID) -> IssuanceDraft | None:
    """The draft stored under `key`, or None when there is none or it can no longer be read."""
    token = _drafts(session).get(str(key))
    if token is None:
        return None
    try:
        return IssuanceDraft.from_session(json.loads(decrypt(token)))
    except (DecryptionError, ValueError, KeyError, TypeError):
        # A draft from before a key rotation or an older format: as good as expired.
        return None


def store_draft(session: SessionBase, key: uuid.UUID, draft: IssuanceDraft) -> None:
    """Keep the draft in the session, encrypted: it holds names, emails and document numbers,
    which the ledger also keeps encrypted (document numbers) once confirmed."""
    drafts = {k: v for k, v in _drafts(session).items() if k != str(key)}
    drafts[str(key)] = encrypt(json.dumps(draft.to_session()))
    # Dicts keep insertion order (JSON too): the oldest drafts go first.
    while len(drafts) > MAX_SESSION_DRAFTS:
        drafts.pop(next(iter(drafts)))
    session[SESSION_DRAFTS] = drafts


def discard_draft(session: SessionBase, key: uuid.UUID) -> None:
    """Forget the draft (once confirmed, the ledger has the holders)."""
    drafts = dict(_drafts(session))
    if drafts.pop(str(key), None) is not None:
        session[SESSION_DRAFTS] = drafts


def draft_digest(draft: IssuanceDraft) -> str:
    """A fingerprint of exactly what a review page showed. The confirm button carries it back, so
    a draft replaced since (the same form re-submitted in another tab) no longer matches and is
    shown for review instead of being issued unseen.

    Keyed with the site's secret (HMAC) so that, although it sits in the page, it tells nothing
    about the holders it covers. The warnings and blank rows are left out: they are derived from
    the rest (and a removal on the review page changes the holders, hence the digest).
    """
    data = draft.to_session()
    data.pop("warnings", None)
    data.pop("blank_rows", None)
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return salted_hmac("tickets.drafts.draft_digest", canonical, algorithm="sha256").hexdigest()


def was_reviewed(draft: IssuanceDraft, digest: str | None) -> bool:
    """Whether `digest` (posted by a review page's confirm button) is that of `draft`."""
    return bool(digest) and constant_time_compare(digest, draft_digest(draft))


# --- Warnings ------------------------------------------------------------------------------------


def age_on(birthday: dt.date, day: dt.date) -> int:
    return day.year - birthday.year - ((day.month, day.day) < (birthday.month, birthday.day))


@dataclass(frozen=True)
class BatchWarning:
    """One thing of the batch that deserves a second look, about the holder numbered `row` (from
    1, in the draft's order); the review page highlights that row and links to it."""

    row: int
    message: str
    kind: str  # "duplicate_email", "duplicate_name" or "under_age"

    def __str__(self) -> str:
        return self.message


def batch_warnings(
    holders: Sequence[HolderData], price_option: PriceOption, event: Event
) -> list[BatchWarning]:
    """What deserves a second look but may be right: the same holder twice, a holder under the
    option's minimum age on the event night. Rows are numbered from 1 in `holders` order."""
    warnings: list[BatchWarning] = []
    first_by_email: dict[str, int] = {}
    first_by_name: dict[str, int] = {}
    for number, holder in enumerate(holders, start=1):
        if holder.email in first_by_email:
            message = _(
                "Row %(row)s has the same email as row %(first)s (%(email)s): the same person "
                "would get two tickets."
            ) % {"row": number, "first": first_by_email[holder.email], "email": holder.email}
            warnings.append(BatchWarning(number, message, "duplicate_email"))
        else:
            first_by_email[holder.email] = number
        name = fold(holder.full_name)
        if name in first_by_name:
            message = _("Row %(row)s has the same name as row %(first)s (%(name)s).") % {
                "row": number,
                "first": first_by_name[name],
                "name": holder.full_name,
            }
            warnings.append(BatchWarning(number, message, "duplicate_name"))
        else:
            first_by_name[name] = number

    min_age = price_option.min_age or event.min_age
    if min_age:
        for number, holder in enumerate(holders, start=1):
            if holder.birthday and age_on(holder.birthday, event.night) < min_age:
                message = _(
                    "Row %(row)s (%(name)s) will be %(age)s on %(night)s, under this option's "
                    "minimum age of %(min_age)s."
                ) % {
                    "row": number,
                    "name": holder.full_name,
                    "age": age_on(holder.birthday, event.night),
                    "night": date_format(event.night, "DATE_FORMAT"),
                    "min_age": min_age,
                }
                warnings.append(BatchWarning(number, message, "under_age"))
    return warnings


def without_row(
    draft: IssuanceDraft, row: int, *, price_option: PriceOption, event: Event
) -> IssuanceDraft:
    """The draft without its holder numbered `row` (from 1), its warnings worked out again for
    the holders left. Its digest changes, so the confirm button of the review shown before the
    removal no longer matches it."""
    holders = draft.holders[: row - 1] + draft.holders[row:]
    warnings = batch_warnings(holders, price_option, event)
    return replace(draft, holders=holders, warnings=tuple(str(w) for w in warnings))


# --- Calls ---------------------------------------------------------------------------------------


def split_into_calls(items: Sequence[T]) -> list[list[T]]:
    """`items` in the order they are sent, one list per create call to Fourvenues
    (`FOURVENUES_TICKETS_PER_CALL` at most in each). The review page counts these calls and the
    worker sends them, so what the issuer is told is what happens."""
    size = settings.FOURVENUES_TICKETS_PER_CALL
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def api_call_count(holder_count: int) -> int:
    """How many create calls `holder_count` holders take."""
    return len(split_into_calls(range(holder_count)))
