"""The silver stage's Prefect task face: the stage as one task, its quality report an artifact."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.silver.run import SilverSummary, run_silver


@task(name="build-silver", task_run_name="silver (olist, ipca, weather)", cache_policy=NO_CACHE)
def run_silver_task(lake: Lake, settings: CofreSettings, run_id: str) -> SilverSummary:
    summary = run_silver(lake, settings, run_id)
    create_markdown_artifact(
        summary.report_markdown,
        key="silver-quality-report",
        description="Rows held back per silver dataset and check, and the sales reconciliation",
    )
    return summary
