import datetime as dt
from decimal import Decimal

from tickets.services.issuance import HolderData, IssuanceDraft, SupplementLine


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
    import json

    restored = IssuanceDraft.from_session(json.loads(json.dumps(draft.to_session())))
    assert restored == draft
    assert restored.warnings == draft.warnings
