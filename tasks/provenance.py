"""Provenance of a run's inputs: where each came from and who asked for the run.

One record per ingestion run, with exactly these keys:

- `olist`: `{"dir": "<resolved directory>"}` or `{"synthetic": {"seed": int, "orders": int}}`
  (None when the run did not read Olist, e.g. the monthly IPCA deployment);
- `files`: `{file name: sha256}` of each Olist file, as bronze computed it when landing;
- `sources`: `{"ipca" | "openweather" | "open_meteo": "live" | "snapshot" | "skipped"}`;
- `requested_by`: who asked (blocks/runtime/run_origin.py `requested_by`);
- `declared`: False when the flow run's parameters differ from its deployment's;
- `undeclared`: the names of those parameters, sorted.

It goes into the audit trail (one INPUT_PROVENANCE record), the run summary (`provenance`),
the lake (`gold/_provenance/<run_id>.json`, which the lineage of a load follows from each
bronze object's landing run to) and the dashboard's operations tab. Standard library and the
lake only: the dashboard reads it too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from blocks.lake import Lake
from validation.catalog import Layer

PROVENANCE_PREFIX = "_provenance"  # under the gold layer, next to the run summaries' `_runs`
KEYS = ("olist", "files", "sources", "requested_by", "declared", "undeclared")


def olist_origin(directory: Path | None, *, orders: int, seed: int) -> dict[str, Any]:
    """Where the Olist input came from: a resolved directory, else the synthetic set's seed
    and size."""
    if directory is not None:
        return {"dir": str(directory)}
    return {"synthetic": {"seed": int(seed), "orders": int(orders)}}


def build_provenance(
    *,
    olist: dict[str, Any] | None,
    files: Mapping[str, str],
    sources: Mapping[str, str],
    origin: Mapping[str, Any],
) -> dict[str, Any]:
    """The provenance record; `origin` holds `requested_by`, `declared`, `undeclared`."""
    return {
        "olist": olist,
        "files": dict(sorted(files.items())),
        "sources": dict(sorted(sources.items())),
        "requested_by": str(origin["requested_by"]),
        "declared": bool(origin["declared"]),
        "undeclared": sorted(origin["undeclared"]),
    }


def olist_label(olist: dict[str, Any] | None) -> str:
    """'/data/olist', 'synthetic (seed 42, 1,000 orders)' or 'not read'."""
    if not olist:
        return "not read"
    if "dir" in olist:
        return olist["dir"]
    synthetic = olist["synthetic"]
    return f"synthetic (seed {synthetic['seed']}, {synthetic['orders']:,} orders)"


def declared_label(provenance: Mapping[str, Any]) -> str:
    if provenance.get("declared", True):
        return "as declared"
    return f"NOT as declared: {', '.join(provenance.get('undeclared') or [])}"


def provenance_line(provenance: Mapping[str, Any]) -> str:
    """One line for the printed run summary."""
    sources = ", ".join(f"{name} {state}" for name, state in provenance["sources"].items())
    files = len(provenance["files"])
    return (
        f"Inputs: Olist {olist_label(provenance['olist'])} ({files} file(s), sha256 recorded); "
        f"sources: {sources or 'none'}; requested by {provenance['requested_by']}; "
        f"parameters {declared_label(provenance)}."
    )


def provenance_key(run_id: str) -> str:
    return f"{PROVENANCE_PREFIX}/{run_id}.json"


def record_provenance(lake: Lake, run_id: str, provenance: dict[str, Any]) -> str:
    """Audit one INPUT_PROVENANCE record and write the record to the lake; returns its URL."""
    from blocks import audit

    audit.record(
        audit.Action.INPUT_PROVENANCE,
        lake.url(Layer.BRONZE),
        details={"run_id": run_id, **provenance},
        outcome="success" if provenance["declared"] else "warning",
        compliance="LGPD_NA",
    )
    key = provenance_key(run_id)
    lake.write_bytes(Layer.GOLD, key, json.dumps(provenance, indent=2, sort_keys=True).encode())
    return lake.url(Layer.GOLD, key)


def read_provenance(lake: Lake, run_id: str) -> dict[str, Any] | None:
    """The provenance a run recorded, or None (none recorded, or unreadable)."""
    key = provenance_key(run_id)
    try:
        if not lake.exists(Layer.GOLD, key):
            return None
        found = json.loads(lake.read_bytes(Layer.GOLD, key))
    except (ValueError, OSError):
        return None
    return found if isinstance(found, dict) else None
