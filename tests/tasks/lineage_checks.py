"""Checks of a lineage record against the lake and the warehouse, shared by the lineage tests
and the full pipeline's end-to-end test (which reuses its pipeline runs for them)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tasks.warehouse.connection import Warehouse
from tasks.warehouse.lineage import read_loaded_lineage


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_lineage_matches_lake(lake_root: Path, lineage: dict) -> None:
    """Every bronze sha256 and size is the one of the bytes at its key; silver's and the gold
    manifest's checksums are those of the lake's files; the load's rows are the version's."""
    assert lineage["bronze"], "no bronze object in the lineage"
    for bronze in lineage["bronze"]:
        path = lake_root / "bronze" / bronze["key"]
        assert _sha256(path) == bronze["sha256"], bronze["key"]
        assert path.stat().st_size == bronze["bytes"], bronze["key"]
        assert bronze["silver"], bronze["key"]
    keys = {b["key"] for b in lineage["bronze"]}
    for silver in lineage["silver"]:
        assert _sha256(lake_root / "silver" / silver["key"]) == silver["sha256"], silver["key"]
        assert silver["bronze"] and set(silver["bronze"]) <= keys, silver["dataset"]
    gold = lineage["gold"]
    manifest = lake_root / "gold" / "_versions" / gold["version"] / "_manifest.json"
    assert _sha256(manifest) == gold["manifest_sha256"]
    assert gold["tables"] == {
        t: e["rows"] for t, e in json.loads(manifest.read_text())["tables"].items()
    }
    assert lineage["warehouse"]["tables"] == gold["tables"]
    assert gold["inputs_recorded"] and set(gold["silver"]) == {
        s["dataset"] for s in lineage["silver"]
    }


def assert_warehouse_holds(warehouse: Warehouse, lineage: dict) -> None:
    """The warehouse's `dw.cofre_lineage` says exactly what the run summary says."""
    assert read_loaded_lineage(warehouse.engine) == lineage
