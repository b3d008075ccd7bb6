"""What the issuing-form view tests share: the form's POST data and reading a value back."""

import re
import uuid


def form_data(catalogue, rows, **overrides):
    """The issuing form as a browser posts it: the `catalogue` fixture's choices, `rows` of
    holder fields, anything in `overrides` replacing a field."""
    data = {
        "event": catalogue["event"].pk,
        "rate": catalogue["rate"].pk,
        "price_option": catalogue["option"].pk,
        "attribution": "channel",
        "channel": catalogue["channel"].pk,
        "promoter": "",
        "sale_type": "online",
        "reason": catalogue["reason"].pk,
        "note": "Opening night",
        "idempotency_key": str(uuid.uuid4()),
        "holders-TOTAL_FORMS": str(len(rows)),
        "holders-INITIAL_FORMS": "0",
        "holders-MIN_NUM_FORMS": "1",
        "holders-MAX_NUM_FORMS": "200",
    }
    for i, row in enumerate(rows):
        data.update({f"holders-{i}-{k}": v for k, v in row.items()})
    return {**data, **overrides}


def input_value(html, name):
    """The value of the <input> called `name` in `html`, or None if there is none."""
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None
