"""Warehouse stage: gold -> `dw.*` (PostgreSQL with COPY, or the embedded SQLite file).

python -m flows.warehouse --help
python -m flows.warehouse --warehouse postgresql://cofre@db:5432/cofre   # no password in URLs
"""

from __future__ import annotations

import argparse

from prefect import flow

from blocks.lake import Lake
from blocks.settings import load_settings
from flows.run_frame import cofre_run, prepare_cli_run
from tasks.runlog import current_run_id, exit_on_cofre_error
from tasks.warehouse.tasks import load_warehouse_task


@flow(name="warehouse", log_prints=True)
@cofre_run
def warehouse(
    lake: str | None = None, warehouse_url: str | None = None, run_id: str | None = None
) -> dict:
    """Load every gold table into the warehouse in one transaction."""
    settings = load_settings(lake_url=lake, warehouse_url=warehouse_url)
    summary = load_warehouse_task(
        Lake.from_settings(settings), settings, run_id or current_run_id()
    )
    print(
        f"Warehouse {summary.target} (gold version {summary.gold_version}): "
        + ", ".join(f"{t}={n:,}" for t, n in summary.rows.items())
    )
    return {"target": summary.target, "rows": summary.rows, "gold_version": summary.gold_version}


def add_warehouse_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--warehouse",
        dest="warehouse_url",
        help="warehouse URL without a password (default: COFRE_WAREHOUSE_URL, "
        "COFRE_WAREHOUSE_BLOCK, else $COFRE_HOME/warehouse.db)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.warehouse", description=__doc__)
    parser.add_argument("--lake", help="lake URL: a directory or s3://bucket[/prefix]")
    add_warehouse_arguments(parser)
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        prepare_cli_run(args)
        warehouse(lake=args.lake, warehouse_url=args.warehouse_url)


if __name__ == "__main__":
    main()
