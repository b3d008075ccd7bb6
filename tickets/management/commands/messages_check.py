"""`manage.py messages_check`: fail when the Spanish catalogue is behind the code.

Extracts every marked string into a scratch copy of `locale/` (GNU gettext's xgettext, through
Django's makemessages) and compares it with the committed catalogue: a string marked in the code
but missing from `locale/es/LC_MESSAGES/django.po`, or left there although the code no longer has
it, fails. Completeness of the Spanish itself is a test (tests/test_languages.py); this is the
part that needs gettext, so it runs in `make lint`, not in the test suite.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

# What makemessages must not read: the virtualenv, collected static files, the tests, and the
# sandbox (a stand-in for Fourvenues, which speaks no language of ours).
IGNORED = [".venv/*", "staticfiles/*", "tests/*", "tickets/fourvenues/sandbox/*"]
CATALOGUE = Path("es") / "LC_MESSAGES" / "django.po"


def _msgids(path: Path) -> set[tuple[str | None, str]]:
    return {(entry.msgctxt, entry.msgid) for entry in polib.pofile(str(path)) if not entry.obsolete}


class Command(BaseCommand):
    help = "Check that locale/es/LC_MESSAGES/django.po holds exactly the strings the code marks."

    def handle(self, *args: Any, **options: Any) -> None:
        committed_dir = Path(settings.LOCALE_PATHS[0])
        with tempfile.TemporaryDirectory() as scratch:
            scratch_dir = Path(scratch) / "locale"
            shutil.copytree(committed_dir, scratch_dir)
            with override_settings(LOCALE_PATHS=[scratch_dir]):
                call_command(
                    "makemessages",
                    locale=["es"],
                    ignore_patterns=IGNORED,
                    no_obsolete=True,
                    add_location="file",
                    verbosity=0,
                )
            extracted = _msgids(scratch_dir / CATALOGUE)
        committed = _msgids(committed_dir / CATALOGUE)
        missing, stale = extracted - committed, committed - extracted
        for context, msgid in sorted(missing, key=str):
            self.stderr.write(
                f"not in the catalogue: {msgid!r}" + (f" ({context})" if context else "")
            )
        for context, msgid in sorted(stale, key=str):
            self.stderr.write(
                f"no longer in the code: {msgid!r}" + (f" ({context})" if context else "")
            )
        if missing or stale:
            raise CommandError("The catalogue is behind the code: run `make messages`, translate.")
        self.stdout.write(f"The catalogue holds the {len(extracted)} strings the code marks.")
