"""axe-core in the browser tests: scan the page a test is on, and fail listing every violation.

axe-playwright-python ships axe.min.js; only the script is used here, evaluated in the page by
Playwright. An evaluated script runs through the DevTools protocol, outside the page's Content
Security Policy, so the pages are scanned as they are served (CSP enforced, `bypass_csp` left
off): a page that only works with its policy lifted would not pass here unnoticed.

`look` is what a journey calls on each page it opens: a scan and a screenshot at desktop width,
then the same at phone width, then back to desktop.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import axe_playwright_python
from playwright.sync_api import Page

AXE_SCRIPT = (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
WIDTHS = {"desktop": DESKTOP, "phone": PHONE}
# Git-ignored (.gitignore): the journeys' pictures, to look at after a run (the README's too).
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
# Every rule axe runs by default (WCAG 2.x A/AA and best practices), of any impact.
AXE_OPTIONS = {"resultTypes": ["violations"]}


@dataclass(frozen=True)
class Violation:
    where: str
    rule: str
    impact: str
    help: str
    nodes: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"{self.where}: {self.rule} ({self.impact}) {self.help}"]
        lines += [f"    {node}" for node in self.nodes]
        return "\n".join(lines)


def _node(node: dict[str, Any]) -> str:
    target = " ".join(str(part) for part in node.get("target", []))
    html = re.sub(r"\s+", " ", node.get("html", ""))[:200]
    summary = re.sub(r"\s+", " ", node.get("failureSummary", "")).strip()
    return f"{target}  {html}  [{summary}]"


def scan(page: Page, where: str | None = None) -> list[Violation]:
    """The violations axe finds in the page as it is now (after any htmx swap)."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_SCRIPT)
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    label = where or page.url
    return [
        Violation(
            where=label,
            rule=item["id"],
            impact=item.get("impact") or "unknown",
            help=item.get("help", ""),
            nodes=tuple(_node(node) for node in item["nodes"]),
        )
        for item in result["violations"]
    ]


def report(violations: list[Violation]) -> str:
    return f"{len(violations)} axe violation(s):\n" + "\n".join(str(v) for v in violations)


def assert_accessible(page: Page, where: str | None = None) -> None:
    found = scan(page, where)
    assert not found, report(found)


@dataclass
class Audit:
    """Violations gathered over many pages, so that one failure lists all of them."""

    found: list[Violation] = field(default_factory=list)
    scanned: int = 0

    def check(self, page: Page, where: str | None = None) -> None:
        self.found += scan(page, where)
        self.scanned += 1

    def assert_clean(self) -> None:
        assert self.scanned, "no page was scanned"
        assert not self.found, report(self.found)


def look(page: Page, name: str, audit: Audit | None = None) -> None:
    """Scan the page and take its picture at desktop then phone width, and return to desktop.

    Without an `audit` a violation fails the test at once; with one it is gathered.
    """
    SCREENSHOTS.mkdir(exist_ok=True)
    for width, size in WIDTHS.items():
        page.set_viewport_size(size)
        where = f"{name} [{width}] {page.url}"
        if audit is None:
            assert_accessible(page, where)
        else:
            audit.check(page, where)
        page.screenshot(path=SCREENSHOTS / f"{name}-{width}.png", full_page=True)
    page.set_viewport_size(DESKTOP)
