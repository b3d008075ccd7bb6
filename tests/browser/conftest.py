"""Browser tests: Playwright driving Debian's Chromium (`apt-get install chromium`).

pytest-playwright cannot select a system Chromium through `--browser-channel`, so the launch
arguments point it at the binary. Without one the tests are skipped with the reason, unless
REQUIRE_BROWSER=1 (CI), where a missing browser must fail the run rather than pass it silently.
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, and on a closed network that never ends.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-results"


def chromium_path() -> str | None:
    candidate = os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM
    resolved = shutil.which(candidate)
    return resolved if resolved and os.access(resolved, os.X_OK) else None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    path = chromium_path()
    if path is None:
        reason = (
            f"No Chromium at {os.environ.get('CHROMIUM_PATH') or DEFAULT_CHROMIUM} "
            "(apt-get install -y chromium, or set CHROMIUM_PATH)"
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}", pytrace=False)
        pytest.skip(reason)  # no Chromium, and REQUIRE_BROWSER is not set (CI sets it)
    return {
        **browser_type_launch_args,
        "executable_path": path,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the test item, so a fixture can tell whether the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def spanish_page(browser: Browser) -> Iterator[Page]:
    """A page in a browser whose first language is Spanish (the journeys'), at desktop width."""
    # Reduced motion: no colour half-way through a transition when axe measures contrast.
    context = browser.new_context(
        locale="es-ES", viewport={"width": 1280, "height": 800}, reduced_motion="reduce"
    )
    yield context.new_page()
    context.close()


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    # Taken before the yield, so that the page is torn down after this fixture, not before.
    name = next((n for n in ("page", "spanish_page") if n in request.fixturenames), None)
    page: Page | None = request.getfixturevalue(name) if name else None
    yield
    report = getattr(request.node, "report_call", None)
    if page is None or report is None or not report.failed:
        return
    SCREENSHOTS.mkdir(exist_ok=True)
    name = request.node.name.replace("/", "_").replace("[", "-").replace("]", "")
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


@pytest.fixture(scope="session")
def _serialized_database_contents(django_db_setup: None, django_db_blocker: Any) -> dict[str, str]:
    """What `serialized_rollback` restores, taken from Django's connections before Playwright
    starts (see below)."""
    return {
        alias: connections[alias]._test_serialized_contents
        for alias in connections
        if hasattr(connections[alias], "_test_serialized_contents")
    }


@pytest.fixture(scope="session", autouse=True)
def _serialized_rollback_under_playwright(
    _serialized_database_contents: dict[str, str], playwright: Any
) -> None:
    """Let `serialized_rollback` work in browser tests, and in every test after them.

    Playwright's sync API marks an event loop as running in the main thread, and Django then
    keeps its connections in context-local storage: new connection objects, without the copy of
    the migrated data (roles, reasons) that `serialized_rollback` restores after each flush.
    Without it, the first browser test's flush loses that data for the rest of the run.
    """
    for alias, contents in _serialized_database_contents.items():
        connections[alias]._test_serialized_contents = contents
