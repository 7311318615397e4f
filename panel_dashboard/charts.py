"""Charts as HTML and inline SVG, drawn on the server in pt-BR.

Bar charts are rows of `<div>`s, the monthly line chart is one `<svg>`; tooltips are native
(`title`). Replacing an HTML pane's content is the cheapest update a browser can get: with
seven Bokeh figures a filter change took ~500 ms to repaint in headless Chromium on the
benchmark machine, with these ~200 ms (docs/dashboard.md). Every label is escaped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from panel_dashboard import formatting as fmt

BLUE, ORANGE, GREEN = "#1f5f8b", "#e07b24", "#2e8b57"

CSS = """
.bars { display: grid; grid-template-columns: minmax(90px, max-content) 1fr max-content;
  gap: 3px 8px; align-items: center; font-size: 0.85em; }
.bars .label { text-align: right; color: #33404d; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; max-width: 260px; }
.bars .track { background: #eef1f4; border-radius: 3px; height: 14px; }
.bars .bar { height: 14px; border-radius: 3px; min-width: 1px; }
.bars .value { font-variant-numeric: tabular-nums; color: #1b2a38; white-space: nowrap; }
.bars .extra { color: #5a6570; }
svg.line text { font-size: 11px; fill: #5a6570; }
.legend { font-size: 0.85em; color: #33404d; margin: 2px 0 0 0; }
.legend span { display: inline-block; width: 12px; height: 3px; margin: 0 4px 3px 10px; }
.empty-chart { color: #5a6570; font-style: italic; padding: 8px 0; }
"""


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    text: str  # the value as the reader sees it
    extra: str = ""  # a second figure after the value (orders, days)


def bars(items: list[Bar], testid: str, color: str = BLUE, empty: str = "—") -> str:
    """Horizontal bars, longest = full width, in the order given."""
    if not items:
        return f'<div class="empty-chart" data-testid="{testid}">{escape(empty)}</div>'
    top = max((b.value for b in items if b.value is not None), default=0) or 1
    cells = []
    for b in items:
        width = max(0.0, (b.value or 0) / top * 100)
        tip = escape(f"{b.label}: {b.text}" + (f" · {b.extra}" if b.extra else ""))
        extra = f' <span class="extra">· {escape(b.extra)}</span>' if b.extra else ""
        cells.append(
            f'<div class="label" title="{tip}">{escape(b.label)}</div>'
            f'<div class="track" title="{tip}"><div class="bar" '
            f'style="width:{width:.2f}%;background:{color}"></div></div>'
            f'<div class="value">{escape(b.text)}{extra}</div>'
        )
    return f'<div class="bars" data-testid="{testid}">{"".join(cells)}</div>'


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    values: list[float | None]


def _nice_step(top: float, ticks: int = 4) -> float:
    """A round tick step (1, 2, 2.5 or 5 × 10^n) giving about `ticks` gridlines up to top."""
    raw = top / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw)


def _axis_money(value: float) -> str:
    return fmt.brl_compact(value) if abs(value) >= 1000 else f"R$ {fmt.integer(value)}"


def line_chart(labels: list[str], series: list[Series], testid: str, empty: str = "—") -> str:
    """Lines over a category axis (months), y axis in compact R$, one tooltip per point."""
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return f'<div class="empty-chart" data-testid="{testid}">{escape(empty)}</div>'
    width, height, left, right, top, bottom = 640, 260, 84, 12, 10, 48
    step = _nice_step(max(max(values), 1.0))
    y_max = step * max(1, math.ceil(max(values) / step))
    plot_w, plot_h = width - left - right, height - top - bottom
    x = [left + plot_w * (i + 0.5) / len(labels) for i in range(len(labels))]

    def y(v: float) -> float:
        return top + plot_h * (1 - v / y_max)

    parts = []
    for tick in range(int(y_max / step) + 1):
        v = tick * step
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" '
                     f'stroke="#e3e7eb"/><text x="{left - 6}" y="{y(v) + 4:.1f}" '
                     f'text-anchor="end">{escape(_axis_money(v))}</text>')  # fmt: skip
    every = max(1, len(labels) // 12)  # at most ~12 month labels
    for i, label in enumerate(labels):
        if i % every == 0:
            parts.append(f'<text x="{x[i]:.1f}" y="{height - bottom + 16}" text-anchor="end" '
                         f'transform="rotate(-40 {x[i]:.1f} {height - bottom + 16})">'
                         f"{escape(label)}</text>")  # fmt: skip
    for s in series:
        points = [(x[i], y(v)) for i, v in enumerate(s.values) if v is not None]
        path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{s.color}" stroke-width="2"/>')
        for i, v in enumerate(s.values):
            if v is not None:
                tip = escape(f"{labels[i]} · {s.name}: {fmt.brl(v)}")
                parts.append(f'<circle cx="{x[i]:.1f}" cy="{y(v):.1f}" r="3" fill="{s.color}">'
                             f"<title>{tip}</title></circle>")  # fmt: skip
    legend = "".join(f'<span style="background:{s.color}"></span>{escape(s.name)}' for s in series)
    return (
        f'<div data-testid="{testid}"><svg class="line" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet">{"".join(parts)}</svg>'
        f'<div class="legend">{legend}</div></div>'
    )
