"""The ingestion stage's report: what landed in bronze and what served each external source."""

from __future__ import annotations

from typing import Any

from tasks.reports import StageReport
from tasks.sources.external import SourceResult


def ingestion_report(bronze: list[dict[str, Any]], results: list[SourceResult]) -> StageReport:
    """`bronze`: one row per landed object (with its "source"); `results`: one per external
    source. Rows count what was served this run, objects only what was newly written."""
    sources = [result.to_dict() for result in results]
    rows = sum(row["rows"] or 0 for row in bronze)
    fell_back = [result.source for result in results if result.fell_back]
    return StageReport(
        "ingestion",
        rows_in=rows,
        rows_out=rows,
        objects=[row["object"] for row in bronze if row["written"]],
        note=f"from bundled snapshots: {', '.join(fell_back)}" if fell_back else "",
        run_facts={"sources": sources},
        payload={"bronze": bronze, "sources": sources},
    )
