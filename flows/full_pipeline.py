"""Cofre's main job: every stage, in one process, on embedded defaults unless configured.

    python -m flows.full_pipeline                          # synthetic Olist, local lake, SQLite
    python -m flows.full_pipeline --olist-dir ~/olist      # the real Kaggle CSVs
    python -m flows.full_pipeline --lake s3://my-lake      # S3/MinIO (see COFRE_S3_*)
    python -m flows.full_pipeline --resume RUN_ID          # a failed run, from where it failed

Stages: ingestion -> silver -> gold (Spark) -> warehouse. The run stops at the first stage
that fails (a quality gate, a source in `--sources live`), names it, and loads nothing.
"""

from __future__ import annotations

if __name__ == "__main__":  # flags, settings, paths, URLs checked before Prefect is imported
    from flows.stage_cli import run_stage_cli

    run_stage_cli("full_pipeline", __doc__)  # imports flows.full_pipeline, runs its flow, exits

import contextlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date

from prefect import flow
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.settings import temporary_settings

from blocks.errors import (
    AuditIntegrityError,
    InvalidSourceData,
    PipelineStageFailed,
    QualityGateFailed,
    RunInterrupted,
)
from blocks.lake import Lake
from blocks.runtime import events
from blocks.runtime.prefect_home import where_to_see_run
from blocks.settings import load_settings
from flows.gold import gold
from flows.ingestion import ingestion
from flows.options import PipelineOptions
from flows.resume import resumed_options
from flows.run_frame import (
    RunFrame,
    audit_run,
    close_run,
    cofre_run,
    current_frame,
    use_settings,
)
from flows.silver import silver
from flows.warehouse import warehouse
from tasks.console import live_progress, markdown_as_text, stage_line
from tasks.gold.run import gold_engine_name, warm_up_duckdb
from tasks.gold.spark_session import stop_spark, warm_up_spark
from tasks.reports import StageReport
from tasks.resume import ResumePlan
from tasks.run_summary import RunSummary, StageResult, write_run_summary
from tasks.sources.external import format_source_summary
from tasks.warehouse.authority import warehouse_target
from tasks.warehouse.early import early_warehouse_load
from tasks.warehouse.lineage import lineage_markdown


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
    engine: str | None = None,
    master: str | None = None,
    warehouse_url: str | None = None,
    resume: str | None = None,
) -> dict:
    """Run every stage; the lake's `run_id=` is this flow run's id across all stages.

    `resume`: a failed run's id; this run then takes that run's options, keeps the stages it
    finished and runs from the one that failed (tasks/resume.py).
    Returns {"run_id", "stages": the summary's rows, "bronze" and "sources": ingestion's
    (when it ran)}.
    """
    from prefect.runtime import flow_run

    options = PipelineOptions(
        olist_dir=olist_dir, synthetic_orders=synthetic_orders, seed=seed, lake=lake,
        sources=sources, weather_start=weather_start, weather_end=weather_end,
        masking_policy=masking_policy, max_quarantine_share=max_quarantine_share,
        engine=engine, master=master, warehouse_url=warehouse_url, resume=resume,
    )  # fmt: skip
    frame = current_frame()  # the run's settings, lake and run id, built once
    plan = None
    if resume:  # under the home's lock: the failed run's options, its stages' outputs checked
        plan, options = resumed_options(options, frame.lake)
        frame = use_settings(options.settings())  # the resumed options', for every stage
    # Where the warehouse load may go is decided now, not after three stages of work: a
    # `warehouse_url` that would send a sealed or libpq password elsewhere is refused here.
    warehouse_target(frame.settings)
    summary = RunSummary(frame.run_id, flow_run_name=flow_run.name or "")
    settings = frame.settings
    engine = gold_engine_name(settings.gold_engine, settings.spark_master)
    gold_kept = plan is not None and "gold" in plan.kept_stages
    if engine == "spark" and not gold_kept:  # the JVM boots while ingestion and silver run
        warm_up_spark(settings.spark_master)
    # Gold runs on the resolved engine and master (flag, else COFRE_*, else the default).
    options = replace(options, engine=engine, master=settings.spark_master)
    summary.options = options.given()  # what `--resume` would run it with
    kept = _resume_from(plan, frame, summary)
    try:
        ingested = _run_stage(summary, "ingestion", ingestion, options, frame.run_id, kept)
        if "ingestion" not in kept:
            print(format_source_summary(summary.sources))
        if engine == "duckdb" and not gold_kept:  # its imports and SQL while silver runs
            warm_up_duckdb()
        _run_stage(summary, "silver", silver, options, frame.run_id, kept)
        with _load_during_gold(frame, kept):
            _run_stage(summary, "gold", gold, options, frame.run_id, kept)
            stop_spark()  # nothing after gold needs Spark: its JVM would sit idle beside the load
            _run_stage(summary, "warehouse", warehouse, options, frame.run_id, kept)
    except KeyboardInterrupt as exc:  # Ctrl-C: audited and summarised, then exit 130
        summary.finish("interrupted")
        _finish(frame, summary)
        raise _interrupted(summary) from exc
    except Exception as exc:
        summary.finish("failed")
        _finish(frame, summary)
        failed = summary.stages[-1]
        # The whole cause, not the stage note (one line): every file and column of an input
        # error must reach the user.
        resume_hint = ""
        # Bad data fails again on a resume (bronze keeps it): fix it and start a new run.
        if not isinstance(exc, QualityGateFailed | InvalidSourceData):
            resume_hint = (
                f" (once that is fixed, resume from stage '{failed.stage}': "
                f"python -m flows.full_pipeline --resume {frame.run_id})"
            )
        raise PipelineStageFailed(
            f"Stage '{failed.stage}' failed, so the later stages did not run and nothing was "
            f"loaded into the warehouse. Cause: {type(exc).__name__}: {exc}{resume_hint}"
        ) from exc
    summary.finish("completed")
    _finish(frame, summary)
    events.run_completed(summary.key_figures())  # once the summary is published and anchored
    return {"run_id": frame.run_id, "stages": summary.table_rows(), **ingested.payload}


def _load_during_gold(frame: RunFrame, kept: tuple[str, ...]) -> contextlib.AbstractContextManager:
    """The warehouse's load started with gold when this run does both (the warehouse stage
    commits it only if it holds the version gold publishes: tasks/warehouse/early.py)."""
    if "gold" in kept or "warehouse" in kept:
        return contextlib.nullcontext()
    return early_warehouse_load(frame.lake, frame.settings, frame.run_id)


def _interrupted(summary: RunSummary) -> RunInterrupted:
    """Which stage Ctrl-C stopped, and what the run had published by then: gold's version
    is made current at the end of the gold stage; the warehouse load is one transaction."""
    stage = summary.stages[-1].stage if summary.stages else "start-up"
    gold_done = any(
        s.stage == "gold" and s.status in ("completed", "skipped") for s in summary.stages
    )
    if gold_done:
        return RunInterrupted(
            stage, "gold's new version was published, nothing was loaded into the warehouse"
        )
    return RunInterrupted(stage)


def _resume_from(plan: ResumePlan | None, frame: RunFrame, summary: RunSummary) -> tuple[str, ...]:
    """On resume: the stages the resumed run finished, kept in this run's summary (with the
    facts they set) and not run again; audited as this run's `resuming` PIPELINE_RUN event."""
    if plan is None:
        return ()
    summary.resumed_from = plan.run_id
    summary.stages += [StageResult.from_dict(row) for row in plan.kept_rows()]
    for name, value in plan.facts.items():
        setattr(summary, name, value)
    kept = plan.kept_stages
    audit_run(
        frame, "resuming",
        details={"resumes": plan.run_id, "from_stage": plan.start, "kept": list(kept)},
    )  # fmt: skip
    print(f"Resuming run {plan.run_id} from stage '{plan.start}'; kept: {', '.join(kept)}.")
    return kept


def _run_stage(
    summary: RunSummary,
    name: str,
    stage_flow: Callable[..., dict],
    options: PipelineOptions,
    run_id: str,
    kept: tuple[str, ...] = (),
) -> StageReport:
    """One stage's subflow on its options, timed, its report recorded in the summary; a
    stage a resumed run finished (`kept`) is not run again."""
    if name in kept:
        return StageReport(name)
    stage = summary.stage(name)
    try:  # on a terminal, the live line while it runs; its line on the console when it ends
        with live_progress(name), stage, _stage_subflow():
            report = StageReport.from_flow_result(
                stage_flow(**options.for_stage(name), run_id=run_id)
            )
            stage.record(report)
    finally:
        print(stage_line(stage.result))
    return report


@contextmanager
def _stage_subflow() -> Iterator[None]:
    """A stage's subflow runs without its own heartbeat: this run's heartbeat already says
    the process is alive, and Prefect's engine waits up to a second for a heartbeat thread
    to notice the end of its run (about 1 s per subflow, every run)."""
    with temporary_settings(updates={"flows.heartbeat_frequency": None}):
        yield


def _finish(frame: RunFrame, summary: RunSummary) -> None:
    """Audit the run's end, anchor the trail's head (into the summary), publish the summary.
    A trail that cannot be anchored fails a completed run, after the summary is published."""
    stages = {s.stage: s.status for s in summary.stages}
    details = {"flow": "flows.full_pipeline", "stages": stages, "gold": summary.gold_version}
    if summary.resumed_from:
        details["resumes"] = summary.resumed_from
    problem = None
    try:
        summary.audit_head = close_run(frame, summary.state, details=details)
    except AuditIntegrityError as exc:  # raised only for a completed run
        problem = exc
    _publish(frame.lake, summary)
    if problem is not None:
        raise problem


def _publish(lake: Lake, summary: RunSummary) -> None:
    """The run summary as Prefect artifacts and as a JSON object in the lake."""
    create_table_artifact(
        summary.table_rows(), key="run-summary", description=summary.to_markdown()
    )
    create_markdown_artifact(
        summary.to_markdown(),
        key="run-summary-report",
        description=f"Run {summary.run_id}: {summary.state}, stage by stage",
    )
    objects = summary.objects[:200]
    listing = "\n".join(f"- `{url}`" for url in objects) or "- (nothing new was written)"
    more = len(summary.objects) - len(objects)
    suffix = f"\n- … and {more} more" if more > 0 else ""
    create_markdown_artifact(
        f"# Lake objects written\n\n{listing}{suffix}",
        key="lake-objects",
        description=f"{len(summary.objects)} lake object(s) this run wrote",
    )
    if summary.lineage:  # only a run that loaded the warehouse has one
        create_markdown_artifact(
            lineage_markdown(summary.lineage),
            key="lineage",
            description=f"Bronze objects (key, sha256) -> silver -> gold version "
            f"{summary.lineage['gold']['version']} -> the warehouse load",
        )
    print(markdown_as_text(summary.to_markdown()))  # once, as plain text
    print(f"Run summary: {write_run_summary(lake, summary)}")
    print(where_to_see_run(summary.run_id))


def before_run(options: PipelineOptions) -> None:
    """Once the command line is checked (flows/stage_cli.py): the JVM and the temporary API
    boot side by side, while Prefect creates the run."""
    api = _start_temporary_api()
    settings = load_settings(spark_master=options.master, gold_engine=options.engine)
    if gold_engine_name(settings.gold_engine, settings.spark_master) == "spark":
        warm_up_spark(settings.spark_master)
    if api is not None:
        api.join()


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
