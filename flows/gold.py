"""Gold stage: silver -> star schema and BI aggregates with Spark, gated, then published.

python -m flows.gold --help
"""

from __future__ import annotations

import argparse

from prefect import flow

from blocks.lake import Lake
from blocks.settings import load_settings
from flows.run_frame import cofre_run, prepare_cli_run
from tasks.gold.tasks import run_gold_task
from tasks.runlog import current_run_id, exit_on_cofre_error


@flow(name="gold", log_prints=True)
@cofre_run
def gold(lake: str | None = None, master: str | None = None, run_id: str | None = None) -> dict:
    """Build gold from the lake's silver (Spark `local[*]` unless `master` names a cluster)."""
    settings = load_settings(lake_url=lake, spark_master=master)
    summary = run_gold_task(
        Lake.from_settings(settings), run_id or current_run_id(), settings.spark_master
    )
    print(summary.report_markdown)
    return {
        "version": summary.version,  # the gold version now current
        "rows": summary.rows,
        "objects": summary.objects,
        "staging": summary.staging,
        "spark_startup_seconds": round(summary.session_seconds, 2),
    }


def add_gold_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--master",
        "--spark-master",
        dest="master",
        help="Spark master URL, e.g. spark://host:7077 (default: COFRE_SPARK_MASTER, else "
        "local[*] in this process)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.gold", description=__doc__)
    parser.add_argument("--lake", help="lake URL: a directory or s3://bucket[/prefix]")
    add_gold_arguments(parser)
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        prepare_cli_run(args)
        gold(lake=args.lake, master=args.master)


if __name__ == "__main__":
    main()
