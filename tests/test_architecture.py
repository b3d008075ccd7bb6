"""The layers of design.md hold by themselves: `make lint` runs import-linter, and each of its
contracts must refuse the import it exists to refuse. Each case adds one such import to a copy of
the code and expects that contract, and only it, to break."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

LAYERS = "Layers: views > forms > services > drafts > selectors"
HTTP = "Only the Fourvenues client speaks HTTP"
CLIENT = "Views and forms never reach the API client directly"
NO_SANDBOX = "The business code never imports the sandbox"
ALONE = "The sandbox stands alone"

VIOLATIONS = [
    ("tickets/selectors/search.py", "import tickets.forms.search", LAYERS),
    ("tickets/selectors/audit.py", "import tickets.services.audit", LAYERS),
    ("tickets/services/audit.py", "import tickets.forms.users", LAYERS),
    ("tickets/services/audit.py", "import tickets.views.home", LAYERS),
    ("tickets/forms/users.py", "import tickets.views.home", LAYERS),
    ("tickets/drafts.py", "import tickets.services.audit", LAYERS),
    ("tickets/fourvenues/schemas.py", "import tickets.models", LAYERS),
    ("tickets/services/audit.py", "import requests", HTTP),
    ("tickets/views/home.py", "import tickets.fourvenues.client", CLIENT),
    ("tickets/services/audit.py", "import tickets.fourvenues.sandbox", NO_SANDBOX),
    ("tickets/fourvenues/sandbox/store.py", "import django", ALONE),
    ("tickets/fourvenues/sandbox/store.py", "import tickets.fourvenues.errors", ALONE),
]


@pytest.fixture(scope="module")
def code_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("architecture")
    for name in ("tickets", "backoffice"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    return copy


def lint(where: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=where, capture_output=True, text=True, check=False
    )


def broken_contracts(output: str) -> list[str]:
    """The names of the contracts import-linter's summary reports BROKEN."""
    flat = " ".join(output.split())  # it wraps long contract names over lines
    summary = flat.split("Contracts --------- ", 1)[1].split(" Contracts: ", 1)[0]
    summary = re.sub(r"^Analyzed .*? dependencies\. -+ ", "", summary)
    return [
        name
        for name, verdict in re.findall(r"(.+?) (KEPT|BROKEN)(?: |$)", summary)
        if verdict == "BROKEN"
    ]


def test_the_code_as_it_is_keeps_every_contract(code_copy):
    result = lint(code_copy)
    assert result.returncode == 0, result.stdout
    assert broken_contracts(result.stdout) == []


@pytest.mark.parametrize(("module", "line", "contract"), VIOLATIONS)
def test_each_contract_refuses_the_import_it_exists_for(code_copy, module, line, contract):
    path = code_copy / module
    original = path.read_text()
    path.write_text(f"{original}\n{line}\n")
    try:
        result = lint(code_copy)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    broken = broken_contracts(result.stdout)
    assert len(broken) == 1, result.stdout
    assert broken[0].startswith(contract), result.stdout
