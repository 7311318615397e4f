"""The warehouse stage: the current gold version from the lake into `dw.*`, in one
transaction, audited with the version id; the lineage of what it loaded (tasks/warehouse/lineage.py)
goes into `dw.cofre_lineage` in the same transaction."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from blocks import audit
from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.layers.gold import read_current_gold, read_pointer
from tasks.reports import StageReport
from tasks.runlog import run_logger
from tasks.warehouse.connection import Warehouse, connect_warehouse
from tasks.warehouse.lineage import build_lineage, lineage_frame
from tasks.warehouse.load import load_tables
from tasks.warehouse.new_file import aside_for, discard, publish, written_back
from tasks.warehouse.schema import LINEAGE_TABLE, METADATA, migrate
from validation.catalog import GOLD_TABLES, Layer


@dataclass
class WarehouseSummary:
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    migrations_applied: list[int] = field(default_factory=list)
    seconds: float = 0.0
    gold_version: str = ""  # the gold version loaded
    lineage: dict[str, Any] | None = None  # bronze -> silver -> gold -> this load

    def stage_report(self) -> StageReport:
        rows = sum(self.rows.values())
        return StageReport(
            "warehouse",
            rows_in=rows,
            rows_out=rows,
            note=f"{self.target} (gold version {self.gold_version})",
            run_facts={"gold_version": self.gold_version, "lineage": self.lineage},
            payload={"target": self.target, "rows": self.rows, "gold_version": self.gold_version,
                     "lineage": self.lineage},
        )  # fmt: skip


def load_warehouse(
    lake: Lake, settings: CofreSettings, run_id: str, url: str | None = None
) -> WarehouseSummary:
    """Migrate the schema if needed, then replace every table from the current gold version
    in one transaction. Raises `InvalidSourceData` (nothing is loaded) when gold has no
    current version, or the version is incomplete, mixed or fails its checksums."""
    started = time.perf_counter()
    try:
        manifest, frames = read_current_gold(lake)
    except InvalidSourceData as exc:
        audit.record(
            audit.Action.WAREHOUSE_LOAD,
            lake.url(Layer.GOLD),
            details={"run_id": run_id, "error": type(exc).__name__, "loaded": False},
            outcome="failure",
        )
        raise
    warehouse = connect_warehouse(settings, url)
    try:
        return _load(warehouse, lake, manifest, frames, run_id, started)
    finally:
        warehouse.dispose()


def _load(
    warehouse: Warehouse, lake: Lake, manifest: dict, frames: dict, run_id: str, started: float
) -> WarehouseSummary:
    log = run_logger(__name__)
    version = manifest["version"]
    summary = WarehouseSummary(warehouse.description, gold_version=version)
    loaded = {t: frames[t] for t in GOLD_TABLES}
    pointer = read_pointer(lake) or {}  # the home lock keeps it the one read above
    digest = pointer.get("manifest_sha256") if pointer.get("version") == version else None
    summary.lineage = build_lineage(
        manifest, digest, lake=lake, target=warehouse.description, run_id=run_id,
        loaded_at=datetime.now(UTC), rows={t: f.height for t, f in loaded.items()},
    )  # fmt: skip
    loaded[LINEAGE_TABLE] = lineage_frame(summary.lineage)  # replaced with the data it describes
    try:
        summary.migrations_applied, summary.rows = migrate_and_load(warehouse, loaded)
    except Exception as exc:
        audit.record(
            audit.Action.WAREHOUSE_LOAD,
            warehouse.description,
            details={"run_id": run_id, "gold_version": version, "error": type(exc).__name__,
                     "rolled_back": True},
            outcome="failure",
        )  # fmt: skip
        raise
    if summary.migrations_applied:
        log.info("Warehouse schema migrated: versions %s applied.", summary.migrations_applied)
    del summary.rows[LINEAGE_TABLE]  # the load's own record, not a gold table
    summary.seconds = time.perf_counter() - started
    audit.record(
        audit.Action.WAREHOUSE_LOAD,
        warehouse.description,
        details={"run_id": run_id, "gold_version": version, "rows": summary.rows,
                 "seconds": round(summary.seconds, 2)},
    )  # fmt: skip
    log.info(
        "Loaded %s table(s), %s rows of gold version %s into %s in %.1f s.",
        len(summary.rows),
        f"{sum(summary.rows.values()):,}",
        version,
        warehouse.description,
        summary.seconds,
    )
    return summary


def migrate_and_load(warehouse: Warehouse, frames: dict) -> tuple[list[int], dict[str, int]]:
    """Migrate, then load `frames` in one transaction: a new SQLite warehouse in a file of its
    own, published whole once loaded (tasks/warehouse/new_file.py), any other in place."""
    aside = aside_for(warehouse)
    if aside is not None:
        try:
            applied = migrate(aside)
            with written_back(aside):
                rows = load_tables(aside, METADATA, frames, new_file=True)
        except BaseException:
            discard(aside)
            raise
        if publish(aside, warehouse):
            return applied, rows
    return migrate(warehouse), load_tables(warehouse, METADATA, frames)
