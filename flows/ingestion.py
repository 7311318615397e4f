"""Ingestion stage: every source into bronze.

python -m flows.ingestion --help
"""

from __future__ import annotations

import argparse
from pathlib import Path

from prefect import flow

from blocks.lake import Lake
from blocks.settings import load_settings
from tasks.olist import check_olist_dir_task, land_olist_file_task, resolve_olist_dir_task
from tasks.runlog import current_run_id, exit_on_cofre_error


@flow(name="ingestion", log_prints=True)
def ingestion(
    olist_dir: str | None = None,
    synthetic_orders: int | None = None,
    seed: int | None = None,
    lake: str | None = None,
    run_id: str | None = None,
) -> list[dict]:
    """Land the Olist CSVs (real or synthetic) in bronze; return one row per landed object."""
    settings = load_settings(
        olist_dir=olist_dir, synthetic_orders=synthetic_orders, seed=seed, lake_url=lake
    )
    run_id = run_id or current_run_id()
    target = Lake.from_settings(settings)
    target.ensure_buckets()
    directory = resolve_olist_dir_task(settings, synthetic_requested=synthetic_orders is not None)
    files = check_olist_dir_task(directory)
    landings = [land_olist_file_task.submit(target, file, run_id) for file in files]
    return [
        {
            "object": target.url("bronze", landing.manifest.key),
            "rows": landing.manifest.rows,
            "bytes": landing.manifest.bytes,
            "written": landing.written,
        }
        for landing in (future.result() for future in landings)
    ]


def add_ingestion_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags shared by every flow that ingests (flag > COFRE_* env > block > default)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--olist-dir", type=Path, help="directory with the 9 real Olist CSVs")
    source.add_argument(
        "--synthetic-orders", type=int, help="generate a synthetic Olist set of N orders"
    )
    parser.add_argument("--seed", type=int, help="seed of the synthetic set (default 42)")
    parser.add_argument("--lake", help="lake URL: a directory or s3://bucket[/prefix]")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.ingestion", description=__doc__)
    add_ingestion_arguments(parser)
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        ingestion(
            olist_dir=str(args.olist_dir) if args.olist_dir else None,
            synthetic_orders=args.synthetic_orders,
            seed=args.seed,
            lake=args.lake,
        )


if __name__ == "__main__":
    main()
