"""Lineage of every number: bronze objects -> silver datasets -> gold version -> warehouse load.

Each stage records its own link when it writes; the warehouse load assembles the chain of the
data it holds:

- a silver dataset's `_manifest.json` lists the bronze objects it was built from (`inputs`,
  one `bronze_ref` each: key, sha256, source, ...; tasks/silver/olist.py), written by silver;
- a gold version's `_manifest.json` lists the silver manifests it was built from (`inputs`,
  one `silver_ref` per dataset, taken when the gold stage started; tasks/layers/silver.py),
  sealed with the version;
- the warehouse load reads the version it loads, so `build_lineage` follows that version's
  manifest: the chain is the one of the loaded data, whichever run wrote each link (a run
  that re-used bronze objects lists the runs that landed them);
- each run that landed a bronze object recorded its inputs' provenance (tasks/provenance.py:
  the Olist directory or synthetic seed, each file's sha256, live or snapshot sources, who
  asked, whether the parameters were the deployment's): the chain ends there.

The record goes into the run summary, the `lineage` artifact and `dw.cofre_lineage` (one row,
replaced in the load's transaction). No Prefect here: the dashboard reads it too. No secret
either: the warehouse target is its safe description, and `safe_target` masks a password
anyway.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Engine, inspect, select

from blocks.lake import Lake
from blocks.runtime.redaction import mask_url_password
from tasks.provenance import provenance_line, read_provenance
from tasks.warehouse.schema import LINEAGE_TABLE, METADATA, SCHEMA
from validation.catalog import Layer

FORMAT = 1
MARKDOWN_ROWS = 200  # bronze rows in the artifact; the JSON keeps them all


# -- the chain of one load ---------------------------------------------------------------
def safe_target(target: str) -> str:
    """A warehouse description with any `user:password@` masked (it should hold none)."""
    return mask_url_password(target)


def build_lineage(
    gold_manifest: dict[str, Any],
    manifest_sha256: str | None,
    *,
    lake: Lake,
    target: str,
    run_id: str,
    loaded_at: datetime,
    rows: dict[str, int],
) -> dict[str, Any]:
    """The lineage record of loading `gold_manifest`'s version into `target`."""
    silver = sorted(gold_manifest.get("inputs", {}).values(), key=lambda s: s["dataset"])
    bronze: dict[str, dict[str, Any]] = {}
    for dataset in silver:
        for ref in dataset["bronze"] or []:
            entry = bronze.setdefault(ref["key"], {**ref, "silver": []})
            entry["silver"].append(dataset["dataset"])
    tables = gold_manifest.get("tables", {})
    landing_runs = sorted({b["landed_by_run"] for b in bronze.values() if b.get("landed_by_run")})
    return {
        "format": FORMAT,
        # Where each landing run's inputs came from and who asked (tasks/provenance.py);
        # None for a run that landed before provenance was recorded.
        "provenance": {run: read_provenance(lake, run) for run in landing_runs},
        "lake": {layer: lake.url(layer) for layer in (Layer.BRONZE, Layer.SILVER, Layer.GOLD)},
        "bronze": sorted(bronze.values(), key=lambda b: (b["source"], b["dataset"], b["key"])),
        "silver": [
            {**s, "bronze": None if s["bronze"] is None else [b["key"] for b in s["bronze"]]}
            for s in silver
        ],
        "gold": {
            "version": gold_manifest["version"],
            "manifest_sha256": manifest_sha256,
            "created": gold_manifest.get("created"),
            "tables": {name: entry["rows"] for name, entry in tables.items()},
            "silver": [s["dataset"] for s in silver],
            "inputs_recorded": "inputs" in gold_manifest,
        },
        "warehouse": {
            "target": safe_target(target),
            "run_id": run_id,
            "loaded_at": loaded_at.isoformat(),
            "tables": dict(rows),
            "rows": sum(rows.values()),
        },
    }


# -- in the warehouse ------------------------------------------------------------------------
def lineage_frame(lineage: dict[str, Any]) -> pl.DataFrame:
    """The one row of `dw.cofre_lineage` for `lineage` (loaded with the data it describes)."""
    loaded_at = datetime.fromisoformat(lineage["warehouse"]["loaded_at"])
    return pl.DataFrame(
        {
            "run_id": [lineage["warehouse"]["run_id"]],
            "gold_version": [lineage["gold"]["version"]],
            "loaded_at": [loaded_at.replace(tzinfo=None)],  # UTC, as the other timestamps
            "lineage": [json.dumps(lineage, sort_keys=True)],
        },
        schema={"run_id": pl.String, "gold_version": pl.String,
                "loaded_at": pl.Datetime("us"), "lineage": pl.String},
    )  # fmt: skip


def read_loaded_lineage(engine: Engine) -> dict[str, Any] | None:
    """The lineage of what the warehouse holds, or None (never loaded with lineage yet)."""
    table = METADATA.tables[f"{SCHEMA}.{LINEAGE_TABLE}"]
    with engine.connect() as conn:
        schema = SCHEMA if engine.dialect.name == "postgresql" else None
        if not inspect(conn).has_table(LINEAGE_TABLE, schema=schema):
            return None
        stored = conn.execute(select(table.c.lineage).order_by(table.c.loaded_at.desc())).first()
    return json.loads(stored[0]) if stored else None


# -- for people ------------------------------------------------------------------------------
def lineage_markdown(lineage: dict[str, Any]) -> str:
    """The record as Markdown tables (the `lineage` artifact)."""
    gold, load = lineage["gold"], lineage["warehouse"]
    lines = [
        f"# Lineage of gold version {gold['version']}",
        "",
        f"Loaded into `{load['target']}` at {load['loaded_at']} by run {load['run_id']}: "
        f"{load['rows']:,} rows in {len(load['tables'])} tables. Gold manifest sha256 "
        f"`{gold['manifest_sha256']}`, created {gold['created']}.",
        "",
        "| silver dataset | rows | sha256 | written by run | bronze objects |",
        "|---|---:|---|---|---:|",
    ]
    for s in lineage["silver"]:
        fed = "not recorded" if s["bronze"] is None else f"{len(s['bronze']):,}"
        lines.append(
            f"| {s['dataset']} | {s['rows'] or 0:,} | `{s['sha256']}` | {s['written_by_run']}"
            f" | {fed} |"
        )
    for run, provenance in (lineage.get("provenance") or {}).items():
        if provenance:
            lines += ["", f"Bronze landed by run {run}: {provenance_line(provenance)}"]
        else:
            lines += ["", f"Bronze landed by run {run}: its input provenance was not recorded."]
    if not gold["inputs_recorded"]:
        lines += ["", "This gold version was made before gold recorded its silver inputs."]
    lines += [
        "",
        f"Bronze objects under `{lineage['lake']['bronze']}`:",
        "",
        "| bronze key | sha256 | source | bytes | landed by run | silver |",
        "|---|---|---|---:|---|---|",
    ]
    shown = lineage["bronze"][:MARKDOWN_ROWS]
    lines += [
        f"| `{b['key']}` | `{b['sha256']}` | {b['source']}/{b['dataset']} | {b['bytes']:,}"
        f" | {b['landed_by_run']} | {', '.join(b['silver'])} |"
        for b in shown
    ]
    if len(lineage["bronze"]) > len(shown):
        more = len(lineage["bronze"]) - len(shown)
        lines += ["", f"… and {more:,} more (all of them in the run summary's JSON)."]
    return "\n".join(lines)
