"""HTML for the dashboard's cards, tables and notes (every value escaped).

Elements carry `data-testid` attributes (`kpi-revenue`, `status-total-orders`, ...) so the
browser test and anyone scripting the page can find a number without depending on layout.
"""

from __future__ import annotations

from html import escape

import polars as pl

from panel_dashboard import formatting as fmt
from panel_dashboard.labels import STATUS_LABELS, TEXT, counted, state_label
from panel_dashboard.model import Kpis

CSS = """
:host { width: 100%; }
.cofre-cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 4px 0 8px 0; }
.cofre-card { flex: 1 1 190px; background: #fff; border: 1px solid #dde3ea;
  border-left: 4px solid #1f5f8b; border-radius: 6px; padding: 10px 14px; }
/* KPI cards start as wide as their text and share the rest: all five fit one row at 1280 px
   (at 190 px each the fifth wrapped onto a row of its own). */
.cofre-kpis > .cofre-card { flex: 1 1 auto; }
.cofre-card .label { font-size: 0.85em; color: #5a6570; }
.cofre-card .value { font-size: 1.4em; font-weight: 600; color: #1b2a38; white-space: nowrap; }
.cofre-card .sub { font-size: 0.95em; color: #1b2a38; }
.cofre-card.fulfilled { border-left-color: #2e8b57; }
.cofre-card.awaiting_release { border-left-color: #e0a800; }
.cofre-card.lost { border-left-color: #c0392b; }
.cofre-note { color: #5a6570; font-size: 0.85em; margin: 2px 0; }
.cofre-warning { color: #8a4b00; background: #fff4e0; border: 1px solid #f0c070;
  border-radius: 4px; padding: 4px 8px; font-size: 0.9em; margin: 4px 0; }
.cofre-error { color: #7a1010; background: #fdecea; border: 1px solid #e0a0a0;
  border-radius: 4px; padding: 6px 10px; }
table.cofre { border-collapse: collapse; width: 100%; font-size: 0.9em; }
table.cofre th { text-align: left; border-bottom: 2px solid #dde3ea; padding: 4px 8px; }
table.cofre td { border-bottom: 1px solid #eef1f4; padding: 3px 8px; }
table.cofre td.n, table.cofre th.n { text-align: right; font-variant-numeric: tabular-nums; }
.cofre-section { background: #fff; border: 1px solid #dde3ea; border-radius: 6px;
  padding: 8px 12px 10px 12px; margin: 6px 0; }
.cofre-section h4 { margin: 0 0 8px 0; font-size: 1.0em; font-weight: 600; color: #1b2a38; }
.cofre-columns { display: flex; flex-wrap: wrap; gap: 18px; }
.cofre-column { flex: 1 1 320px; min-width: 0; }
.cofre-subtitle { font-size: 0.85em; color: #33404d; margin: 0 0 6px 0; font-weight: 600; }
h3 { font-size: 1.15em; font-weight: 600; margin: 18px 0 6px 0; }
.cofre-ok { color: #1e7a46; font-weight: 600; }
.cofre-bad { color: #b00020; font-weight: 600; }
pre.cofre { background: #f4f6f8; padding: 8px 12px; border-radius: 4px; }
.cofre-banner { color: #fff; background: #8a4b00; border-radius: 6px; padding: 8px 12px;
  font-weight: 600; margin: 4px 0 6px 0; }
.cofre-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr);
  gap: 0 12px; align-items: stretch; }
/* On wide screens (1920 px) a 3:2 split drew the chart 930 px wide, its 11 px axis text
   scaled to 16 px, and left the side column half empty under one filtered category. */
@media (min-width: 1600px) {
  .cofre-grid { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); }
}
.cofre-main, .cofre-side { display: flex; flex-direction: column; }
.cofre-main > .cofre-section, .cofre-side > .cofre-section:last-child { flex: 1 1 auto; }
td.hash, td.key { font-family: monospace; font-size: 0.85em; word-break: break-all; }
td.n, th.n { white-space: nowrap; }
"""


def _card(testid: str, label: str, value: str, sub: str = "", kind: str = "") -> str:
    extra = f'<div class="sub" data-testid="{testid}-value">{escape(sub)}</div>' if sub else ""
    return (
        f'<div class="cofre-card {kind}" data-testid="{testid}">'
        f'<div class="label">{escape(label)}</div>'
        f'<div class="value" data-testid="{testid}-main">{escape(value)}</div>{extra}</div>'
    )


def kpi_cards(kpis: Kpis, language: str) -> str:
    t = TEXT[language]
    cards = [
        _card("kpi-revenue", t["kpi_revenue"], fmt.brl(kpis.revenue, language)),
        _card("kpi-orders", t["kpi_orders"], fmt.integer(kpis.orders, language)),
        _card("kpi-ticket", t["kpi_ticket"], fmt.brl(kpis.average_ticket, language)),
        _card("kpi-review", t["kpi_review"], fmt.decimal(kpis.average_review, 2, language)),
        _card("kpi-on-time", t["kpi_on_time"], fmt.percent(kpis.on_time_share, 1, language)),
    ]
    return f'<div class="cofre-cards cofre-kpis" data-testid="kpis">{"".join(cards)}</div>'


def orders_text(count: int, language: str) -> str:
    """`1 pedido`, `1.234 pedidos` (English: `1 order`, `1,234 orders`)."""
    return counted(count, "order", language)


def status_cards(status: pl.DataFrame, language: str) -> str:
    """The seed's four panels, each as a count of orders and their value in R$."""
    names = STATUS_LABELS[language]
    cards = [
        _card(f"status-{row['bucket']}".replace("_", "-"), names[row["bucket"]],
              orders_text(row["orders"], language), fmt.brl(row["value"], language),
              row["bucket"])
        for row in status.iter_rows(named=True)
    ]  # fmt: skip
    return f'<div class="cofre-cards" data-testid="status-panels">{"".join(cards)}</div>'


def _cell_class(kind: bool | str) -> str:
    return "n" if kind is True else (kind or "")


def table(headers: list[tuple[str, bool | str]], rows: list[list[str]], testid: str) -> str:
    """headers: (title, kind): True for a number (right-aligned, never wrapped), "hash" or
    "key" for a long identifier (monospace, may wrap anywhere); rows: formatted cells."""
    head = "".join(f'<th class="{_cell_class(k)}">{escape(h)}</th>' for h, k in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{_cell_class(k)}">{escape(str(cell))}</td>'
            for cell, (_, k) in zip(row, headers, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f'<table class="cofre" data-testid="{testid}"><tr>{head}</tr>{body}</table>'


def section(title: str, body: str) -> str:
    """A titled panel (what pn.Card would draw, as plain HTML: cheaper to update)."""
    return f'<div class="cofre-section"><h4>{escape(title)}</h4>{body}</div>'


def columns(*blocks: tuple[str, str]) -> str:
    """Side-by-side blocks, each with a small heading (wrap on narrow screens)."""
    inner = "".join(
        f'<div class="cofre-column"><div class="cofre-subtitle">{escape(title)}</div>{body}</div>'
        for title, body in blocks
    )
    return f'<div class="cofre-columns">{inner}</div>'


def grid(main: str, side: str, testid: str) -> str:
    """A wide block and a narrow column beside it, the same height (no empty corner)."""
    return (
        f'<div class="cofre-grid" data-testid="{testid}"><div class="cofre-main">{main}</div>'
        f'<div class="cofre-side">{side}</div></div>'
    )


def note(text: str, kind: str = "note", testid: str = "") -> str:
    attribute = f' data-testid="{testid}"' if testid else ""
    return f'<div class="cofre-{kind}"{attribute}>{escape(text)}</div>'


def delivery_table(delivery: pl.DataFrame, language: str) -> str:
    t = TEXT[language]
    headers = [(t["state"], False), (t["delivered_orders"], True), (t["delivery_days"], True),
               (t["on_time"], True), (t["review"], True)]  # fmt: skip
    rows = [
        [state_label(r["customer_state"], language), fmt.integer(r["delivered_orders"], language),
         fmt.decimal(r["average_delivery_days"], 1, language),
         fmt.percent(None if r["late_share"] is None else 1 - r["late_share"], 1, language),
         fmt.decimal(r["average_review_score"], 2, language)]
        for r in delivery.iter_rows(named=True)
    ]  # fmt: skip
    return table(headers, rows, "delivery-table")


def empty_page(kind: str, target: str, detail: str, language: str) -> str:
    """What to do when there is nothing to show: run the pipeline, then come back.

    `kind` is a `WarehouseState.kind`; for an unreachable warehouse `detail` is the error."""
    t = TEXT[language]
    title = t["unreachable_title"] if kind == "unreachable" else t["empty_title"]
    body = t["empty_body"].format(target=target, detail=t.get(kind, detail))
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in body.split("\n\n"))
    commands = (
        f"python -m flows.full_pipeline                  # {t['cmd_synthetic']}\n"
        f"python -m flows.full_pipeline --olist-dir DIR  # {t['cmd_real']}\n"
        f"panel serve panel_dashboard/app.py             # {t['cmd_serve']}"
    )
    return (
        f'<div data-testid="empty-warehouse"><h2>{escape(title)}</h2>{paragraphs}'
        f'<pre class="cofre">{escape(commands)}</pre></div>'
    )
