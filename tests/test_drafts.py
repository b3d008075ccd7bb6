"""The reviewed draft (tickets/drafts.py): its session round trip, its warnings, its calls."""

import datetime as dt
import json
import uuid
from decimal import Decimal

import pytest
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.utils import timezone, translation
from django.utils.formats import date_format

from tests import factories as f
from tickets.drafts import (
    MAX_SESSION_DRAFTS,
    SESSION_DRAFTS,
    HolderData,
    IssuanceDraft,
    SupplementLine,
    api_call_count,
    batch_warnings,
    discard_draft,
    draft_digest,
    load_draft,
    split_into_calls,
    store_draft,
    was_reviewed,
    without_row,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    option = f.PriceOptionFactory(min_age=18)
    return {"event": option.rate.event, "option": option}


def a_draft(**overrides):
    fields = {
        "event_id": 1,
        "rate_id": 2,
        "price_option_id": 3,
        "reason_id": 4,
        "sale_type": "online",
        "holders": (HolderData(full_name="Ana Pérez", email="ana@example.com"),),
    }
    return IssuanceDraft(**{**fields, **overrides})


# --- The draft and the session -------------------------------------------------------------------


def test_a_draft_survives_the_json_session_round_trip():
    draft = IssuanceDraft(
        event_id=1,
        rate_id=2,
        price_option_id=3,
        reason_id=4,
        sale_type="online",
        channel_id=5,
        note="Opening night",
        holders=(
            HolderData(
                full_name="Ana Pérez",
                email="ana@example.com",
                birthday=dt.date(1990, 5, 17),
                supplements=(
                    SupplementLine(supplement_id="s1", label="Drink", price=Decimal("5.50")),
                ),
            ),
            HolderData(full_name="Bo", email="bo@example.com"),
        ),
        warnings=("Ana Pérez appears twice",),
    )
    restored = IssuanceDraft.from_session(json.loads(json.dumps(draft.to_session())))
    assert restored == draft
    assert restored.warnings == draft.warnings


def test_a_stored_draft_is_encrypted_and_loads_back():
    session = SessionStore()
    key = uuid.uuid4()
    draft = a_draft(note="Opening night")
    store_draft(session, key, draft)
    token = session[SESSION_DRAFTS][str(key)]
    assert "Ana" not in token
    assert load_draft(session, key) == draft


def test_a_missing_or_unreadable_draft_loads_as_none():
    session = SessionStore()
    key = uuid.uuid4()
    assert load_draft(session, key) is None
    session[SESSION_DRAFTS] = {str(key): "not a token"}
    assert load_draft(session, key) is None


def test_only_the_latest_drafts_are_kept_and_a_discarded_one_is_gone():
    session = SessionStore()
    keys = [uuid.uuid4() for _ in range(MAX_SESSION_DRAFTS + 2)]
    for key in keys:
        store_draft(session, key, a_draft())
    assert list(session[SESSION_DRAFTS]) == [str(k) for k in keys[-MAX_SESSION_DRAFTS:]]
    discard_draft(session, keys[-1])
    assert load_draft(session, keys[-1]) is None
    assert load_draft(session, keys[-2]) is not None


def test_the_digest_of_a_draft_survives_the_session_and_changes_with_what_it_holds():
    session = SessionStore()
    key = uuid.uuid4()
    draft = a_draft(note="Opening night")
    store_draft(session, key, draft)
    digest = draft_digest(draft)
    assert draft_digest(load_draft(session, key)) == digest
    assert was_reviewed(load_draft(session, key), digest)
    # Warnings are derived from the rest: they do not change what was reviewed.
    assert draft_digest(a_draft(note="Opening night", warnings=("w",))) == digest
    other = a_draft(
        note="Opening night",
        holders=(
            HolderData(full_name="Ana Pérez", email="ana@example.com"),
            HolderData(full_name="Bo Li", email="bo@example.com"),
        ),
    )
    assert not was_reviewed(other, digest)
    assert not was_reviewed(draft, "")
    assert not was_reviewed(draft, None)
    # Keyed: the holders cannot be guessed back from a digest in the page.
    assert "ana" not in digest


def test_the_digest_is_keyed_by_the_sites_secret(settings):
    draft = a_draft()
    digest = draft_digest(draft)
    settings.SECRET_KEY = "another-secret-entirely"
    assert draft_digest(draft) != digest


# --- Warnings ------------------------------------------------------------------------------------


def test_the_same_holder_twice_is_a_warning(catalogue):
    holders = [
        HolderData(full_name="José Pérez", email="jose@example.com"),
        HolderData(full_name="Ana", email="jose@example.com"),
        HolderData(full_name="jose  perez", email="other@example.com"),
    ]
    warnings = batch_warnings(holders, catalogue["option"], catalogue["event"])
    assert len(warnings) == 2
    assert "Row 2 has the same email as row 1" in warnings[0].message
    assert "Row 3 has the same name as row 1" in warnings[1].message
    # Each points at its row, so the review page can highlight it and link to it.
    assert [(w.row, w.kind) for w in warnings] == [(2, "duplicate_email"), (3, "duplicate_name")]


def test_a_holder_under_the_options_minimum_age_on_the_night_is_a_warning():
    night = dt.date(timezone.localdate().year + 1, 6, 15)
    option = f.PriceOptionFactory(min_age=18, rate__event__night=night)
    turns_18_on_the_night = dt.date(night.year - 18, 6, 15)
    turns_18_next_day = turns_18_on_the_night + dt.timedelta(days=1)
    holders = [
        HolderData(full_name="Old enough", email="a@example.com", birthday=turns_18_on_the_night),
        HolderData(full_name="Too young", email="b@example.com", birthday=turns_18_next_day),
        HolderData(full_name="No birthday", email="c@example.com"),
    ]
    warnings = batch_warnings(holders, option, option.rate.event)
    assert len(warnings) == 1
    assert "Row 2 (Too young) will be 17" in warnings[0].message
    assert "minimum age of 18" in warnings[0].message
    assert (warnings[0].row, warnings[0].kind) == (2, "under_age")


def test_no_minimum_age_means_no_age_warning(catalogue):
    option = f.PriceOptionFactory(min_age=None)
    holders = [HolderData(full_name="Kid", email="k@example.com", birthday=dt.date(2020, 1, 1))]
    assert batch_warnings(holders, option, option.rate.event) == []


def test_a_warning_in_spanish_names_the_night_in_spanish():
    night = dt.date(timezone.localdate().year + 1, 6, 15)
    option = f.PriceOptionFactory(min_age=18, rate__event__night=night)
    holders = [
        HolderData(full_name="Kid", email="k@example.com", birthday=dt.date(night.year - 10, 1, 1))
    ]
    with translation.override("es"):
        (warning,) = batch_warnings(holders, option, option.rate.event)
        night_in_spanish = date_format(night, "DATE_FORMAT")
    assert warning.message.startswith("La fila 1 (Kid) tendrá 10 años el ")
    assert night_in_spanish in warning.message  # the venue's date format, not "%d %b %Y"


# --- Removing a row on the review ----------------------------------------------------------------


def test_removing_a_row_drops_that_holder_rechecks_warnings_and_changes_the_digest(catalogue):
    ana = HolderData(full_name="Ana", email="ana@example.com")
    bo = HolderData(full_name="Bo", email="bo@example.com")
    draft = a_draft(holders=(ana, bo, ana), warnings=("Row 3 has the same email as row 1",))
    smaller = without_row(draft, 3, price_option=catalogue["option"], event=catalogue["event"])
    assert smaller.holders == (ana, bo)
    assert smaller.warnings == ()
    assert draft_digest(smaller) != draft_digest(draft)
    assert without_row(
        draft, 1, price_option=catalogue["option"], event=catalogue["event"]
    ).holders == (bo, ana)


def test_the_blank_rows_survive_the_session_but_not_the_digest():
    draft = a_draft(blank_rows=(2, 5))
    assert IssuanceDraft.from_session(json.loads(json.dumps(draft.to_session()))).blank_rows == (
        2,
        5,
    )
    assert draft_digest(draft) == draft_digest(a_draft())


# --- Calls ---------------------------------------------------------------------------------------


def test_holders_are_split_into_calls_of_the_configured_size_in_order(settings):
    settings.FOURVENUES_TICKETS_PER_CALL = 3
    assert split_into_calls([1, 2, 3, 4, 5, 6, 7]) == [[1, 2, 3], [4, 5, 6], [7]]
    assert split_into_calls([]) == []
    assert [api_call_count(n) for n in (0, 1, 3, 4, 7)] == [0, 1, 1, 2, 3]
