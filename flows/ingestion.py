"""Ingestion stage: every source into bronze.

python -m flows.ingestion --help
"""

from __future__ import annotations

if __name__ == "__main__":  # flags, settings, paths, URLs checked before Prefect is imported
    from flows.stage_cli import run_stage_cli

    run_stage_cli("ingestion", __doc__)  # imports flows.ingestion, runs its flow, exits

from datetime import date

from prefect import flow

from blocks.runtime.requester import run_request
from flows.run_frame import cofre_run, current_frame
from tasks.provenance import build_provenance, olist_origin, record_provenance
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
    frame = current_frame()  # settings, lake and run id from the parameters, built once
    chosen = set(only or SOURCES)
    unknown = chosen - set(SOURCES)
    if unknown:
        raise ValueError(f"Unknown source(s) {sorted(unknown)}; choose from {', '.join(SOURCES)}.")
    settings, target = frame.settings, frame.lake
    target.ensure_buckets()
    external = {
        name: task.submit(target, settings, frame.run_id, settings.sources)
        for name, task in EXTERNAL_TASKS.items()
        if name in chosen
    }
    landings, olist = [], None
    if "olist" in chosen:
        synthetic = synthetic_orders is not None
        directory = resolve_olist_dir_task(settings, synthetic_requested=synthetic)
        real = directory if settings.olist_dir and not synthetic else None  # else generated
        olist = olist_origin(real, orders=settings.synthetic_orders, seed=settings.seed)
        files = check_olist_dir_task(directory)
        landings = [land_olist_file_task.submit(target, file, frame.run_id) for file in files]
    landed = [future.result() for future in landings]
    bronze = [olist_bronze_row(target, landing) for landing in landed]
    results = {name: future.result() for name, future in external.items()}
    bronze += [row for result in results.values() for row in result.objects]
    report = ingestion_report(bronze, list(results.values()))
    modes = {name: results[name].mode if name in results else "skipped" for name in EXTERNAL_TASKS}
    files = {landing.manifest.file: landing.manifest.sha256 for landing in landed}
    provenance = build_provenance(olist=olist, files=files, sources=modes, origin=run_request())
    record_provenance(target, frame.run_id, provenance)  # audit + lake, for the lineage
    report.run_facts["provenance"] = provenance
    return report.as_flow_result()
