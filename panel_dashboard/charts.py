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

BLUE, ORANGE, GREEN, RED = "#1f5f8b", "#e07b24", "#2e8b57", "#c0392b"
# One colour per pipeline stage in the stage-durations chart (cycled beyond eight).
PALETTE = ("#1f5f8b", "#e07b24", "#2e8b57", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4ac0d")

# Month labels on the x axis: rotated 40°, 30 still stand clear of each other (a real Olist
# span is 26 months, each named); a longer period labels every second or third month.
MAX_X_LABELS = 30

CSS = """
/* The track keeps a sixth of the row or more: a long label is cut (ellipsis, full text in the
   tooltip) before the bar is squeezed away. */
.bars { display: grid; grid-template-columns: minmax(60px, max-content) minmax(18%, 1fr)
  max-content;
  gap: 3px 8px; align-items: center; font-size: 0.85em; }
.bars .label { text-align: right; color: #33404d; overflow: hidden; text-overflow: ellipsis;
  white-space: nowrap; max-width: 260px; }
.bars .track { background: #eef1f4; border-radius: 3px; height: 14px; }
.bars .bar { height: 14px; border-radius: 3px; min-width: 1px; }
.bars .track.stack { display: flex; }
.bars .stack .part { border-radius: 0; }
.bars .stack .part:first-child { border-radius: 3px 0 0 3px; }
.bars .stack .part:last-child { border-radius: 0 3px 3px 0; }
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
class Segment:
    name: str  # what the part is (a stage, "passed", "quarantined")
    value: float
    color: str
    text: str  # the value as the reader sees it


@dataclass(frozen=True)
class StackedBar:
    label: str
    segments: list[Segment]
    text: str  # the total as the reader sees it
    extra: str = ""


def stacked_bars(
    rows: list[StackedBar], testid: str, legend: dict[str, str], empty: str = "—"
) -> str:
    """Horizontal bars split into coloured parts; the longest total = full width.
    `legend`: part name -> colour, shown under the bars in that order."""
    if not rows:
        return f'<div class="empty-chart" data-testid="{testid}">{escape(empty)}</div>'
    top = max(sum(max(s.value, 0) for s in r.segments) for r in rows) or 1
    cells = []
    for r in rows:
        parts = "".join(
            f'<div class="bar part" data-part="{escape(s.name)}" '
            f'title="{escape(f"{r.label} · {s.name}: {s.text}")}" '
            f'style="width:{s.value / top * 100:.2f}%;background:{s.color}"></div>'
            for s in r.segments
            if s.value > 0
        )
        extra = f' <span class="extra">· {escape(r.extra)}</span>' if r.extra else ""
        cells.append(
            f'<div class="label" title="{escape(r.label)}">{escape(r.label)}</div>'
            f'<div class="track stack">{parts}</div>'
            f'<div class="value">{escape(r.text)}{extra}</div>'
        )
    keys = "".join(f'<span style="background:{color}"></span>{escape(name)}'
                   for name, color in legend.items())  # fmt: skip
    return (
        f'<div data-testid="{testid}"><div class="bars">{"".join(cells)}</div>'
        f'<div class="legend">{keys}</div></div>'
    )


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


def _axis_money(value: float, language: str) -> str:
    if abs(value) >= 1000:
        return fmt.brl_compact(value, language)
    return f"R$ {fmt.integer(value, language)}"


def _segments(s: Series, x: list[float], y, partial: list[bool]) -> list[str]:
    """The line point to point: dashed where either end is a partial month."""
    parts = []
    for i in range(len(x) - 1):
        a, b = s.values[i], s.values[i + 1]
        if a is None or b is None:
            continue
        dash = ' stroke-dasharray="5 4"' if partial[i] or partial[i + 1] else ""
        parts.append(f'<line x1="{x[i]:.1f}" y1="{y(a):.1f}" x2="{x[i + 1]:.1f}" '
                     f'y2="{y(b):.1f}" stroke="{s.color}" stroke-width="2"{dash}/>')  # fmt: skip
    return parts


def line_chart(
    labels: list[str],
    series: list[Series],
    testid: str,
    empty: str = "—",
    *,
    partial: list[bool] | None = None,
    partial_word: str = "parcial",
    language: str = "pt",
) -> str:
    """Lines over a category axis (months), y axis in compact R$ in `language`'s format, one
    tooltip per point. Partial months (`partial[i]`) get a `*` on the axis, a hollow point
    and dashed segments: on the axis, but not drawn as if sales had stopped."""
    values = [v for s in series for v in s.values if v is not None]
    if not labels or not values:
        return f'<div class="empty-chart" data-testid="{testid}">{escape(empty)}</div>'
    partial = partial or [False] * len(labels)
    width, height, left, right, top, bottom = 640, 260, 84, 12, 10, 52
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
                     f'stroke="#e3e7eb"/><text class="y-tick" x="{left - 6}" y="{y(v) + 4:.1f}" '
                     f'text-anchor="end">{escape(_axis_money(v, language))}</text>')  # fmt: skip
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    for i, label in enumerate(labels):
        if i % every == 0 or partial[i]:
            text = label + ("*" if partial[i] else "")
            parts.append(f'<text class="x-tick" x="{x[i]:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="end" transform="rotate(-40 {x[i]:.1f} '
                         f'{height - bottom + 16})">{escape(text)}</text>')  # fmt: skip
    for s in series:
        parts += _segments(s, x, y, partial)
        for i, v in enumerate(s.values):
            if v is None:
                continue
            tip = f"{labels[i]} · {s.name}: {fmt.brl(v, language)}"
            tip += f" ({partial_word})" if partial[i] else ""
            fill = "#fff" if partial[i] else s.color
            parts.append(f'<circle class="point" cx="{x[i]:.1f}" cy="{y(v):.1f}" r="3" '
                         f'fill="{fill}" stroke="{s.color}" stroke-width="1.5">'
                         f"<title>{escape(tip)}</title></circle>")  # fmt: skip
    legend = "".join(f'<span style="background:{s.color}"></span>{escape(s.name)}' for s in series)
    return (
        f'<div data-testid="{testid}"><svg class="line" viewBox="0 0 {width} {height}" '
        f'width="100%" preserveAspectRatio="xMidYMid meet">{"".join(parts)}</svg>'
        f'<div class="legend">{legend}</div></div>'
    )
