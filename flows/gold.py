"""Gold stage: silver -> star schema and BI marts (DuckDB or Spark), gated, then published.

python -m flows.gold --help
"""

from __future__ import annotations

if __name__ == "__main__":  # flags, settings, paths, URLs checked before Prefect is imported
    from flows.stage_cli import run_stage_cli

    run_stage_cli("gold", __doc__)  # imports flows.gold, runs its flow, exits

from prefect import flow

from flows.run_frame import cofre_run, current_frame
from tasks.console import markdown_as_text
from tasks.gold.tasks import run_gold_task


@flow(name="gold", log_prints=True)
@cofre_run
def gold(
    lake: str | None = None,
    engine: str | None = None,
    master: str | None = None,
    run_id: str | None = None,
) -> dict:
    """Build gold from the lake's silver: on DuckDB in this process, or on Spark (`engine`
    spark, or auto with a Spark `master`: `local[*]` unless it names a cluster).

    Returns {"version", "rows", "objects", "staging", "spark_startup_seconds", "report"}.
    """
    frame = current_frame()  # settings, lake and run id from the parameters, built once
    limit = frame.settings.gold_timeout_seconds  # COFRE_GOLD_TIMEOUT_SECONDS
    build = run_gold_task.with_options(timeout_seconds=limit)
    summary = build(frame.lake, frame.settings, frame.run_id)
    print(markdown_as_text(summary.report_markdown))  # the artifact's, as plain text
    return summary.stage_report().as_flow_result()
