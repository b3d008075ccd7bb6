"""The axe helper fails on what it exists to catch, and passes a clean page."""

import pytest
from playwright.sync_api import Page

from tests.browser.accessibility import Audit, assert_accessible

CLEAN = (
    '<!doctype html><html lang="es"><head><title>Limpia</title></head>'
    '<body><main><h1>Limpia</h1><label for="n">Nombre</label><input id="n"></main></body></html>'
)
UNLABELLED = CLEAN.replace('<label for="n">Nombre</label>', "")


@pytest.mark.browser
def test_a_field_without_a_label_fails_the_test_and_is_listed(page: Page) -> None:
    page.set_content(UNLABELLED)
    with pytest.raises(AssertionError) as failure:
        assert_accessible(page, "unlabelled")
    assert "label" in str(failure.value)
    assert "#n" in str(failure.value)  # the node, so the failure says where to look


@pytest.mark.browser
def test_a_clean_page_passes_and_an_audit_gathers_every_page(page: Page) -> None:
    page.set_content(CLEAN)
    assert_accessible(page, "clean")
    audit = Audit()
    audit.check(page, "clean")
    page.set_content(UNLABELLED)
    audit.check(page, "unlabelled")
    assert audit.scanned == 2
    assert {violation.where for violation in audit.found} == {"unlabelled"}
