"""The warehouse stage: the current gold version from the lake into `dw.*`, in one
transaction, audited with the version id; the lineage of what it loaded (tasks/warehouse/lineage.py)
goes into `dw.cofre_lineage` in the same transaction."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import polars as pl

from blocks import audit
from blocks.errors import InvalidSourceData
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.layers.gold import read_current_gold, read_current_manifest, read_pointer
from tasks.reports import StageReport
from tasks.runlog import run_logger
from tasks.warehouse.connection import Warehouse, connect_warehouse
from tasks.warehouse.early import EarlyLoad, take_early_load
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
    started_during_gold: bool = False  # the load committed was started with gold (early.py)

    def stage_report(self) -> StageReport:
        rows = sum(self.rows.values())
        during = ", begun while gold ran" if self.started_during_gold else ""
        return StageReport(
            "warehouse",
            rows_in=rows,
            rows_out=rows,
            note=f"{self.target} (gold version {self.gold_version}{during})",
            run_facts={"gold_version": self.gold_version, "lineage": self.lineage},
            payload={"target": self.target, "rows": self.rows, "gold_version": self.gold_version,
                     "lineage": self.lineage, "started_during_gold": self.started_during_gold},
        )  # fmt: skip


# What a load returns: (migrations applied, {table: rows}, whether it was begun with gold).
Loaded = tuple[list[int], dict[str, int], bool]


def load_warehouse(
    lake: Lake, settings: CofreSettings, run_id: str, url: str | None = None
) -> WarehouseSummary:
    """Migrate the schema if needed, then replace every table from the current gold version
    in one transaction. Raises `InvalidSourceData` (nothing is loaded) when gold has no
    current version, or the version is incomplete, mixed or fails its checksums.

    When this process started the load while gold ran (tasks/warehouse/early.py), that load
    is committed instead if it holds exactly the current version."""
    started = time.perf_counter()
    early = take_early_load(run_id)
    if early is not None:
        summary = _commit_early(early, lake, settings, run_id, url, started)
        if summary is not None:
            return summary
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
        rows = {t: frames[t].height for t in GOLD_TABLES}

        def load(lineage: pl.DataFrame) -> Loaded:
            loaded = {**{t: frames[t] for t in GOLD_TABLES}, LINEAGE_TABLE: lineage}
            return *migrate_and_load(warehouse, loaded), False

        return _load(warehouse, lake, manifest, rows, load, run_id, started)
    finally:
        warehouse.dispose()


def _commit_early(
    early: EarlyLoad,
    lake: Lake,
    settings: CofreSettings,
    run_id: str,
    url: str | None,
    started: float,
) -> WarehouseSummary | None:
    """The early load committed as this stage's load, or None (rolled back) when it is not
    exactly the current version, or another warehouse is configured: load as usual."""
    warehouse = connect_warehouse(settings, url)
    try:
        why = None if early.loads_into(warehouse) else "it loads another warehouse"
        if why is None:
            try:
                manifest = read_current_manifest(lake)
            except InvalidSourceData as exc:  # reported by the ordinary read, audited
                why = str(exc)
            else:
                why = early.difference(manifest)
        if why is not None:
            early.abandon()
            run_logger(__name__).warning(
                "The warehouse load started during gold was rolled back (%s); loading the "
                "current gold version from the lake instead.",
                why,
            )
            return None
        rows = {t: manifest["tables"][t]["rows"] for t in GOLD_TABLES}

        def load(lineage: pl.DataFrame) -> Loaded:
            done = early.commit(lineage)
            if done.published:
                return done.migrations_applied, done.rows, True
            # A file took the new warehouse's name meanwhile: load that one in place.
            _, frames = read_current_gold(lake)
            return *migrate_and_load(warehouse, {**frames, LINEAGE_TABLE: lineage}), False

        return _load(warehouse, lake, manifest, rows, load, run_id, started)
    finally:
        early.abandon()  # at once when committed
        warehouse.dispose()


def _load(
    warehouse: Warehouse,
    lake: Lake,
    manifest: dict,
    rows: dict[str, int],
    load: Callable[[pl.DataFrame], Loaded],
    run_id: str,
    started: float,
) -> WarehouseSummary:
    """`load` the gold tables (`rows` of each) with the lineage frame of this load, audited."""
    log = run_logger(__name__)
    version = manifest["version"]
    summary = WarehouseSummary(warehouse.description, gold_version=version)
    pointer = read_pointer(lake) or {}  # the home lock keeps it the one read above
    digest = pointer.get("manifest_sha256") if pointer.get("version") == version else None
    summary.lineage = build_lineage(
        manifest, digest, lake=lake, target=warehouse.description, run_id=run_id,
        loaded_at=datetime.now(UTC), rows=rows,
    )  # fmt: skip
    try:
        # replaced with the data it describes
        loaded = load(lineage_frame(summary.lineage))
        summary.migrations_applied, summary.rows, summary.started_during_gold = loaded
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
        "Loaded %s table(s), %s rows of gold version %s into %s in %.1f s%s.",
        len(summary.rows),
        f"{sum(summary.rows.values()):,}",
        version,
        warehouse.description,
        summary.seconds,
        " (begun while gold ran)" if summary.started_during_gold else "",
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
