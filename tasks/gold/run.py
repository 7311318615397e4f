"""The gold stage: run the gold job into a new gold version, gate it, then make it current.

The job runs on one of two engines (spark/engine.py): DuckDB in this process (the default), or
Apache Spark when a Spark master is configured or `--engine spark` asks for it. Every run
writes a complete version beside the current one (`gold/_versions/<run_id>/`, see
tasks/gold/versions.py), seals it with a manifest, runs the gold gate (Pandera schemas +
reconciliation with silver) on that sealed version, and only then moves the pointer
`gold/_current.json` in one atomic step. A failed gate or a failed run removes its version: the
previous one stays current. A killed run leaves its version unpublished; the next run removes it.

Where the job reads and writes is its workspace (tasks/gold/workspace.py); the Spark engine
runs on this process's one SparkSession (tasks/gold/spark_session.py).
"""

from __future__ import annotations

import contextvars
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from blocks import audit
from blocks.errors import ConfigurationError, InvalidSourceData, LakeError, QualityGateFailed
from blocks.lake import Lake
from blocks.runtime import events
from blocks.settings import load_settings
from spark.engine import DuckDBEngine, GoldEngine, choose_engine
from spark.errors import MissingSilverDataset
from spark.gold_job import prepare_duckdb, run_gold
from tasks.gold import versions
from tasks.gold.spark_session import cancel_spark_jobs, get_spark
from tasks.gold.workspace import Workspace, complete_version, open_workspace, scratch_root
from tasks.layers.silver import read_silver, silver_inputs
from tasks.memory import release_freed_memory
from tasks.reports import StageReport
from tasks.runlog import run_logger
from validation.catalog import GOLD_INPUTS, GOLD_POINTER, RECONCILED_INPUTS
from validation.gold import gold_gate

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

_duckdb: DuckDBEngine | None = None  # the DuckDB engine of a running gold stage (to interrupt)


def gold_engine_name(engine: str | None, master: str | None) -> str:
    """The engine a gold run uses: `engine` (auto|duckdb|spark; None: auto) resolved against
    the Spark master (auto: Spark when a master is configured, DuckDB otherwise)."""
    try:
        return choose_engine(engine, master)
    except ValueError as exc:
        raise ConfigurationError(f"{exc} (--engine or COFRE_GOLD_ENGINE)") from None


def warm_up_duckdb() -> threading.Thread:
    """Load DuckDB and translate the gold models in the background (`prepare_duckdb`) while
    the earlier stages run, so the gold stage starts computing at once. A failure here is
    left for the gold stage to raise with its own message."""

    def prepare() -> None:
        try:
            prepare_duckdb()
        except Exception as exc:  # the gold stage does it again and reports
            run_logger(__name__).debug("DuckDB warm-up failed (%s); gold will retry.", exc)

    thread = threading.Thread(target=prepare, name="duckdb-warm-up", daemon=True)
    thread.start()
    return thread


def cancel_gold_work() -> None:
    """Stop the running gold computation (the gold time limit's watchdog calls it from its
    own thread): the DuckDB query is interrupted, or every Spark job of this process's
    session cancelled."""
    engine = _duckdb
    if engine is not None and engine.interrupt():
        run_logger(__name__).warning("Interrupted the running DuckDB gold query.")
    cancel_spark_jobs()


@dataclass
class GoldSummary:
    run_id: str
    version: str = ""  # the gold version this run made current
    engine: str = ""  # duckdb or spark
    rows_in: int = 0  # rows of the silver datasets the job read
    rows: dict[str, int] = field(default_factory=dict)
    objects: list[str] = field(default_factory=list)
    staging: str | None = None  # the local directory an S3 lake was staged through
    removed: list[str] = field(default_factory=list)  # leftovers and old versions deleted
    session_seconds: float = 0.0
    compute_seconds: float = 0.0
    publish_seconds: float = 0.0
    report_markdown: str = ""

    def stage_report(self) -> StageReport:
        # Starting a SparkSession is a cost worth showing; opening DuckDB is not.
        startup = round(self.session_seconds, 2) if self.engine == "spark" else 0.0
        return StageReport(
            "gold",
            rows_in=self.rows_in,
            rows_out=sum(self.rows.values()),
            objects=list(self.objects),
            run_facts={"gold_engine": self.engine, "spark_startup_seconds": startup},
            payload={
                "version": self.version,  # the gold version now current
                "engine": self.engine,
                "rows": self.rows,
                "objects": self.objects,
                "staging": self.staging,
                "spark_startup_seconds": startup,
            },
        )


def _read_reconciled(lake: Lake) -> dict[str, pl.DataFrame]:
    """The silver datasets the gold gate reconciles with."""
    return {name: read_silver(lake, name) for name in RECONCILED_INPUTS}


def _gate(
    lake: Lake, gold: dict[str, pl.DataFrame], silver: dict[str, pl.DataFrame], run_id: str
) -> None:
    try:
        gold_gate(silver, gold)
    except QualityGateFailed as exc:
        audit.record(
            audit.Action.VALIDATION_FAILED,
            lake.url("gold"),
            details={"run_id": run_id, "problems": str(exc).count("\n  - ")},
            outcome="failure",
        )
        events.gate_failed(exc, layer="gold", run_id=run_id)
        raise
    audit.record(
        audit.Action.VALIDATION_PASSED,
        lake.url("gold"),
        details={
            "run_id": run_id,
            "version": run_id,
            "tables": len(gold),
            "rows": {t: f.height for t, f in gold.items()},
        },
    )


def _refuse_a_kept_version(lake: Lake, run_id: str) -> None:
    if run_id in versions.kept_versions(versions.read_pointer(lake)):
        raise LakeError(
            f"Gold version {run_id} is already published in {lake.url('gold')}; a version is "
            "never rewritten: run the gold stage with a new run id."
        )


def _build_version(
    lake: Lake, ws: Workspace, engine: GoldEngine, summary: GoldSummary, log
) -> tuple[dict[str, pl.DataFrame], str]:
    """Gold job -> sealed version (with the silver it read) -> gold gate on what it holds."""
    run_id = summary.run_id
    inputs = silver_inputs(lake, GOLD_INPUTS)  # one writer per home: silver stays as read
    summary.rows_in = sum(ref["rows"] or 0 for ref in inputs.values())
    try:
        run_gold(engine, ws.silver_url, ws.gold_url, log=log)
    except MissingSilverDataset as exc:
        raise InvalidSourceData(str(exc)) from None
    # Gold is on disk: the engine's tables (DuckDB's: about 1 GiB at 10x, in this process)
    # are freed before the gate reads the version and silver back (peak 3.4 -> 2.3 GiB).
    engine.close()
    release_freed_memory()
    # The silver the gate reconciles with is read while the version is sealed and read back.
    with ThreadPoolExecutor(1, thread_name_prefix="gold-gate-silver") as pool:
        silver = pool.submit(contextvars.copy_context().run, _read_reconciled, lake)
        complete_version(lake, ws, run_id)
        # Sealed and read back in one read: the frames gated are decoded from the bytes
        # whose sha256 the manifest holds, the bytes every reader of the version must get.
        manifest, digest, gold = versions.seal_and_read_version(lake, run_id, run_id, inputs)
        audit.record(
            audit.Action.LAKE_WRITE,
            lake.url("gold", versions.version_key(run_id)),
            details={"run_id": run_id, "layer": "gold", "manifest_sha256": digest,
                     "rows": {t: e["rows"] for t, e in manifest["tables"].items()}},
        )  # fmt: skip
        _gate(lake, gold, silver.result(), run_id)
    return gold, digest


def _engine(name: str, master: str | None, log) -> tuple[GoldEngine, SparkSession | None]:
    global _duckdb
    if name == "duckdb":
        _duckdb = DuckDBEngine()
        return _duckdb, None
    from spark.spark_engine import SparkEngine

    spark = get_spark(master)
    return SparkEngine(spark, log), spark


def run_gold_stage(
    lake: Lake,
    run_id: str,
    master: str | None = None,
    engine: str | None = None,
    *,
    scratch: Path | None = None,
) -> GoldSummary:
    """Build gold version `run_id` from the lake's silver, gate it, make it current.

    `engine`: auto (None), duckdb or spark; auto is Spark when `master` is given. `scratch`:
    the home's scratch directory (None: the configured home's, `workspace.scratch_root`).

    First removes what stopped runs left (unpublished versions, staging, `.tmp-` files, this
    home's scratch); afterwards keeps `KEEP_VERSIONS` versions. Raises `InvalidSourceData` when
    silver lacks a dataset gold needs, `QualityGateFailed` when the gold gate fails (the
    version is removed, the previous one stays current), `ConfigurationError` for an S3 lake
    with a cluster master but no S3A connector, `LakeError` when `run_id` is already published.
    """
    global _duckdb
    log = run_logger(__name__)
    name = gold_engine_name(engine, master)
    summary = GoldSummary(run_id, version=run_id, engine=name)
    scratch = scratch or scratch_root(load_settings().home)
    summary.removed = versions.clean_leftovers(lake, scratch)
    if summary.removed:
        log.info("Removed %s leftover(s) of stopped gold runs.", len(summary.removed))
    _refuse_a_kept_version(lake, run_id)
    started = time.perf_counter()
    job, spark = _engine(name, master, log)
    summary.session_seconds = time.perf_counter() - started
    with ExitStack() as stack:
        stack.callback(job.close)
        ws = open_workspace(lake, spark, run_id, master, scratch, stack, log)
        summary.staging = ws.staging_dir
        computing = time.perf_counter()
        try:
            gold, digest = _build_version(lake, ws, job, summary, log)
        except BaseException:
            versions.prune_versions(lake)  # this version was never current: remove it
            raise
        finally:
            _duckdb = None
        summary.compute_seconds = time.perf_counter() - computing
    publishing = time.perf_counter()
    versions.make_current(lake, run_id, digest)
    summary.removed += [versions.version_key(v) for v in versions.prune_versions(lake)]
    summary.removed += versions.remove_old_layout(lake)
    summary.publish_seconds = time.perf_counter() - publishing
    summary.objects = [
        lake.url("gold", versions.version_key(run_id)),
        lake.url("gold", GOLD_POINTER),
    ]
    summary.rows = {table: frame.height for table, frame in gold.items()}
    summary.report_markdown = gold_report(summary)
    log.info(
        "Gold version %s is current (%.1f s): %s",
        run_id,
        time.perf_counter() - started,
        summary.rows,
    )
    return summary


def gold_report(summary: GoldSummary) -> str:
    """Row counts and timings as Markdown (a Prefect artifact and the run's log)."""
    lines = [f"# Gold tables (version {summary.version})", "", "| table | rows |", "|---|---:|"]
    lines += [f"| {table} | {rows:,} |" for table, rows in summary.rows.items()]
    session = "Spark session" if summary.engine == "spark" else "DuckDB start"
    lines += [
        "",
        f"Engine {summary.engine} · {session} {summary.session_seconds:.1f} s · job + gate "
        f"{summary.compute_seconds:.1f} s · publish {summary.publish_seconds:.1f} s",
    ]
    if summary.staging:
        lines.append("S3 lake staged through a local directory.")
    return "\n".join(lines)
