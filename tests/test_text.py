from tickets.text import digits, document_digest, fold, search_text


def test_fold_ignores_case_accents_and_spacing():
    assert fold("  José  PÉREZ ") == "jose perez"


def test_document_digest_ignores_spacing_and_case_and_is_keyed():
    assert document_digest("12.345.678-z") == document_digest("12345678Z")
    assert document_digest("12345678Z") != "12345678Z"
    assert document_digest("") == ""


def test_search_text_holds_folded_parts_and_phone_digits():
    assert search_text("Núria Puig", None, phone="+34 612 34 56 78") == "nuria puig 34612345678"
    assert digits("+34 (612)") == "34612"
