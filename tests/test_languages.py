"""Spanish and English: how the language is chosen, and that the Spanish catalogue is whole.

The page-by-page check that no English is left on a Spanish page is in
tests/test_spanish_pages.py."""

from __future__ import annotations

import re
from pathlib import Path

import polib
from django.conf import settings
from django.urls import reverse

from tickets.models import UserPreferences

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"
COMPILED = CATALOGUE.with_suffix(".mo")


# --- Choosing the language


def test_with_no_choice_and_no_browser_language_pages_are_in_the_venues_language(
    client, settings, db
):
    settings.LANGUAGE_CODE = "es"
    html = client.get(reverse("login")).content.decode()
    assert '<html lang="es">' in html
    assert "Iniciar sesión" in html


def test_the_browsers_language_decides_when_the_person_chose_none(issuer_client):
    spanish = issuer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9")
    english = issuer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert '<html lang="es">' in spanish.content.decode()
    assert "Cerrar sesión" in spanish.content.decode()
    assert '<html lang="en">' in english.content.decode()
    assert "Log out" in english.content.decode()


def test_a_language_the_product_lacks_falls_back_to_the_default(issuer_client):
    html = issuer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="de-DE,de").content.decode()
    assert '<html lang="en">' in html  # the tests' default; the venue's is Spanish


def test_the_switch_saves_the_choice_on_the_person(issuer_client, issuer):
    response = issuer_client.post(
        reverse("switch-language"), {"language": "es", "next": reverse("issuance-list")}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("issuance-list")
    assert UserPreferences.objects.get(user=issuer).language == "es"
    # The choice beats the browser's English from now on.
    html = issuer_client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="es">' in html


def test_the_saved_choice_follows_the_person_to_another_computer(client, issuer):
    UserPreferences.objects.create(user=issuer, language="es")
    client.force_login(issuer)  # a fresh browser: no cookie, English first
    html = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="es">' in html


def test_on_the_login_page_the_switch_remembers_the_choice_in_a_cookie(client, db):
    response = client.post(reverse("switch-language"), {"language": "es", "next": reverse("login")})
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "es"
    html = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Iniciar sesión" in html


def test_an_unknown_language_changes_nothing(issuer_client, issuer):
    response = issuer_client.post(reverse("switch-language"), {"language": "xx", "next": "/"})
    assert response.status_code == 302
    assert not UserPreferences.objects.filter(user=issuer).exists()
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


def test_the_switch_never_sends_anyone_off_the_site(client, db):
    response = client.post(
        reverse("switch-language"), {"language": "es", "next": "https://evil.example/"}
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]


def test_dates_and_money_follow_the_language():
    import datetime as dt
    from decimal import Decimal

    from django.template import Context, Template
    from django.utils import translation

    template = Template('{% load comps %}{{ when|date:"DATE_FORMAT" }} · {{ amount|money }}')
    context = Context({"when": dt.date(2026, 8, 14), "amount": Decimal("1234.5")})
    with translation.override("es"):
        assert template.render(context) == "14 Ago 2026 · 1.234,50\u00a0€"
    with translation.override("en"):
        assert template.render(context) == "14 Aug 2026 · 1,234.50\u00a0€"


# --- The catalogue


def _entries() -> list[polib.POEntry]:
    return [entry for entry in polib.pofile(str(CATALOGUE)) if not entry.obsolete]


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%\([a-z_]+\)[sd]|%[sd]|\{[a-z_]*\}", text))


def _tags(text: str) -> list[str]:
    return sorted(re.findall(r"<[^>]+>", text))


def test_every_string_has_a_spanish_translation():
    untranslated = [
        entry.msgid
        for entry in _entries()
        if not (entry.msgstr or all(entry.msgstr_plural.values()))
        or (entry.msgid_plural and not all(entry.msgstr_plural.values()))
    ]
    assert untranslated == []


def test_no_translation_is_fuzzy():
    assert [entry.msgid for entry in _entries() if "fuzzy" in entry.flags] == []


def test_translations_keep_every_placeholder_and_tag():
    broken = []
    for entry in _entries():
        translations = (
            [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        )
        for translation in filter(None, translations):  # empty ones fail the test above
            # A plural's singular may say "one" in words instead of its number.
            source = entry.msgid_plural or entry.msgid
            expected = set(_placeholders(source)) | set(_placeholders(entry.msgid))
            if not set(_placeholders(translation)) <= expected or _tags(translation) != _tags(
                source
            ):
                broken.append((entry.msgid, translation))
    assert broken == []


def test_the_compiled_catalogue_is_the_committed_one():
    """The .mo in git is what Django reads: it must say exactly what the .po says
    (`make messages` compiles it)."""
    compiled = {(e.msgctxt, e.msgid): e for e in polib.mofile(str(COMPILED))}
    for entry in _entries():
        assert (entry.msgctxt, entry.msgid) in compiled, entry.msgid
        mo_entry = compiled[(entry.msgctxt, entry.msgid)]
        if entry.msgid_plural:
            assert {int(k): v for k, v in mo_entry.msgstr_plural.items()} == {
                int(k): v for k, v in entry.msgstr_plural.items()
            }, entry.msgid
        else:
            assert mo_entry.msgstr == entry.msgstr, entry.msgid
