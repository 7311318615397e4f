"""The warehouse stage: the current gold version from the lake into `dw.*`, in one
transaction, audited with the version id."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from blocks import audit
from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.gold.versions import read_current_gold
from tasks.reports import StageReport
from tasks.runlog import run_logger
from tasks.warehouse.connection import Warehouse, connect_warehouse
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import METADATA, migrate
from validation.catalog import GOLD_TABLES


@dataclass
class WarehouseSummary:
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    migrations_applied: list[int] = field(default_factory=list)
    seconds: float = 0.0
    gold_version: str = ""  # the gold version loaded

    def stage_report(self) -> StageReport:
        rows = sum(self.rows.values())
        return StageReport(
            "warehouse",
            rows_in=rows,
            rows_out=rows,
            note=f"{self.target} (gold version {self.gold_version})",
            run_facts={"gold_version": self.gold_version},
            payload={"target": self.target, "rows": self.rows, "gold_version": self.gold_version},
        )


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
            lake.url("gold"),
            details={"run_id": run_id, "error": type(exc).__name__, "loaded": False},
            outcome="failure",
        )
        raise
    warehouse = connect_warehouse(settings, url)
    try:
        return _load(warehouse, frames, run_id, started, manifest["version"])
    finally:
        warehouse.dispose()


def _load(
    warehouse: Warehouse, frames: dict, run_id: str, started: float, version: str
) -> WarehouseSummary:
    log = run_logger(__name__)
    summary = WarehouseSummary(warehouse.description, gold_version=version)
    summary.migrations_applied = migrate(warehouse)
    if summary.migrations_applied:
        log.info("Warehouse schema migrated: versions %s applied.", summary.migrations_applied)
    try:
        summary.rows = load_tables(warehouse, METADATA, {t: frames[t] for t in GOLD_TABLES})
    except Exception as exc:
        audit.record(
            audit.Action.WAREHOUSE_LOAD,
            warehouse.description,
            details={"run_id": run_id, "gold_version": version, "error": type(exc).__name__,
                     "rolled_back": True},
            outcome="failure",
        )  # fmt: skip
        raise
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
