"""Cofre's main job: every stage, in one process, on embedded defaults unless configured.

python -m flows.full_pipeline                          # synthetic Olist, local lake
python -m flows.full_pipeline --olist-dir ~/olist      # the real Kaggle CSVs
python -m flows.full_pipeline --lake s3://my-lake      # S3/MinIO (see COFRE_S3_*)
"""

from __future__ import annotations

import argparse
from datetime import date

from prefect import flow

from flows.ingestion import add_ingestion_arguments, ingestion
from flows.silver import add_silver_arguments, silver
from tasks.external import format_source_summary
from tasks.runlog import current_run_id, exit_on_cofre_error


@flow(name="full-pipeline", log_prints=True)
def full_pipeline(
    olist_dir: str | None = None,
    synthetic_orders: int | None = None,
    seed: int | None = None,
    lake: str | None = None,
    sources: str | None = None,
    weather_start: date | None = None,
    weather_end: date | None = None,
    masking_policy: str | None = None,
    max_quarantine_share: float | None = None,
) -> dict:
    """Run every stage; the lake's `run_id=` is this flow run's id across all stages."""
    run_id = current_run_id()
    ingested = ingestion(
        olist_dir=olist_dir,
        synthetic_orders=synthetic_orders,
        seed=seed,
        lake=lake,
        run_id=run_id,
        sources=sources,
        weather_start=weather_start,
        weather_end=weather_end,
    )
    bronze = ingested["bronze"]
    print(format_bronze_summary([row for row in bronze if row["source"] == "olist"]))
    print(format_source_summary(ingested["sources"]))
    silvered = silver(
        lake=lake,
        masking_policy=masking_policy,
        max_quarantine_share=max_quarantine_share,
        run_id=run_id,
    )
    return {"run_id": run_id, "bronze": bronze, "sources": ingested["sources"], "silver": silvered}


def format_bronze_summary(rows: list[dict]) -> str:
    lines = ["Bronze objects:"]
    for row in rows:
        state = "written" if row["written"] else "unchanged (already landed)"
        lines.append(f"  {row['object']}  rows={row['rows']}  bytes={row['bytes']}  {state}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m flows.full_pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_ingestion_arguments(parser)
    add_silver_arguments(parser)
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        full_pipeline(
            olist_dir=str(args.olist_dir) if args.olist_dir else None,
            synthetic_orders=args.synthetic_orders,
            seed=args.seed,
            lake=args.lake,
            sources=args.sources,
            weather_start=args.weather_start,
            weather_end=args.weather_end,
            masking_policy=args.masking_policy,
            max_quarantine_share=args.max_quarantine_share,
        )


if __name__ == "__main__":
    main()
