"""The gold gate: every gold table's schema, then reconciliation with silver.

Gold has no quarantine: a gold table is derived, so any failure means the job (or silver) is
wrong, and the run stops before anything is published. `gold_gate` collects every problem
(schema failures of every table, then every reconciliation check) and raises
`QualityGateFailed` listing them all. The schemas are in `validation/gold_schemas.py`, the
checks in `validation/gold_reconcile.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from blocks.errors import QualityGateFailed
from validation.catalog import GOLD_TABLES
from validation.gold_reconcile import reconcile_gold
from validation.gold_schemas import schema_problems


def gold_gate(
    silver_frames: Mapping[str, pl.DataFrame], gold_frames: Mapping[str, pl.DataFrame]
) -> dict[str, int]:
    """Validate every gold table and reconcile; return {table: rows}.

    Raises `QualityGateFailed` listing every problem: a missing table, each schema failure,
    each reconciliation mismatch.
    """
    missing = [name for name in GOLD_TABLES if name not in gold_frames]
    if missing:
        raise QualityGateFailed(f"Gold gate: table(s) {missing} were not produced by the job.")
    # Reconciliation runs beside the schemas (polars releases the GIL; 10x: 1.45 -> 1.1 s).
    with ThreadPoolExecutor(1, thread_name_prefix="gold-reconcile") as pool:
        reconciled = pool.submit(reconcile_gold, silver_frames, gold_frames)
        problems = [p for name in GOLD_TABLES for p in schema_problems(name, gold_frames[name])]
        problems += reconciled.result()
    if problems:
        raise QualityGateFailed(
            f"Gold gate failed with {len(problems)} problem(s); nothing was published and the "
            "previous gold stays in place. Fix the job or silver, then re-run:\n  - "
            + "\n  - ".join(problems)
        )
    return {name: gold_frames[name].height for name in GOLD_TABLES}
