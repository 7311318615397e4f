"""What a pipeline run leaves beside the dashboard's data: the load's lineage row in the
warehouse, the run summary (with or without `provenance`) and a provenance record in the lake.

Shapes as tasks/warehouse/lineage.py `build_lineage` and the run summary write them; small
and fixed, so the tests can name every value they expect on the page.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from blocks.lake import Lake
from tasks.warehouse.connection import Warehouse
from tasks.warehouse.lineage import lineage_frame
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import LINEAGE_TABLE, METADATA

LOAD_RUN, LANDING_RUN = "run-load-2", "run-land-1"
LOADED_AT = datetime(2026, 12, 4, 15, 1, 30, tzinfo=UTC)
PROVENANCE = {
    "olist": {"synthetic": {"seed": 42, "orders": 2000}},
    "files": {"olist_orders_dataset.csv": "ab" * 32},
    "sources": {"ipca": "snapshot", "open_meteo": "snapshot", "openweather": "skipped"},
    "requested_by": "tester",
    "declared": True,
    "undeclared": [],
}


def _bronze(source: str, dataset: str, name: str, size: int, silver: str) -> dict[str, Any]:
    return {"key": f"{source}/{dataset}/ingest_date=2026-12-04/{name}", "sha256": "cd" * 32,
            "source": source, "dataset": dataset, "bytes": size,
            "fetched_at": "2026-12-04T14:00:00+00:00", "landed_by_run": LANDING_RUN,
            "silver": [silver]}  # fmt: skip


def lineage_record() -> dict[str, Any]:
    """A loaded gold version fed by 2 Olist files, IPCA and one capital's weather."""
    bronze = [
        _bronze("bcb_sgs", "ipca_433", "ipca.json", 2_345, "ipca_monthly"),
        _bronze("olist", "orders", "olist_orders_dataset.csv", 17_654_321, "sales"),
        _bronze("olist", "order_items", "olist_order_items_dataset.csv", 15_438_671, "sales"),
        _bronze("open_meteo", "daily", "SP.json", 189_751, "weather_daily"),
    ]
    silver = [
        {"dataset": name, "key": f"{name}/data.parquet", "sha256": "ef" * 32, "rows": rows,
         "bytes": 1_000, "written_by_run": LANDING_RUN, "written_at": "2026-12-04T14:01:00",
         "bronze": [b["key"] for b in bronze if name in b["silver"]]}
        for name, rows in (("ipca_monthly", 36), ("sales", 112_650), ("weather_daily", 790))
    ]  # fmt: skip
    return {
        "format": 1,
        "lake": {
            "bronze": "file:///lake/bronze",
            "silver": "file:///lake/silver",
            "gold": "file:///lake/gold",
        },
        "bronze": bronze,
        "silver": silver,
        "gold": {
            "version": "v20261204T150000Z",
            "manifest_sha256": "12" * 32,
            "created": "2026-12-04T15:00:00+00:00",
            "tables": {"fact_sales": 13},
            "silver": [s["dataset"] for s in silver],
            "inputs_recorded": True,
        },
        "warehouse": {
            "target": "sqlite:///warehouse.db",
            "run_id": LOAD_RUN,
            "loaded_at": LOADED_AT.isoformat(),
            "tables": {"fact_sales": 13},
            "rows": 13,
        },
    }


def load_lineage(warehouse: Warehouse, record: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the load's lineage row into `dw.cofre_lineage`, as a warehouse load does."""
    record = record or lineage_record()
    load_tables(warehouse, METADATA, {LINEAGE_TABLE: lineage_frame(record)})
    return record


def run_summary(run_id: str, **extra: Any) -> dict[str, Any]:
    return {"run_id": run_id, "flow_run_name": f"name-{run_id}", "state": "completed",
            "started_at": "2026-12-04T14:00:00+00:00", "finished_at": "2026-12-04T15:02:00+00:00",
            "stages": [{"stage": "ingest", "status": "completed", "seconds": 12.5},
                       {"stage": "silver", "status": "completed", "seconds": 30.25},
                       {"stage": "gold", "status": "completed", "seconds": 8.0},
                       {"stage": "warehouse", "status": "completed", "seconds": 4.5}],
            "sources": [], "quality": {}, **extra}  # fmt: skip


def write_summary(lake: Lake, summary: dict[str, Any]) -> None:
    lake.write_bytes("gold", f"_runs/{summary['run_id']}.json", json.dumps(summary).encode())


def write_provenance(lake: Lake, run_id: str, provenance: dict[str, Any]) -> None:
    """`gold/_provenance/<run_id>.json`, as an ingestion run records it."""
    lake.write_bytes("gold", f"_provenance/{run_id}.json", json.dumps(provenance).encode())
