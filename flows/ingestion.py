"""Ingestion stage: every source into bronze.

python -m flows.ingestion --help
"""

from __future__ import annotations

import argparse
from datetime import date

from prefect import flow

from flows.options import PipelineOptions
from flows.run_frame import cofre_run, run_cli, stage_frame
from tasks.sources.olist.ingest import olist_bronze_row
from tasks.sources.report import ingestion_report
from tasks.sources.tasks import (
    EXTERNAL_TASKS,
    check_olist_dir_task,
    land_olist_file_task,
    resolve_olist_dir_task,
)

SOURCES = ("olist", *EXTERNAL_TASKS)  # olist is landed file by file below


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
    dict per external source (mode used, fallback, reason), "report": StageReport}.
    """
    frame = stage_frame(PipelineOptions.from_parameters(locals()), run_id)
    chosen = set(only or SOURCES)
    unknown = chosen - set(SOURCES)
    if unknown:
        raise ValueError(f"Unknown source(s) {sorted(unknown)}; choose from {', '.join(SOURCES)}.")
    settings, target = frame.settings, frame.lake
    target.ensure_buckets()
    external = [
        task.submit(target, settings, frame.run_id, settings.sources)
        for name, task in EXTERNAL_TASKS.items()
        if name in chosen
    ]
    landings = []
    if "olist" in chosen:
        synthetic = synthetic_orders is not None
        directory = resolve_olist_dir_task(settings, synthetic_requested=synthetic)
        files = check_olist_dir_task(directory)
        landings = [land_olist_file_task.submit(target, file, frame.run_id) for file in files]
    bronze = [olist_bronze_row(target, future.result()) for future in landings]
    results = [future.result() for future in external]
    bronze += [row for result in results for row in result.objects]
    return ingestion_report(bronze, results).as_flow_result()


def _source_list(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


def _ingestion_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--only",
        type=_source_list,
        help=f"comma-separated subset of: {', '.join(SOURCES)} (default: all)",
    )


def main(argv: list[str] | None = None) -> None:
    run_cli(ingestion, "ingestion", argv, description=__doc__, extra_arguments=_ingestion_arguments)


if __name__ == "__main__":
    main()
