"""The operations tab's HTML: pictures first, identifiers on demand.

Stage durations of the last runs as stacked bars (a slow-down shows at a glance), the runs'
table, the lineage of the loaded gold version as a small graph (bronze files -> silver
datasets -> gold version -> warehouse) with the hashes in a collapsed `<details>`, gate
results and quarantine per dataset as bars, the audit trail's verdict and the lake's sizes.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from html import escape
from typing import Any

from panel_dashboard import charts
from panel_dashboard import formatting as fmt
from panel_dashboard.labels import TEXT, agreeing, counted, run_state
from panel_dashboard.operations import OperationsSnapshot
from panel_dashboard.render import columns, note, table

GREY = "#b8c2cc"  # rows read that the gate neither passed nor quarantined (merged away)
LINEAGE_ROWS = 300  # bronze files listed on the page; the record keeps them all

CSS = """
.cofre-flow { display: flex; align-items: flex-start; gap: 4px; flex-wrap: wrap; margin: 6px 0; }
.cofre-node { flex: 1 1 150px; border: 1px solid #c9d3dd; border-radius: 6px; padding: 6px 10px;
  background: #f7f9fb; font-size: 0.85em; min-width: 0; }
.cofre-node .kind { font-weight: 600; color: #1f5f8b; margin-bottom: 3px; }
.cofre-node .item { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.cofre-arrow { align-self: center; color: #7f8c8d; font-size: 1.4em; padding: 0 2px; }
details.cofre-details { margin: 6px 0; }
details.cofre-details summary { cursor: pointer; color: #1f5f8b; font-size: 0.9em; }
"""


# -- runs -------------------------------------------------------------------------------------
def stage_chart(snapshot: OperationsSnapshot, language: str) -> str:
    """Each run's stages as one bar of coloured parts (seconds), newest run on top."""
    t = TEXT[language]
    runs = [run for run in snapshot.stage_times if run["stages"]]
    stages = list(dict.fromkeys(stage for run in runs for stage, _, _ in run["stages"]))
    colors = {stage: charts.PALETTE[i % len(charts.PALETTE)] for i, stage in enumerate(stages)}
    rows = []
    for run in runs:
        segments = [
            charts.Segment(stage, seconds, colors[stage],
                           fmt.seconds(seconds, language)
                           + ("" if status == "completed" else f" ({run_state(status, language)})"))
            for stage, status, seconds in run["stages"]
        ]  # fmt: skip
        total = sum(seconds for _, _, seconds in run["stages"])
        label = f"{fmt.timestamp(run['started'])} · {run['name']}"
        rows.append(
            charts.StackedBar(
                label, segments, fmt.seconds(total, language), run_state(run["state"], language)
            )
        )
    chart = charts.stacked_bars(rows, "chart-stages", colors, t["runs_none"])
    return f'<div class="cofre-subtitle">{escape(t["stages_title"])}</div>{chart}'


def runs_html(snapshot: OperationsSnapshot, language: str) -> str:
    t = TEXT[language]
    runs = snapshot.runs
    if not runs.rows:
        return note(t["runs_none"], testid="runs-source")
    source = t["runs_prefect"] if runs.source == "prefect" else t["runs_lake"]
    headers = [(t["run"], False), (t["flow"], False), (t["run_state"], False),
               (t["started"], False), (t["duration"], True), (t["stages"], False)]  # fmt: skip
    rows = [
        [r["name"], r["flow"], run_state(r["state"], language), fmt.timestamp(r["started"]),
         fmt.seconds(r["seconds"], language),
         ", ".join(f"{stage}: {run_state(status, language)}"
                   for stage, status in r.get("stages") or [])]
        for r in runs.rows
    ]  # fmt: skip
    return (
        stage_chart(snapshot, language)
        + note(source.format(note=runs.note), testid="runs-source")
        + table(headers, rows, "runs-table")
        + inputs_html(snapshot, language)
    )


def inputs_html(snapshot: OperationsSnapshot, language: str) -> str:
    """Who asked for each pipeline run, its Olist source, declared parameters or not (the
    undeclared ones named) and its sources: from the run summaries' `provenance`."""
    t = TEXT[language]
    if not snapshot.inputs:
        return ""
    headers = [(t["run"], False), (t["requested_by"], False), (t["olist_source"], False),
               (t["declared"], False), (t["sources"], False)]  # fmt: skip
    rows = [
        [r["name"], r["requested_by"], _olist(r["olist"], language),
         t["declared_yes"] if r["declared"]
         else t["declared_no"].format(names=", ".join(r["undeclared"])),
         ", ".join(f"{name}: {mode}" for name, mode in r["sources"].items())]
        for r in snapshot.inputs
    ]  # fmt: skip
    title = f'<div class="cofre-subtitle">{escape(t["inputs_title"])}</div>'
    return title + table(headers, rows, "inputs-table")


def _olist(olist: Any, language: str) -> str:
    """'/data/olist', 'sintético (semente 42, 2.000 pedidos)' or 'não lido', in `language`."""
    t = TEXT[language]
    if not isinstance(olist, dict):
        return t["olist_not_read"]
    if "dir" in olist:
        return str(olist["dir"])
    synthetic = olist.get("synthetic") or {}
    return t["olist_synthetic"].format(
        seed=synthetic.get("seed", "?"), orders=counted(synthetic.get("orders"), "order", language)
    )


# -- gates and quarantine ---------------------------------------------------------------------
def _failures(failures: Any, language: str) -> str:
    if isinstance(failures, dict):
        return ", ".join(f"{k}: {fmt.integer(v, language)}" for k, v in failures.items()) or "—"
    return str(failures or "—")


def _quality_bar(r: dict[str, Any], language: str) -> charts.StackedBar:
    """Rows read = passed + quarantined + merged: the rest of what was read was removed as a
    duplicate or folded into another row (geolocation: one row per zip prefix), drawn grey so
    "385 of 20,116 passed" does not read as 19,731 rejected rows."""
    t, lang = TEXT[language], language
    passed, quarantined = r["rows_out"] or 0, r["quarantined"] or 0
    merged = max(0, (r["rows_in"] or 0) - passed - quarantined)
    segments = [
        charts.Segment(t["rows_out"], passed, charts.GREEN, fmt.integer(passed, lang)),
        charts.Segment(t["quarantined"], quarantined, charts.RED, fmt.integer(quarantined, lang)),
        charts.Segment(t["merged"], merged, GREY, fmt.integer(merged, lang)),
    ]
    extra = [_failures(r["failures"], lang)] if quarantined else []
    if merged:
        extra.append(counted(merged, "merged", lang))
    text = t["passed_of"].format(
        passed=fmt.integer(passed, lang), rows=fmt.integer(r["rows_in"], lang),
        approved=agreeing(passed, "approved", lang),
    )  # fmt: skip
    return charts.StackedBar(r["dataset"], segments, text, " · ".join(extra))


def quality_html(snapshot: OperationsSnapshot, language: str) -> str:
    """Per dataset, the rows the gate read as one bar: passed, quarantined, merged away."""
    t = TEXT[language]
    if not snapshot.quality:
        return note(t["quality_none"])
    rows = [_quality_bar(r, language) for r in snapshot.quality]
    legend = {t["rows_out"]: charts.GREEN, t["quarantined"]: charts.RED}
    if any(s.value > 0 for r in rows for s in r.segments if s.color == GREY):
        legend[t["merged"]] = GREY
    return note(t["quality_run"].format(run=snapshot.quality_run)) + charts.stacked_bars(
        rows, "chart-quality", legend
    )


def quarantine_html(snapshot: OperationsSnapshot, language: str) -> str:
    t = TEXT[language]
    if not snapshot.quarantine:
        return note(t["quarantine_none"], testid="quarantine-empty")
    bars = [
        charts.Bar(r["dataset"], r["rows"], fmt.integer(r["rows"], language),
                   t["quarantine_extra"].format(objects=counted(r["objects"], "object", language),
                                                latest=fmt.integer(r["latest_run_rows"], language)))
        for r in snapshot.quarantine
    ]  # fmt: skip
    return charts.bars(bars, "chart-quarantine", charts.RED)


def audit_html(snapshot: OperationsSnapshot, language: str) -> str:
    t, audit = TEXT[language], snapshot.audit
    if audit["ok"]:
        text = t["audit_ok"].format(records=fmt.integer(audit["records"], language))
        return f'<div class="cofre-ok" data-testid="audit-status">{escape(text)}</div>'
    text = t["audit_bad"].format(reason=audit["reason"])
    return f'<div class="cofre-bad" data-testid="audit-status">{escape(text)}</div>'


def layers_html(snapshot: OperationsSnapshot, language: str) -> str:
    t = TEXT[language]
    headers = [(t["layer"], False), (t["objects"], True), (t["size"], True)]
    rows = [
        [r["layer"], fmt.integer(r["objects"], language), fmt.size(r["bytes"], language)]
        for r in snapshot.layers
    ]
    return table(headers, rows, "layers-table")


# -- lineage ----------------------------------------------------------------------------------
def _node(kind: str, items: list[str], testid: str) -> str:
    inner = "".join(f'<div class="item" title="{escape(i)}">{escape(i)}</div>' for i in items)
    return (
        f'<div class="cofre-node" data-testid="{testid}"><div class="kind">{escape(kind)}</div>'
        f"{inner}</div>"
    )


def lineage_graph(record: dict[str, Any], language: str) -> str:
    """Bronze files (per source) -> silver datasets -> gold version -> warehouse, as boxes."""
    t, lang = TEXT[language], language
    gold, load = record["gold"], record["warehouse"]
    sources = Counter(b["source"] for b in record["bronze"])
    sizes = Counter()
    for b in record["bronze"]:
        sizes[b["source"]] += b.get("bytes") or 0
    bronze = [
        t["files_of"].format(source=source, files=counted(count, "file", lang),
                             size=fmt.size(sizes[source], lang))
        for source, count in sorted(sources.items())
    ] or [t["not_recorded"]]  # fmt: skip
    silver = [f"{s['dataset']} · {fmt.integer(s['rows'], lang)}" for s in record["silver"]]
    loaded_at = datetime.fromisoformat(load["loaded_at"]).astimezone(UTC)
    nodes = [
        _node(t["lineage_bronze_node"], bronze, "lineage-bronze-node"),
        _node(t["lineage_silver_node"], silver or [t["not_recorded"]], "lineage-silver-node"),
        _node(t["lineage_gold_node"],
              [gold["version"], counted(len(gold["tables"]), "table", lang)],
              "lineage-gold-node"),
        _node(t["lineage_load_node"],
              [load["target"], f"{fmt.timestamp(loaded_at)} (UTC)",
               counted(load["rows"], "row", lang)],
              "lineage-load-node"),
    ]  # fmt: skip
    arrow = '<div class="cofre-arrow">→</div>'
    return f'<div class="cofre-flow" data-testid="lineage-graph">{arrow.join(nodes)}</div>'


def lineage(record: dict[str, Any] | None, language: str) -> str:
    """The graph, a one-line summary, and the hashes and files behind a collapsed toggle."""
    t, lang = TEXT[language], language
    if not record:
        return note(t["lineage_none"], testid="lineage-none")
    gold, load = record["gold"], record["warehouse"]
    loaded_at = datetime.fromisoformat(load["loaded_at"]).astimezone(UTC)
    summary = t["lineage_load"].format(
        version=gold["version"], sha=(gold["manifest_sha256"] or "—")[:12], target=load["target"],
        at=fmt.timestamp(loaded_at), run=load["run_id"], rows=counted(load["rows"], "row", lang),
        tables=counted(len(load["tables"]), "table", lang),
    )  # fmt: skip
    parts = [lineage_graph(record, language), note(summary, testid="lineage-load")]
    if not gold.get("inputs_recorded"):
        parts.append(note(t["lineage_old_gold"], "warning"))
    headers = [(t["dataset"], False), (t["rows"], True), ("sha256", "hash"),
               (t["written_by"], False), (t["bronze_files"], True)]  # fmt: skip
    rows = [
        [s["dataset"], fmt.integer(s["rows"], lang), s["sha256"] or "—", s["written_by_run"] or "—",
         t["not_recorded"] if s["bronze"] is None else fmt.integer(len(s["bronze"]), lang)]
        for s in record["silver"]
    ]  # fmt: skip
    details = [columns((t["lineage_silver"], table(headers, rows, "lineage-silver")))]
    bronze = record["bronze"]
    headers = [(t["key"], "key"), ("sha256", "hash"), (t["source"], False), (t["bytes"], True),
               (t["landed_by"], False), (t["feeds"], False)]  # fmt: skip
    rows = [
        [b["key"], b["sha256"], f"{b['source']}/{b['dataset']}", fmt.integer(b["bytes"], lang),
         b["landed_by_run"], ", ".join(b["silver"])]
        for b in bronze[:LINEAGE_ROWS]
    ]  # fmt: skip
    title = t["lineage_bronze"].format(root=record["lake"]["bronze"])
    details.append(columns((title, table(headers, rows, "lineage-bronze"))))
    if len(bronze) > LINEAGE_ROWS:
        more = fmt.integer(len(bronze) - LINEAGE_ROWS, lang)
        details.append(note(t["lineage_more"].format(more=more)))
    toggle = t["lineage_details"].format(files=counted(len(bronze), "bronze_file", lang))
    parts.append(
        f'<details class="cofre-details" data-testid="lineage-details"><summary>'
        f"{escape(toggle)}</summary>{''.join(details)}</details>"
    )
    return f'<div class="cofre-lineage" data-testid="lineage">{"".join(parts)}</div>'


def operations(snapshot: OperationsSnapshot, language: str) -> str:
    """The whole tab; a part that could not be read says so and the others still show."""
    t = TEXT[language]
    parts = [
        (t["runs_title"], runs_html(snapshot, language)),
        (t["lineage_title"], lineage(snapshot.lineage, language)),
        (t["quality_title"], quality_html(snapshot, language)),
        (t["quarantine_title"], quarantine_html(snapshot, language)),
        (t["audit_title"], audit_html(snapshot, language)),
        (t["layers_title"], layers_html(snapshot, language)),
    ]
    problems = [
        note(t["part_error"].format(part=part, error=error), "warning")
        for part, error in snapshot.errors.items()
    ]
    body = "".join(f"<h3>{escape(title)}</h3>{html}" for title, html in parts)
    return f'<div data-testid="operations">{"".join(problems)}{body}</div>'
