"""Charts as inline SVG, drawn on the server: no charting library reaches the phone.

Pure: numbers in, an SVG string out (escaped), with a text alternative, so a
screen reader gets the figures and a printout stays sharp.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

WIDTH, BAR, GAP, LABEL = 640, 18, 8, 170
COLOURS = ("#1d4e89", "#2a7f62", "#8a4b08")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "no data"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def percent(rate: float | None) -> str:
    return "no data" if rate is None else f"{rate * 100:.0f}%"


def bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[float | None]]],
    series: Sequence[str],
    fmt: str = "duration",
) -> str:
    """Grouped horizontal bars: one group per row label, one bar per series."""
    values = [v for _, vs in rows for v in vs if v is not None]
    top = max(values) if values else 1.0
    top = top or 1.0
    shown = percent if fmt == "percent" else duration
    group = len(series) * (BAR + 2) + GAP
    height = max(1, len(rows)) * group + 30
    span = WIDTH - LABEL - 80
    parts = [
        f'<svg role="img" aria-labelledby="t-{_id(title)}" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg" class="chart">',
        f'<title id="t-{_id(title)}">{escape(title)}</title>',
    ]
    for g, (label, vs) in enumerate(rows):
        y0 = g * group
        parts.append(f'<text x="0" y="{y0 + BAR}" class="chart-label">{escape(label)}</text>')
        for k, value in enumerate(vs):
            y = y0 + k * (BAR + 2)
            w = 0 if value is None else max(2, value / top * span)
            parts.append(
                f'<rect x="{LABEL}" y="{y}" width="{w:.1f}" height="{BAR}" '
                f'fill="{COLOURS[k % len(COLOURS)]}"><title>{escape(series[k])}: '
                f"{escape(shown(value))}</title></rect>"
            )
            parts.append(
                f'<text x="{LABEL + w + 4:.1f}" y="{y + BAR - 4}" class="chart-value">'
                f"{escape(shown(value))}</text>"
            )
    legend_y = height - 8
    for k, name in enumerate(series):
        x = k * 200
        parts.append(
            f'<rect x="{x}" y="{legend_y - 10}" width="12" height="12" '
            f'fill="{COLOURS[k % len(COLOURS)]}"/>'
            f'<text x="{x + 16}" y="{legend_y}" class="chart-label">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _id(title: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in title.lower())[:40]
