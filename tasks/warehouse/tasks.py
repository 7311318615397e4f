"""The warehouse stage's Prefect task face: one load of the current gold version."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from blocks.errors import WarehouseBusy
from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.retries import retry_only_on
from tasks.time_limits import current_task_timeout, time_limit
from tasks.warehouse.run import WarehouseSummary, load_warehouse

TIMEOUT_SETTING = "COFRE_WAREHOUSE_TIMEOUT_SECONDS"

# Retry a load only when another session kept a table busy (it rolled back; later it may get
# through). Bad data or configuration never retries.
retry_when_busy = retry_only_on(WarehouseBusy)


# The limit (per attempt) set here is the default; the flows pass the configured one.
@task(
    name="load-warehouse",
    task_run_name="warehouse load (dw.*)",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=30,
    retry_jitter_factor=0.5,  # two runs that met the same busy table do not come back together
    retry_condition_fn=retry_when_busy,
    timeout_seconds=CofreSettings.model_fields["warehouse_timeout_seconds"].default,
)
def load_warehouse_task(
    lake: Lake, settings: CofreSettings, run_id: str, url: str | None = None
) -> WarehouseSummary:
    with time_limit(
        "warehouse", TIMEOUT_SETTING, current_task_timeout(),
        aftermath="the load rolled back and the warehouse is unchanged",
    ):  # fmt: skip
        summary = load_warehouse(lake, settings, run_id, url)
    create_table_artifact(
        [{"table": f"dw.{name}", "rows": rows} for name, rows in summary.rows.items()],
        key="warehouse-load",
        description=f"Rows of gold version {summary.gold_version} loaded into {summary.target}",
    )
    return summary
