"""The gold stage's Prefect task face: the Spark job, gate and publish as one task."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from blocks.lake import Lake
from tasks.gold.run import GoldSummary, run_gold_stage


@task(name="build-gold", task_run_name="gold (spark)", cache_policy=NO_CACHE)
def run_gold_task(lake: Lake, run_id: str, master: str | None = None) -> GoldSummary:
    summary = run_gold_stage(lake, run_id, master)
    create_markdown_artifact(summary.report_markdown, key="gold-row-counts")
    return summary
