"""Request validation helpers that no endpoint test pins down on its own."""

import pytest

from tickets.fourvenues.sandbox.validation import is_valid_email


@pytest.mark.parametrize(
    ("address", "valid"),
    [
        ("ana@example.com", True),
        ("ana.pérez+comps@correo.example.es", True),
        ("o'brien@example.ie", True),
        ("ana@sub.example.co.uk", True),
        ("ana@example", False),
        ("@example.com", False),
        ("ana@", False),
        ("ana@-example.com", False),
        ("ana@example.c", False),
        ("ana@example..com", False),
        (".ana@example.com", False),
        ('"ana"@example.com', False),
        ("ana@123.456", False),
    ],
)
def test_email_check(address, valid):
    assert is_valid_email(address) is valid
