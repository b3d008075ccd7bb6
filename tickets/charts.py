"""Bar charts drawn on the server as inline SVG: no JavaScript, no CDN, readable without CSS.

Each chart is an `<svg role="img">` with a <title> and <desc>, a text label and value beside
every bar, so a screen reader (and a printout) gets the figures, not just shapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

LABEL_WIDTH = 220
BAR_AREA = 420
VALUE_WIDTH = 120
ROW_HEIGHT = 24
BAR_HEIGHT = 16
TOP = 8


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    inner: int = 0  # drawn darker inside the bar: e.g. how many of the tickets were used


def bar_chart(
    *, chart_id: str, title: str, description: str, bars: Sequence[Bar], inner_label: str = ""
) -> SafeString:
    """A horizontal bar chart of `bars`, scaled to the largest value."""
    width = LABEL_WIDTH + BAR_AREA + VALUE_WIDTH
    height = TOP * 2 + ROW_HEIGHT * max(len(bars), 1)
    largest = max((b.value for b in bars), default=0) or 1
    rows = []
    for i, bar in enumerate(bars):
        y = TOP + i * ROW_HEIGHT
        bar_y = y + (ROW_HEIGHT - BAR_HEIGHT) // 2
        length = round(BAR_AREA * bar.value / largest)
        inner_length = round(BAR_AREA * min(bar.inner, bar.value) / largest)
        value_text = f"{bar.value}"
        if inner_label:
            value_text += f" ({bar.inner} {inner_label})"
        rows.append(
            (
                LABEL_WIDTH - 8,
                y + ROW_HEIGHT // 2 + 4,
                _clip(bar.label),
                LABEL_WIDTH,
                bar_y,
                max(length, 1) if bar.value else 0,
                BAR_HEIGHT,
                LABEL_WIDTH,
                bar_y,
                inner_length,
                BAR_HEIGHT,
                LABEL_WIDTH + length + 6,
                y + ROW_HEIGHT // 2 + 4,
                value_text,
            )
        )
    body = format_html_join(
        "\n",
        '<text x="{}" y="{}" text-anchor="end" class="chart-label">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar"></rect>'
        '<rect x="{}" y="{}" width="{}" height="{}" class="chart-bar-inner"></rect>'
        '<text x="{}" y="{}" class="chart-value">{}</text>',
        rows,
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="comps-chart" role="img" '
        'viewBox="0 0 {} {}" width="100%" aria-labelledby="{}-title {}-desc">'
        '<title id="{}-title">{}</title><desc id="{}-desc">{}</desc>'
        "{}</svg>",
        width,
        height,
        chart_id,
        chart_id,
        chart_id,
        title,
        chart_id,
        description,
        body,
    )


def _clip(label: str, limit: int = 32) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
