"""HTML for the dashboard's cards, tables and notes (every value escaped).

Elements carry `data-testid` attributes (`kpi-revenue`, `status-total-orders`, ...) so the
browser test and anyone scripting the page can find a number without depending on layout.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Any

import polars as pl

from panel_dashboard import formatting as fmt
from panel_dashboard.labels import STATUS_LABELS, TEXT, state_label
from panel_dashboard.model import Kpis
from panel_dashboard.operations import OperationsSnapshot

CSS = """
:host { width: 100%; }
.cofre-cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 4px 0 8px 0; }
.cofre-card { flex: 1 1 190px; background: #fff; border: 1px solid #dde3ea;
  border-left: 4px solid #1f5f8b; border-radius: 6px; padding: 10px 14px; }
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
.cofre-lineage td { font-family: monospace; font-size: 0.85em; word-break: break-all; }
"""
LINEAGE_ROWS = 300  # bronze files listed on the page; the record keeps them all


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
        _card("kpi-revenue", t["kpi_revenue"], fmt.brl(kpis.revenue)),
        _card("kpi-orders", t["kpi_orders"], fmt.integer(kpis.orders)),
        _card("kpi-ticket", t["kpi_ticket"], fmt.brl(kpis.average_ticket)),
        _card("kpi-review", t["kpi_review"], fmt.decimal(kpis.average_review)),
        _card("kpi-on-time", t["kpi_on_time"], fmt.percent(kpis.on_time_share)),
    ]
    return f'<div class="cofre-cards" data-testid="kpis">{"".join(cards)}</div>'


def orders_text(count: int, language: str) -> str:
    """`1 pedido`, `1.234 pedidos`."""
    unit = TEXT[language]["order" if count == 1 else "orders"]
    return f"{fmt.integer(count)} {unit}"


def status_cards(status: pl.DataFrame, language: str) -> str:
    """The seed's four panels, each as a count of orders and their value in R$."""
    names = STATUS_LABELS[language]
    cards = [
        _card(f"status-{row['bucket']}".replace("_", "-"), names[row["bucket"]],
              orders_text(row["orders"], language), fmt.brl(row["value"]), row["bucket"])
        for row in status.iter_rows(named=True)
    ]  # fmt: skip
    return f'<div class="cofre-cards" data-testid="status-panels">{"".join(cards)}</div>'


def table(headers: list[tuple[str, bool]], rows: list[list[str]], testid: str) -> str:
    """headers: (title, numeric); rows: already formatted cells."""
    head = "".join(f'<th class="{"n" if n else ""}">{escape(h)}</th>' for h, n in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if n else ""}">{escape(str(cell))}</td>'
            for cell, (_, n) in zip(row, headers, strict=True)
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


def note(text: str, kind: str = "note", testid: str = "") -> str:
    attribute = f' data-testid="{testid}"' if testid else ""
    return f'<div class="cofre-{kind}"{attribute}>{escape(text)}</div>'


def delivery_table(delivery: pl.DataFrame, language: str) -> str:
    t = TEXT[language]
    headers = [(t["state"], False), (t["delivered_orders"], True), (t["delivery_days"], True),
               (t["on_time"], True), (t["review"], True)]  # fmt: skip
    rows = [
        [state_label(r["customer_state"], language), fmt.integer(r["delivered_orders"]),
         fmt.decimal(r["average_delivery_days"], 1),
         fmt.percent(None if r["late_share"] is None else 1 - r["late_share"]),
         fmt.decimal(r["average_review_score"])]
        for r in delivery.iter_rows(named=True)
    ]  # fmt: skip
    return table(headers, rows, "delivery-table")


def _runs(snapshot: OperationsSnapshot, t: dict[str, str]) -> str:
    runs = snapshot.runs
    if not runs.rows:
        return note(t["runs_none"], testid="runs-source")
    source = t["runs_prefect"] if runs.source == "prefect" else t["runs_lake"]
    headers = [(t["run"], False), (t["flow"], False), (t["run_state"], False),
               (t["started"], False), (t["duration"], True), (t["stages"], False)]  # fmt: skip
    rows = [
        [r["name"], r["flow"], r["state"], fmt.timestamp(r["started"]), fmt.seconds(r["seconds"]),
         r.get("stages", "")]
        for r in runs.rows
    ]  # fmt: skip
    return note(source.format(note=runs.note), testid="runs-source") + table(
        headers, rows, "runs-table"
    )


def _quality(snapshot: OperationsSnapshot, t: dict[str, str]) -> str:
    if not snapshot.quality:
        return note(t["quality_none"])
    headers = [(t["dataset"], False), (t["rows_in"], True), (t["rows_out"], True),
               (t["quarantined"], True), (t["failures"], False)]  # fmt: skip
    rows = [
        [r["dataset"], fmt.integer(r["rows_in"]), fmt.integer(r["rows_out"]),
         fmt.integer(r["quarantined"]), _failures(r["failures"])]
        for r in snapshot.quality
    ]  # fmt: skip
    return note(t["quality_run"].format(run=snapshot.quality_run)) + table(
        headers, rows, "quality-table"
    )


def _failures(failures: Any) -> str:
    if isinstance(failures, dict):
        return ", ".join(f"{k}: {fmt.integer(v)}" for k, v in failures.items()) or "—"
    return str(failures or "—")


def _quarantine(snapshot: OperationsSnapshot, t: dict[str, str]) -> str:
    if not snapshot.quarantine:
        return note(t["quarantine_none"], testid="quarantine-empty")
    headers = [(t["dataset"], False), (t["objects"], True), (t["rows"], True),
               (t["latest_run_rows"], True)]  # fmt: skip
    rows = [
        [r["dataset"], fmt.integer(r["objects"]), fmt.integer(r["rows"]),
         fmt.integer(r["latest_run_rows"])]
        for r in snapshot.quarantine
    ]  # fmt: skip
    return table(headers, rows, "quarantine-table")


def _audit(snapshot: OperationsSnapshot, t: dict[str, str]) -> str:
    audit = snapshot.audit
    if audit["ok"]:
        text = t["audit_ok"].format(records=fmt.integer(audit["records"]))
        return f'<div class="cofre-ok" data-testid="audit-status">{escape(text)}</div>'
    text = t["audit_bad"].format(reason=audit["reason"])
    return f'<div class="cofre-bad" data-testid="audit-status">{escape(text)}</div>'


def _layers(snapshot: OperationsSnapshot, t: dict[str, str]) -> str:
    headers = [(t["layer"], False), (t["objects"], True), (t["size"], True)]
    rows = [[r["layer"], fmt.integer(r["objects"]), fmt.size(r["bytes"])] for r in snapshot.layers]
    return table(headers, rows, "layers-table")


def lineage(record: dict[str, Any] | None, language: str) -> str:
    """Bronze files (key, sha256) -> silver datasets -> gold version -> the load, as tables."""
    t = TEXT[language]
    if not record:
        return note(t["lineage_none"], testid="lineage-none")
    gold, load = record["gold"], record["warehouse"]
    loaded_at = datetime.fromisoformat(load["loaded_at"]).astimezone(UTC)
    summary = t["lineage_load"].format(
        version=gold["version"], sha=gold["manifest_sha256"] or "—", target=load["target"],
        at=fmt.timestamp(loaded_at), run=load["run_id"], rows=fmt.integer(load["rows"]),
        tables=fmt.integer(len(load["tables"])),
    )  # fmt: skip
    parts = [note(summary, testid="lineage-load")]
    if not gold.get("inputs_recorded"):
        parts.append(note(t["lineage_old_gold"], "warning"))
    headers = [(t["dataset"], False), (t["rows"], True), ("sha256", False),
               (t["written_by"], False), (t["bronze_files"], True)]  # fmt: skip
    rows = [
        [s["dataset"], fmt.integer(s["rows"]), s["sha256"] or "—", s["written_by_run"] or "—",
         t["not_recorded"] if s["bronze"] is None else fmt.integer(len(s["bronze"]))]
        for s in record["silver"]
    ]  # fmt: skip
    parts.append(columns((t["lineage_silver"], table(headers, rows, "lineage-silver"))))
    bronze = record["bronze"]
    headers = [(t["key"], False), ("sha256", False), (t["source"], False), (t["bytes"], True),
               (t["landed_by"], False), (t["feeds"], False)]  # fmt: skip
    rows = [
        [b["key"], b["sha256"], f"{b['source']}/{b['dataset']}", fmt.integer(b["bytes"]),
         b["landed_by_run"], ", ".join(b["silver"])]
        for b in bronze[:LINEAGE_ROWS]
    ]  # fmt: skip
    title = t["lineage_bronze"].format(root=record["lake"]["bronze"])
    parts.append(columns((title, table(headers, rows, "lineage-bronze"))))
    if len(bronze) > LINEAGE_ROWS:
        parts.append(note(t["lineage_more"].format(more=fmt.integer(len(bronze) - LINEAGE_ROWS))))
    return f'<div class="cofre-lineage" data-testid="lineage">{"".join(parts)}</div>'


def operations(snapshot: OperationsSnapshot, language: str) -> str:
    t = TEXT[language]
    parts = [
        f"<h3>{escape(t['runs_title'])}</h3>{_runs(snapshot, t)}",
        f"<h3>{escape(t['lineage_title'])}</h3>{lineage(snapshot.lineage, language)}",
        f"<h3>{escape(t['quality_title'])}</h3>{_quality(snapshot, t)}",
        f"<h3>{escape(t['quarantine_title'])}</h3>{_quarantine(snapshot, t)}",
        f"<h3>{escape(t['audit_title'])}</h3>{_audit(snapshot, t)}",
        f"<h3>{escape(t['layers_title'])}</h3>{_layers(snapshot, t)}",
    ]
    problems = [
        note(t["part_error"].format(part=part, error=error), "warning")
        for part, error in snapshot.errors.items()
    ]
    return f'<div data-testid="operations">{"".join(problems + parts)}</div>'


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
