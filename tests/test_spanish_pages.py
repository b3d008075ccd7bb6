"""Every page, opened in Spanish by someone who may open it, holds no English.

"English" is what the product itself writes in English: every word of its own source strings
(the msgids of the catalogue) that its Spanish never uses, and common English words. Data (the
test world's names, codes) and names that stay as they are (Fourvenues, CSV...) are allowed.
A page that shows a string nobody marked for translation fails here, with the words found."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.urls import reverse

from tests import factories
from tests.test_url_matrix import ADMIN, ANON, ISSUER, MANAGER, MATRIX, build_world
from tickets.models import Reason

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "es" / "LC_MESSAGES" / "django.po"

# Names and words that are the same in both languages, or are not words of ours.
ALLOWED = {
    "comps",
    "fourvenues",
    "csv",
    "qr",
    "pdf",
    "api",
    "excel",
    "alpha",
    "sandbox",
    "english",
    "español",
    "id",
    "url",
    "e-mail",
    "email",
    "x-api-key",
    "v1",
    "v2",
    "ok",
    "iban",
    "dni",
    "nie",
    "rrpp",
    "manage.py",
    "reconcile",
    "json",
    "utf-8",
    "bom",
    "xlsx",
    "http",
    "https",
    "online",
    "web",
    "total",
    "no",
    "general",
    "error",
    "local",
    "normal",
    "club",
    "hotel",
}
# Common English words that are no Spanish words, whatever the catalogue says.
ENGLISH = set(
    """the and of to for with is are was were be been this that these those you your our we it
    its not yet from into on at by or if when which who what where how all any each every some
    here there has have had will would can could should may must than then them they their
    about after before again only also just more most other such own same too very""".split()  # noqa: SIM905 (a list of 80 quoted words reads worse)
)
APOSTROPHES = "'\u2019"
WORD = re.compile(rf"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ{APOSTROPHES}-]*")


def _words(text: str) -> set[str]:
    return {word.lower().strip(APOSTROPHES + "-") for word in WORD.findall(text)}


def _without_markup(text: str) -> str:
    """Placeholders and tags are words of neither language."""
    return re.sub(r"%\([a-z_]+\)[sd]|<[^>]+>", " ", text)


def _english_vocabulary() -> set[str]:
    source, spanish = set(), set()
    for entry in polib.pofile(str(CATALOGUE)):
        source |= _words(_without_markup(entry.msgid + " " + entry.msgid_plural))
        translations = entry.msgstr + " " + " ".join(entry.msgstr_plural.values())
        spanish |= _words(_without_markup(translations))
    return (source | ENGLISH) - spanish


class _VisibleText(HTMLParser):
    """The text a person reads or hears: text nodes and the attributes shown or spoken."""

    SPOKEN = ("title", "aria-label", "placeholder", "alt", "aria-description")

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code", "pre", "template"):
            self._hidden += 1
        values = dict(attrs)
        self.parts.extend(values[name] or "" for name in self.SPOKEN if name in values)
        if tag == "input" and values.get("type") in ("submit", "button"):
            self.parts.append(values.get("value") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code", "pre", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def _visible_text(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


# One viewer per page: the first of these allowed to open it.
VIEWER_ORDER = (MANAGER, ADMIN, ISSUER, ANON)
NOT_PAGES = {"healthz", "admin:index"}  # no words; Django's own admin, translated by Django


def _pages() -> list[str]:
    pages = []
    for name, (_, expected) in sorted(MATRIX.items()):
        if name not in NOT_PAGES and any(expected[v] == 200 for v in VIEWER_ORDER):
            pages.append(name)
    return pages


@pytest.fixture(scope="module")
def vocabulary() -> set[str]:
    return _english_vocabulary()


@pytest.mark.django_db
@pytest.mark.parametrize("name", _pages())
def test_a_page_in_spanish_holds_no_english(client, vocabulary, name):
    world = build_world()
    people = {ISSUER: factories.issuer(), MANAGER: factories.manager(), ADMIN: factories.admin()}
    args, expected = MATRIX[name]
    viewer = next(v for v in VIEWER_ORDER if expected[v] == 200)
    if viewer != ANON:
        client.force_login(people[viewer])
    response = client.get(reverse(name, args=args(world)), HTTP_ACCEPT_LANGUAGE="es-ES,es")
    assert response.status_code == 200
    if not response["Content-Type"].startswith("text/html"):
        return  # a CSV or an image: its words are tested with the export
    data = _words(
        " ".join(
            str(value)
            for value in (
                world.ticket.name,
                world.ticket.code,
                world.ticket.event.name,
                world.ticket.line.issuance.rate.name,
                world.ticket.line.issuance.reason.label,
                world.credential.name,
                world.person.get_full_name(),
                *(p.get_full_name() for p in people.values()),
                str(world.ticket.line.issuance.price_option),
                world.ticket.status,  # Fourvenues' own word, shown as such
                # The reasons are the venue's own list, kept by its admins in their words.
                *Reason.objects.values_list("label", flat=True),
            )
        )
    )
    found = (_words(_visible_text(response.content.decode())) & vocabulary) - ALLOWED - data
    assert found == set(), f"English on {name} in Spanish: {sorted(found)}"
