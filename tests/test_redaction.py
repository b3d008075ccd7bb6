"""One redactor for everything written down: call records, the audit log, pages."""

from tickets.redaction import SECRET_MASK, mask_document, redact


def test_redact_masks_secrets_and_document_numbers_at_any_depth():
    cleaned = redact(
        {
            "api_key": "ik_live_abc",
            "nested": [{"secret": "s3cr3t", "personal_document_number": "12345678Z"}],
            "name": "Ana",
        }
    )
    assert cleaned == {
        "api_key": "[redacted]",
        "nested": [{"secret": "[redacted]", "personal_document_number": "•••78Z"}],
        "name": "Ana",
    }


def test_redact_knows_headers_and_spellings_and_leaves_empty_values_visible():
    cleaned = redact(
        {
            "X-Api-Key": "k",
            "apikey": "k",
            "Authorization": "Basic abc",
            "new_password": "p",
            "refresh_token": "t",
            "secret": "",
            "document_number": 12345678,
            "personal_document_number": None,
        }
    )
    assert cleaned == {
        "X-Api-Key": SECRET_MASK,
        "apikey": SECRET_MASK,
        "Authorization": SECRET_MASK,
        "new_password": SECRET_MASK,
        "refresh_token": SECRET_MASK,
        "secret": "",  # nothing stored: nothing to hide, and the emptiness is worth seeing
        "document_number": "•••678",
        "personal_document_number": None,
    }


def test_redact_returns_a_copy():
    original = {"secret": "s", "items": [{"secret": "t"}]}
    redact(original)
    assert original == {"secret": "s", "items": [{"secret": "t"}]}


def test_a_document_shows_only_its_last_three_characters_behind_a_fixed_mask():
    assert mask_document("12345678Z") == "•••78Z"
    assert mask_document("AB1") == "•••"  # a short value would show whole
    assert mask_document("") == ""
