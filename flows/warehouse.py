"""Warehouse stage: gold -> `dw.*` (PostgreSQL with COPY, or the embedded SQLite file).

python -m flows.warehouse --help
python -m flows.warehouse --warehouse postgresql://cofre@db:5432/cofre   # no password in URLs
"""

from __future__ import annotations

if __name__ == "__main__":  # flags, settings, paths, URLs checked before Prefect is imported
    from flows.stage_cli import run_stage_cli

    run_stage_cli("warehouse", __doc__)  # imports flows.warehouse, runs its flow, exits

from prefect import flow

from flows.run_frame import cofre_run, current_frame
from tasks.warehouse.tasks import load_warehouse_task


@flow(name="warehouse", log_prints=True)
@cofre_run
def warehouse(
    lake: str | None = None, warehouse_url: str | None = None, run_id: str | None = None
) -> dict:
    """Load every gold table into the warehouse in one transaction.

    Returns {"target", "rows" (per table), "gold_version", "report"}.
    """
    frame = current_frame()  # settings, lake and run id from the parameters, built once
    limit = frame.settings.warehouse_timeout_seconds  # COFRE_WAREHOUSE_TIMEOUT_SECONDS
    load = load_warehouse_task.with_options(timeout_seconds=limit)
    summary = load(frame.lake, frame.settings, frame.run_id)
    print(
        f"Warehouse {summary.target} (gold version {summary.gold_version}): "
        + ", ".join(f"{t}={n:,}" for t, n in summary.rows.items())
    )
    return summary.stage_report().as_flow_result()
