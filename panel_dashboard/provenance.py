"""Where the loaded numbers come from: when they were loaded, whether the sales are synthetic,
and whether IPCA and weather came live or from the bundled snapshots.

Read from what the pipeline recorded, never guessed from the settings of the dashboard's own
process: the load time and run from `dw.cofre_lineage` (the warehouse the page reads), the
rest from that run's summary in `gold/_runs/` (its `provenance`; a summary written before
provenance existed gives its `sources` rows, and the sales' origin stays unknown). Nothing
here raises: an unreadable lake or summary means "not recorded", and the page says only what
it knows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, inspect, select

from blocks.lake import Lake
from tasks.run_summary import read_run_summaries
from tasks.sources.snapshots import snapshot_bytes
from tasks.warehouse.lineage import read_loaded_lineage
from tasks.warehouse.schema import LINEAGE_TABLE, METADATA, SCHEMA
from validation.catalog import RUNS_PREFIX, Layer

LINEAGE = METADATA.tables[f"{SCHEMA}.{LINEAGE_TABLE}"]
# The bundled payload whose last observation dates each snapshot (tasks/sources/snapshots).
PROVENANCE = "_provenance"  # gold/_provenance/<run_id>.json, one per ingestion run
SNAPSHOT_FILES = {"ipca": "bcb_sgs_433.json", "weather": "open_meteo_SP.json"}


@dataclass(frozen=True)
class DataOrigin:
    loaded_at: datetime | None = None  # UTC
    run_id: str | None = None  # the run that loaded the warehouse
    gold_version: str | None = None
    synthetic: dict[str, int] | None = None  # {"seed", "orders"}: sales from the generator
    olist_dir: str | None = None  # real Olist files from this directory
    sources: dict[str, str] = field(default_factory=dict)  # ipca / weather -> live | snapshot …


def loaded_version(engine: Engine) -> tuple[datetime | None, str | None, str | None]:
    """(loaded at, UTC; run id; gold version) of the warehouse's newest load, or Nones."""
    with engine.connect() as conn:
        schema = SCHEMA if engine.dialect.name == "postgresql" else None
        if not inspect(conn).has_table(LINEAGE_TABLE, schema=schema):
            return None, None, None
        c = LINEAGE.c
        row = conn.execute(
            select(c.loaded_at, c.run_id, c.gold_version).order_by(c.loaded_at.desc()).limit(1)
        ).first()
    if row is None:
        return None, None, None
    loaded_at = row[0]
    if isinstance(loaded_at, str):  # SQLite hands back text on some paths
        loaded_at = datetime.fromisoformat(loaded_at)
    return loaded_at.replace(tzinfo=UTC) if loaded_at.tzinfo is None else loaded_at, row[1], row[2]


def _read_json(lake: Lake, key: str) -> dict[str, Any] | None:
    if not lake.exists(Layer.GOLD, key):
        return None
    found = json.loads(lake.read_bytes(Layer.GOLD, key))
    return found if isinstance(found, dict) else None


def landing_runs(record: dict[str, Any] | None, source: str = "olist") -> list[str]:
    """The runs that landed the loaded data's `source` bronze objects (from the lineage
    record), most objects first: a load that re-used bronze was not the run that read it."""
    runs: dict[str, int] = {}
    for entry in (record or {}).get("bronze") or []:
        if entry.get("source") == source and entry.get("landed_by_run"):
            runs[entry["landed_by_run"]] = runs.get(entry["landed_by_run"], 0) + 1
    return sorted(runs, key=lambda run: -runs[run])


def recorded_provenance(
    lake: Lake, run_ids: list[str]
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(the first of `run_ids`' provenance records, the first run's summary): from the run
    summary's `provenance`, else `gold/_provenance/<run_id>.json`."""
    first_summary = None
    for index, run_id in enumerate(run_ids):
        summary = _read_json(lake, f"{RUNS_PREFIX}/{run_id}.json")
        first_summary = summary if index == 0 else first_summary
        found = (summary or {}).get("provenance") or _read_json(lake, f"{PROVENANCE}/{run_id}.json")
        if isinstance(found, dict):
            return found, first_summary
    return None, first_summary


def source_kind(name: str) -> str | None:
    """`ipca` or `weather` for a source's name: `bcb_sgs/ipca_433` feeds the deflated line,
    `open_meteo/daily` the sales-vs-weather mart (OpenWeather's current weather feeds neither)."""
    name = name.lower()
    if name.startswith("bcb_sgs") or "ipca" in name:
        return "ipca"
    if name.startswith("open_meteo"):
        return "weather"
    return None


def source_modes(provenance: dict[str, Any] | None, summary: dict[str, Any] | None) -> dict:
    """ipca / weather -> live | snapshot | skipped: the provenance's `sources`, else (a run
    from before provenance) the modes of its summary's `sources` rows."""
    recorded = (provenance or {}).get("sources")
    if not isinstance(recorded, dict):
        rows = [row for row in (summary or {}).get("sources") or [] if isinstance(row, dict)]
        recorded = {row.get("source", ""): row.get("mode", "") for row in rows}
    return {
        kind: str(mode)
        for name, mode in recorded.items()
        if (kind := source_kind(str(name))) and mode in ("live", "snapshot", "skipped")
    }


def origin_from(
    provenance: dict[str, Any] | None, summary: dict[str, Any] | None, **load: Any
) -> DataOrigin:
    """The origin a provenance record (and the load run's summary) say."""
    olist = (provenance or {}).get("olist")
    olist = olist if isinstance(olist, dict) else {}
    synthetic = olist.get("synthetic")
    return DataOrigin(
        **load,
        synthetic=synthetic if isinstance(synthetic, dict) else None,
        olist_dir=olist.get("dir"),
        sources=source_modes(provenance, summary),
    )


def data_origin(engine: Engine, lake: Lake | None) -> DataOrigin:
    """What the page can say about the loaded data (never raises)."""
    try:
        loaded_at, run_id, version = loaded_version(engine)
        record = read_loaded_lineage(engine)
    except Exception:  # an old warehouse or a driver hiccup: no load facts
        loaded_at, run_id, version, record = None, None, None, None
    load = {"loaded_at": loaded_at, "run_id": run_id, "gold_version": version}
    if lake is None:
        return DataOrigin(**load)
    if run_id is None:  # loaded before lineage: the newest run is the best guess there is
        newest = _attempt(lambda: read_run_summaries(lake, limit=1), [])
        run_id = newest[0].get("run_id") if newest else None
    runs = list(dict.fromkeys([r for r in [run_id, *landing_runs(record)] if r]))
    provenance, summary = _attempt(lambda: recorded_provenance(lake, runs), (None, None))
    return origin_from(provenance, summary, **load)


def _attempt(work, fallback):
    try:
        return work()
    except Exception:  # an unreadable lake or summary: "not recorded", never an error page
        return fallback


def snapshot_through(kind: str) -> date | None:
    """The last day the bundled `kind` snapshot (ipca, weather) has data for."""
    try:
        payload = json.loads(snapshot_bytes(SNAPSHOT_FILES[kind]) or b"null")
        if kind == "ipca":  # BCB SGS: [{"data": "dd/mm/yyyy", "valor": ...}]
            return datetime.strptime(payload[-1]["data"], "%d/%m/%Y").date()
        return date.fromisoformat(payload["daily"]["time"][-1])  # Open-Meteo's daily layout
    except (KeyError, IndexError, TypeError, ValueError):
        return None
