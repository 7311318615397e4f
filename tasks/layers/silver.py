"""Silver as the gold stage reads it: a dataset's frame, and its manifest as a gold input.

The silver stage writes `silver/<dataset>/data.parquet` and its `_manifest.json`
(tasks/silver/olist.py `write_silver_dataset`); a gold version lists the manifests it was built
from (`silver_ref` each) as its manifest's `inputs`, the middle link of the lineage
(tasks/warehouse/lineage.py).
"""

from __future__ import annotations

import io
import json
from typing import Any

import polars as pl

from blocks.lake import Lake
from validation.catalog import Layer, silver_key, silver_manifest_key


def read_silver(lake: Lake, name: str) -> pl.DataFrame:
    """Silver dataset `name` as the silver stage wrote it. Raises `LakeError` when absent."""
    return pl.read_parquet(io.BytesIO(lake.read_bytes(Layer.SILVER, silver_key(name))))


def silver_ref(manifest: dict[str, Any]) -> dict[str, Any]:
    """A silver dataset as a gold version lists it: its manifest without the columns.

    `bronze` is None for silver written before inputs were recorded (unknown, not empty)."""
    return {
        "dataset": manifest["dataset"],
        "key": silver_key(manifest["dataset"]),
        "sha256": manifest.get("sha256"),
        "rows": manifest.get("rows"),
        "bytes": manifest.get("bytes"),
        "written_by_run": manifest.get("run_id"),
        "written_at": manifest.get("written_at"),
        "bronze": manifest.get("inputs"),
    }


def silver_inputs(lake: Lake, datasets: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The `silver_ref` of every dataset in `datasets` that silver holds now (gold's inputs)."""
    found = {}
    for name in datasets:
        key = silver_manifest_key(name)
        if lake.exists(Layer.SILVER, key):
            found[name] = silver_ref(json.loads(lake.read_bytes(Layer.SILVER, key)))
    return found
