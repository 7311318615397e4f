"""Ingestion stage: every source into bronze.

python -m flows.ingestion --help
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

from prefect import flow

from blocks.lake import Lake
from blocks.settings import load_settings
from flows.run_frame import cofre_run, prepare_cli_run
from tasks.runlog import current_run_id, exit_on_cofre_error
from tasks.sources.external import SOURCE_MODES
from tasks.sources.tasks import (
    EXTERNAL_TASKS,
    check_olist_dir_task,
    land_olist_file_task,
    resolve_olist_dir_task,
)

SOURCES = {"olist": None, **EXTERNAL_TASKS}  # olist is landed file by file below


@flow(name="ingestion", log_prints=True)
@cofre_run
def ingestion(
    olist_dir: str | None = None,
    synthetic_orders: int | None = None,
    seed: int | None = None,
    lake: str | None = None,
    run_id: str | None = None,
    sources: str | None = None,
    weather_start: date | None = None,
    weather_end: date | None = None,
    only: list[str] | None = None,
) -> dict:
    """Land Olist (real or synthetic), IPCA, OpenWeather and Open-Meteo in bronze, in parallel.

    `only` picks some sources (e.g. ["ipca"] for the monthly deployment). Returns
    {"bronze": one row per landed object (with its "source"), "sources": one `SourceResult`
    dict per external source (mode used, fallback, reason)}.
    """
    settings = load_settings(
        olist_dir=olist_dir,
        synthetic_orders=synthetic_orders,
        seed=seed,
        lake_url=lake,
        sources=sources,
        weather_start=weather_start,
        weather_end=weather_end,
    )
    chosen = set(only or SOURCES)
    unknown = chosen - set(SOURCES)
    if unknown:
        raise ValueError(f"Unknown source(s) {sorted(unknown)}; choose from {', '.join(SOURCES)}.")
    run_id = run_id or current_run_id()
    target = Lake.from_settings(settings)
    target.ensure_buckets()
    external = [
        SOURCES[name].submit(target, settings, run_id, settings.sources)
        for name in SOURCES
        if name in chosen and SOURCES[name] is not None
    ]
    landings = []
    if "olist" in chosen:
        synthetic = synthetic_orders is not None
        directory = resolve_olist_dir_task(settings, synthetic_requested=synthetic)
        files = check_olist_dir_task(directory)
        landings = [land_olist_file_task.submit(target, file, run_id) for file in files]
    bronze = [
        {
            "source": "olist",
            "object": target.url("bronze", landing.manifest.key),
            "rows": landing.manifest.rows,
            "bytes": landing.manifest.bytes,
            "written": landing.written,
        }
        for landing in (future.result() for future in landings)
    ]
    results = [future.result() for future in external]
    bronze += [row for result in results for row in result.objects]
    return {"bronze": bronze, "sources": [result.to_dict() for result in results]}


def add_ingestion_arguments(parser: argparse.ArgumentParser) -> None:
    """CLI flags shared by every flow that ingests (flag > COFRE_* env > block > default)."""
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--olist-dir", type=Path, help="directory with the 9 real Olist CSVs")
    source.add_argument(
        "--synthetic-orders", type=int, help="generate a synthetic Olist set of N orders"
    )
    parser.add_argument("--seed", type=int, help="seed of the synthetic set (default 42)")
    parser.add_argument("--lake", help="lake URL: a directory or s3://bucket[/prefix]")
    parser.add_argument(
        "--sources",
        choices=SOURCE_MODES,
        help="external APIs: live, bundled snapshots, or auto (live, snapshot when offline)",
    )
    parser.add_argument(
        "--weather-start", type=date.fromisoformat, help="Open-Meteo history start, YYYY-MM-DD"
    )
    parser.add_argument(
        "--weather-end", type=date.fromisoformat, help="Open-Meteo history end, YYYY-MM-DD"
    )


def _source_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.ingestion", description=__doc__)
    add_ingestion_arguments(parser)
    parser.add_argument(
        "--only",
        type=_source_list,
        help=f"comma-separated subset of: {', '.join(SOURCES)} (default: all)",
    )
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        prepare_cli_run(args)
        ingestion(
            only=args.only,
            olist_dir=str(args.olist_dir) if args.olist_dir else None,
            synthetic_orders=args.synthetic_orders,
            seed=args.seed,
            lake=args.lake,
            sources=args.sources,
            weather_start=args.weather_start,
            weather_end=args.weather_end,
        )


if __name__ == "__main__":
    main()
