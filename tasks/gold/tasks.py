"""The gold stage's Prefect task face: the gold job, gate and publish as one task."""

from __future__ import annotations

from prefect import task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from blocks.lake import Lake
from blocks.settings import CofreSettings
from tasks.gold.run import GoldSummary, cancel_gold_work, gold_engine_name, run_gold_stage
from tasks.gold.workspace import scratch_root
from tasks.time_limits import current_task_timeout, time_limit

TIMEOUT_SETTING = "COFRE_GOLD_TIMEOUT_SECONDS"


# The limit set here is the default; the flows pass the configured one (`with_options`).
@task(
    name="build-gold",
    task_run_name="gold",
    cache_policy=NO_CACHE,
    timeout_seconds=CofreSettings.model_fields["gold_timeout_seconds"].default,
)
def run_gold_task(lake: Lake, settings: CofreSettings, run_id: str) -> GoldSummary:
    """The gold stage on the run's lake, with the settings' engine, Spark master and home."""
    master = settings.spark_master
    engine = gold_engine_name(settings.gold_engine, master)
    with time_limit(
        "gold", TIMEOUT_SETTING, current_task_timeout(), on_timeout=cancel_gold_work,
        aftermath=f"its {engine} work was stopped and the current gold version stays",
    ):  # fmt: skip
        summary = run_gold_stage(lake, run_id, master, engine, scratch=scratch_root(settings.home))
    create_markdown_artifact(
        summary.report_markdown,
        key="gold-row-counts",
        description=f"Rows per gold table of version {summary.version}, and the stage's timings",
    )
    return summary
