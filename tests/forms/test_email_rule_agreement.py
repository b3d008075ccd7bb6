"""The holder form and the sandbox refuse the same email addresses (issue 13, §4.7).

The rule is written twice, because the sandbox imports nothing of the app: in the holder form
(`tickets.forms.holders.fourvenues_email_problem`, behind Django's own EmailField) and in the
sandbox's create validation (`sandbox.validation.is_valid_email`). If they drifted, the product
would let through an address the sandbox refuses (a failed line after Confirm, the very bug) or
refuse one it takes. Each address goes to both, as each receives it.
"""

import pytest

from tickets.forms.holders import HolderForm
from tickets.fourvenues.sandbox.validation import is_valid_email

ADDRESSES = [
    # Taken by both.
    "ana@example.com",
    "ana.perez+comps@correo.example.es",
    "o'brien@example.ie",
    "ana@sub.example.co.uk",
    "a_b-c@x-y.example.museum",
    "ana@xn--bcher-kva.de",
    "!#$%&*/=?^`{|}~@example.com",
    "a" * 64 + "@example.com",
    "ana@" + "d" * 63 + ".com",
    # Seen refused by Fourvenues, taken by Django.
    "ana@localhost",
    "ana@bücher.de",
    # The same family, taken by Django too.
    "ana.pérez@example.es",
    "ана@example.com",
    "ana@例え.jp",
    "ana@[192.168.1.10]",
    "ana@[IPv6:2001:db8::1]",
    '"ana"@example.com',
    '"ana pérez"@example.com',
    "ana@example.xn--p1ai",
    # Refused by Django already.
    "ana@",
    "@example.com",
    "ana",
    "ana@@example.com",
    "ana@example",
    "ana@-example.com",
    "ana@example-.com",
    "ana@example.c",
    "ana@example..com",
    ".ana@example.com",
    "ana.@example.com",
    "an..a@example.com",
    "ana@123.456",
    "ana@example.c0m",
    "ana@exa_mple.com",
    "ana pérez@example.com",
    "ana@example.com.",
    "a" * 65 + "@example.com",
    "ana@" + "d" * 64 + ".com",
    "ana@" + "d" * 250 + ".com",
]


def _form_takes(address: str) -> bool:
    form = HolderForm(data={"full_name": "Ana Pérez", "email": address})
    return form.is_valid()


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_holder_form_and_the_sandbox_agree(address):
    form_takes = _form_takes(address)
    # The sandbox receives what the form cleaned (lowercased); the rule ignores case anyway.
    assert is_valid_email(address.lower()) is form_takes
    assert is_valid_email(address) is form_takes


def test_the_list_holds_both_kinds():
    taken = [address for address in ADDRESSES if is_valid_email(address)]
    assert 5 < len(taken) < len(ADDRESSES) - 5
    assert not is_valid_email("ana@localhost")
    assert not is_valid_email("ana@bücher.de")
