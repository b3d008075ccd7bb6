import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parent.parent


def _import_settings(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "FIELD_ENCRYPTION_KEYS"}
    }
    return subprocess.run(
        [sys.executable, "-c", "import backoffice.settings as s; print(s.TIME_ZONE, s.DEBUG)"],
        cwd=PROJECT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = _import_settings(DEBUG="0", FIELD_ENCRYPTION_KEYS="x")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_refuses_to_start_without_encryption_keys_when_debug_is_off():
    result = _import_settings(DEBUG="0", SECRET_KEY="s")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS must be set" in result.stderr


def test_debug_has_development_defaults_and_madrid_time():
    result = _import_settings(DEBUG="1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Europe/Madrid", "True"]


@pytest.mark.parametrize("value", ["0", "-2"])
def test_tickets_per_call_must_be_positive(value):
    result = _import_settings(DEBUG="1", FOURVENUES_TICKETS_PER_CALL=value)
    assert result.returncode != 0
    assert "FOURVENUES_TICKETS_PER_CALL" in result.stderr


def _setting(expression: str, **env: str) -> str:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "DEBUG", "FIELD_ENCRYPTION_KEYS", "DATABASE_URL"}
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import backoffice.settings as s; print(repr({expression}))"],
        cwd=PROJECT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_secret_key_starting_with_a_dollar_is_taken_as_it_is():
    # Django's get_random_secret_key() draws "$" too; django-environ alone would read such a
    # value as a reference to another variable, and find none.
    key = "$abc-a-generated-key"
    assert _setting("s.SECRET_KEY", DEBUG="0", SECRET_KEY=key, FIELD_ENCRYPTION_KEYS="x") == (
        repr(key)
    )


def test_secrets_come_from_files_without_their_line_end(tmp_path):
    (tmp_path / "key").write_text("from-a-file\n")
    (tmp_path / "url").write_text("postgres://app:pw@db:5432/comps\n")
    env = {
        "DEBUG": "0",
        "SECRET_KEY_FILE": str(tmp_path / "key"),
        "FIELD_ENCRYPTION_KEYS": "x",
        "DATABASE_URL_FILE": str(tmp_path / "url"),
    }
    assert _setting("s.SECRET_KEY", **env) == "'from-a-file'"
    assert _setting(
        "(s.DATABASES['default']['NAME'], s.DATABASES['default']['PASSWORD'])", **env
    ) == ("('comps', 'pw')")
