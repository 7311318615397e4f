"""The warehouse stage's Prefect task face: one load of the current gold version."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from blocks.errors import WarehouseBusy
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.runlog import retry_only_on
from tasks.warehouse.run import WarehouseSummary, load_warehouse

# Retry a load only when another session kept a table busy (it rolled back; later it may get
# through). Bad data or configuration never retries.
retry_when_busy = retry_only_on(WarehouseBusy)


@task(
    name="load-warehouse",
    task_run_name="warehouse load (dw.*)",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=30,
    retry_condition_fn=retry_when_busy,
)
def load_warehouse_task(
    lake: Lake, settings: CofreSettings, run_id: str, url: str | None = None
) -> WarehouseSummary:
    summary = load_warehouse(lake, settings, run_id, url)
    create_table_artifact(
        [{"table": f"dw.{name}", "rows": rows} for name, rows in summary.rows.items()],
        key="warehouse-load",
        description=f"Rows of gold version {summary.gold_version} loaded into {summary.target}",
    )
    return summary
