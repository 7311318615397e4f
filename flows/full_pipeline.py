"""Cofre's main job: every stage, in one process, on embedded defaults unless configured.

    python -m flows.full_pipeline                          # synthetic Olist, local lake, SQLite
    python -m flows.full_pipeline --olist-dir ~/olist      # the real Kaggle CSVs
    python -m flows.full_pipeline --lake s3://my-lake      # S3/MinIO (see COFRE_S3_*)

Stages: ingestion -> silver -> gold (Spark) -> warehouse. The run stops at the first stage
that fails (a quality gate, a source in `--sources live`), names it, and loads nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.settings import temporary_settings

from blocks.errors import AuditIntegrityError, PipelineStageFailed
from blocks.lake import Lake
from blocks.settings import load_settings
from flows.gold import add_gold_arguments, gold
from flows.ingestion import add_ingestion_arguments, ingestion
from flows.run_frame import close_run, cofre_run, prepare_cli_run
from flows.silver import add_silver_arguments, silver
from flows.warehouse import add_warehouse_arguments, warehouse
from tasks.gold.run import warm_up_spark
from tasks.run_summary import RunSummary, write_run_summary
from tasks.runlog import current_run_id, exit_on_cofre_error
from tasks.sources.external import format_source_summary


@flow(name="full-pipeline", log_prints=True)
@cofre_run(closes_itself=True)
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
    master: str | None = None,
    warehouse_url: str | None = None,
) -> dict:
    """Run every stage; the lake's `run_id=` is this flow run's id across all stages."""
    from prefect.runtime import flow_run

    run_id = current_run_id()
    summary = RunSummary(run_id, flow_run_name=flow_run.name or "")
    bronze: list[dict] = []
    settings = load_settings(lake_url=lake, spark_master=master)
    target = Lake.from_settings(settings)
    master = settings.spark_master  # --master, else COFRE_SPARK_MASTER, else local[*]
    warm_up_spark(master)  # the JVM boots while ingestion and silver run
    try:
        with summary.stage("ingestion") as stage, _stage_subflow():
            ingested = ingestion(
                olist_dir=olist_dir, synthetic_orders=synthetic_orders, seed=seed, lake=lake,
                run_id=run_id, sources=sources, weather_start=weather_start,
                weather_end=weather_end,
            )  # fmt: skip
            summary.sources, bronze = ingested["sources"], ingested["bronze"]
            rows = sum(row["rows"] or 0 for row in ingested["bronze"])
            stage.rows_in = stage.rows_out = rows
            summary.objects += [row["object"] for row in ingested["bronze"] if row["written"]]
            stage.note = _fallback_note(summary)
            print(format_source_summary(ingested["sources"]))
        with summary.stage("silver") as stage, _stage_subflow():
            silvered = silver(
                lake=lake, masking_policy=masking_policy,
                max_quarantine_share=max_quarantine_share, run_id=run_id,
            )  # fmt: skip
            summary.quality = silvered["rows"]
            stage.rows_in = sum(
                r["rows_in"] for n, r in silvered["rows"].items() if "quarantined" in r
            )
            stage.rows_out = sum(r["rows_out"] for r in silvered["rows"].values())
            stage.quarantined = sum(r.get("quarantined", 0) for r in silvered["rows"].values())
        with summary.stage("gold") as stage, _stage_subflow():
            golden = gold(lake=lake, master=master, run_id=run_id)
            stage.rows_out = sum(golden["rows"].values())
            summary.spark_startup_seconds = golden.get("spark_startup_seconds", 0.0)
            summary.objects += golden["objects"]
        with summary.stage("warehouse") as stage, _stage_subflow():
            loaded = warehouse(lake=lake, warehouse_url=warehouse_url, run_id=run_id)
            stage.rows_in = stage.rows_out = sum(loaded["rows"].values())
            stage.note = f"{loaded['target']} (gold version {loaded['gold_version']})"
            summary.gold_version = loaded["gold_version"]
    except Exception as exc:
        summary.finish("failed")
        _finish(target, summary)
        failed = summary.stages[-1]
        # The whole cause, not the stage note (one line): every file and column of an input
        # error must reach the user.
        raise PipelineStageFailed(
            f"Stage '{failed.stage}' failed, so the later stages did not run and nothing was "
            f"loaded into the warehouse. Cause: {type(exc).__name__}: {exc}"
        ) from exc
    summary.finish("completed")
    _finish(target, summary)
    return {
        "run_id": run_id,
        "stages": summary.table_rows(),
        "sources": summary.sources,
        "bronze": bronze,
    }


@contextmanager
def _stage_subflow() -> Iterator[None]:
    """A stage's subflow runs without its own heartbeat: this run's heartbeat already says
    the process is alive, and Prefect's engine waits up to a second for a heartbeat thread
    to notice the end of its run (about 1 s per subflow, every run)."""
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


def _fallback_note(summary: RunSummary) -> str:
    names = [s["source"] for s in summary.fallbacks]
    return f"from bundled snapshots: {', '.join(names)}" if names else ""


def _finish(lake: Lake, summary: RunSummary) -> None:
    """Audit the run's end, anchor the trail's head (into the summary), publish the summary.
    A trail that cannot be anchored fails a completed run, after the summary is published."""
    stages = {s.stage: s.status for s in summary.stages}
    details = {"flow": "flows.full_pipeline", "stages": stages, "gold": summary.gold_version}
    problem = None
    try:
        summary.audit_head = close_run(lake, summary.run_id, summary.state, details=details)
    except AuditIntegrityError as exc:  # raised only for a completed run
        problem = exc
    _publish(lake, summary)
    if problem is not None:
        raise problem


def _publish(lake: Lake, summary: RunSummary) -> None:
    """The run summary as Prefect artifacts and as a JSON object in the lake."""
    create_table_artifact(
        summary.table_rows(), key="run-summary", description=summary.to_markdown()
    )
    create_markdown_artifact(summary.to_markdown(), key="run-summary-report")
    objects = summary.objects[:200]
    listing = "\n".join(f"- `{url}`" for url in objects) or "- (nothing new was written)"
    more = len(summary.objects) - len(objects)
    suffix = f"\n- … and {more} more" if more > 0 else ""
    create_markdown_artifact(f"# Lake objects written\n\n{listing}{suffix}", key="lake-objects")
    print(summary.to_markdown())
    print(f"Run summary: {write_run_summary(lake, summary)}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m flows.full_pipeline",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_ingestion_arguments(parser)
    add_silver_arguments(parser)
    add_gold_arguments(parser)
    add_warehouse_arguments(parser)
    args = parser.parse_args(argv)
    with exit_on_cofre_error():
        prepare_cli_run(args)
        api = _start_temporary_api()
        # The JVM and the temporary API boot side by side, while Prefect creates the run.
        warm_up_spark(load_settings(spark_master=args.master).spark_master)
        if api is not None:
            api.join()
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
            master=args.master,
            warehouse_url=args.warehouse_url,
        )


def _start_temporary_api() -> threading.Thread | None:
    """With no Prefect server configured, start Prefect's temporary API in the background
    (the same one the flow call would start and wait for), or None when there is a server."""
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_EPHEMERAL_ENABLED

    if PREFECT_API_URL.value() or not PREFECT_SERVER_EPHEMERAL_ENABLED.value():
        return None

    def start() -> None:
        from prefect.server.api.server import SubprocessASGIServer

        with contextlib.suppress(Exception):  # the flow call then retries and reports it
            SubprocessASGIServer().start()  # the flow call finds it running (a singleton)

    thread = threading.Thread(target=start, name="prefect-temporary-api", daemon=True)
    thread.start()
    return thread


if __name__ == "__main__":
    main()
