"""Gold stage: silver -> star schema and BI marts (DuckDB or Spark), gated, then published.

python -m flows.gold --help
"""

from __future__ import annotations

from prefect import flow

from flows.options import PipelineOptions
from flows.run_frame import cofre_run, run_cli, stage_frame
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
    frame = stage_frame(PipelineOptions.from_parameters(locals()), run_id)
    limit = frame.settings.gold_timeout_seconds  # COFRE_GOLD_TIMEOUT_SECONDS
    build = run_gold_task.with_options(timeout_seconds=limit)
    settings = frame.settings
    summary = build(frame.lake, frame.run_id, settings.spark_master, settings.gold_engine)
    print(summary.report_markdown)
    return summary.stage_report().as_flow_result()


def main(argv: list[str] | None = None) -> None:
    run_cli(gold, "gold", argv, description=__doc__)


if __name__ == "__main__":
    main()
