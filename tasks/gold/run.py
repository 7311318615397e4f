"""The gold stage: run the gold job into a new gold version, gate it, then make it current.

The job runs on one of two engines (spark/engine.py): DuckDB in this process (the default), or
Apache Spark when a Spark master is configured or `--engine spark` asks for it. Every run
writes a complete version beside the current one (`gold/_versions/<run_id>/`, see
tasks/gold/versions.py), seals it with a manifest, runs the gold gate (Pandera schemas +
reconciliation with silver) on that sealed version, and only then moves the pointer
`gold/_current.json` in one atomic step. A failed gate or a failed run removes its version: the
previous one stays current. A killed run leaves its version unpublished; the next run removes it.

Where the job writes:
- local lake: straight into the version directory (publishing is then only the pointer);
- S3 lake, Spark engine with the S3A connector on the classpath: `s3a://` directly into the
  version prefix;
- S3 lake otherwise (DuckDB, or Spark without S3A, this project's default install): silver is
  downloaded to a scratch directory under `$COFRE_HOME/.scratch/`, the job runs on local paths,
  and the parts are uploaded into the version prefix before the pointer PUT.
"""

from __future__ import annotations

import shutil
import threading
import time
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
from spark.gold_job import run_gold
from tasks.gold import versions
from tasks.layers.silver import read_silver, silver_inputs
from tasks.reports import StageReport
from tasks.runlog import run_logger
from validation.catalog import GOLD_INPUTS, GOLD_POINTER, GOLD_TABLES, RECONCILED_INPUTS, silver_key
from validation.gold import gold_gate

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark.session import S3AOptions

_spark: SparkSession | None = None
_spark_master: str | None = None
_spark_lock = threading.Lock()  # a warm-up thread and the gold stage may both ask
_duckdb: DuckDBEngine | None = None  # the DuckDB engine of a running gold stage (to interrupt)


def gold_engine_name(engine: str | None, master: str | None) -> str:
    """The engine a gold run uses: `engine` (auto|duckdb|spark; None: auto) resolved against
    the Spark master (auto: Spark when a master is configured, DuckDB otherwise)."""
    try:
        return choose_engine(engine, master)
    except ValueError as exc:
        raise ConfigurationError(f"{exc} (--engine or COFRE_GOLD_ENGINE)") from None


def get_spark(master: str | None = None) -> SparkSession:
    """This process's SparkSession: started on first use (seconds), reused afterwards.

    Asking for a different master than the running session's stops it and starts anew.
    Raises `ConfigurationError` naming the URL when a cluster master is unreachable or gives
    no executor in time (spark/session.py).
    """
    from spark.session import SparkMasterUnavailable, build_session, check_master_reachable

    global _spark, _spark_master
    with _spark_lock:
        if _spark is not None and _spark.sparkContext._jsc is None:
            _spark = None  # stopped elsewhere (a test fixture, spark.stop())
        try:
            if _spark is not None and master not in (None, _spark_master):
                check_master_reachable(master)  # keep the working session for a bad URL
                _spark.stop()
                _spark = None
            if _spark is None:
                _spark = build_session(master, app_name="cofre-gold")
                _spark_master = master or _spark.sparkContext.master
        except SparkMasterUnavailable as exc:
            raise ConfigurationError(str(exc)) from None
        return _spark


def stop_spark() -> None:
    """End this process's SparkSession and its JVM, when a run has no Spark work left: the
    warehouse load then runs without the idle JVM beside it (the run's memory peak at 10x)."""
    global _spark, _spark_master
    with _spark_lock:
        if _spark is not None:
            from spark.session import stop_session_and_jvm

            stop_session_and_jvm(_spark)
            _spark, _spark_master = None, None


def cancel_gold_work() -> None:
    """Stop the running gold computation (the gold time limit's watchdog calls it from its
    own thread; it does not wait for the session lock): every Spark job of this process's
    session is cancelled, or the DuckDB query interrupted."""
    engine = _duckdb
    if engine is not None:
        run_logger(__name__).warning("Interrupting the running DuckDB gold query.")
        engine.connection.interrupt()
    spark = _spark
    if spark is not None and spark.sparkContext._jsc is not None:
        run_logger(__name__).warning("Cancelling every running Spark job of this session.")
        spark.sparkContext.cancelAllJobs()


cancel_spark_jobs = cancel_gold_work  # the name the time-limit tests and tasks know


def warm_up_spark(master: str | None = None) -> threading.Thread:
    """Start the SparkSession in the background (the JVM takes 8+ s to boot) while the
    earlier stages run; the gold stage then finds it ready. A failure here is left for
    the gold stage to raise with its own message."""

    def start() -> None:
        try:
            from spark.session import warm_up

            # A first query loads and compiles Spark SQL's classes (seconds in a fresh JVM)
            # while the earlier stages run, not in the gold stage.
            warm_up(get_spark(master))
        except Exception as exc:  # the gold stage retries and reports
            run_logger(__name__).debug("Spark warm-up failed (%s); gold will retry.", exc)

    thread = threading.Thread(target=start, name="spark-warm-up", daemon=True)
    thread.start()
    return thread


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


@dataclass
class _Workspace:
    silver_url: str  # what Spark reads
    gold_url: str  # where Spark writes: the version itself, or a local scratch directory
    scratch: Path | None = None  # local output to tidy (None: Spark wrote to the bucket)
    staging_dir: str | None = None


def _s3a_options(lake: Lake) -> S3AOptions:
    from spark.session import S3AOptions

    fs = lake.fs
    return S3AOptions(
        endpoint=(getattr(fs, "client_kwargs", None) or {}).get("endpoint_url"),
        access_key=getattr(fs, "key", None),
        secret_key=getattr(fs, "secret", None),
        session_token=getattr(fs, "token", None),
        sse=(getattr(fs, "s3_additional_kwargs", None) or {}).get("ServerSideEncryption"),
    )


def scratch_root() -> Path:
    """This home's scratch directory: S3 staging lives here, so cleanup never touches another
    home's files."""
    return load_settings().home.resolve() / ".scratch"


def _workspace(
    lake: Lake, spark: SparkSession | None, run_id: str, master: str | None, stack: ExitStack, log
) -> _Workspace:
    """Where the job reads and writes (`spark`: None for the DuckDB engine)."""
    target = lake.path("gold", versions.version_key(run_id))
    if lake.is_local:  # the job writes the version in place: nothing to copy afterwards
        return _Workspace(lake.url("silver"), f"file://{target}", scratch=Path(target))
    if spark is not None:
        from spark.session import configure_s3a

        if configure_s3a(spark, _s3a_options(lake)):
            return _Workspace(f"s3a://{lake.path('silver')}", f"s3a://{target}")
    if spark is not None and master and not master.startswith("local"):
        raise ConfigurationError(
            f"Spark master {master!r} cannot read this S3 lake: the S3A connector is not on the "
            "classpath, and a local staging directory is invisible to a cluster's executors. "
            "Add hadoop-aws (docs/gold.md) or run gold with a local master."
        )
    tmp = scratch_root() / f"gold-{run_id}"
    tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
    stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    why = "the S3A connector is not on the classpath" if spark else "DuckDB reads local files"
    log.info("Staging through %s because %s.", tmp, why)
    for name in GOLD_INPUTS:  # only what the job reads
        if lake.exists("silver", silver_key(name)):
            lake.fs.get(lake.path("silver", name) + "/", f"{tmp}/silver/{name}/", recursive=True)
    gold = tmp / "gold"
    return _Workspace(f"file://{tmp}/silver", f"file://{gold}", gold, staging_dir=str(tmp))


def _tidy_local_table(directory: Path) -> list[Path]:
    """Keep only the Parquet parts, named `part-00000.parquet`, ... (drop _SUCCESS, .crc)."""
    parts = sorted(p for p in directory.glob("part-*.parquet"))
    for leftover in set(directory.iterdir()) - set(parts):
        leftover.unlink()
    renamed = [directory / f"part-{i:05d}.parquet" for i in range(len(parts))]
    for part, target in zip(parts, renamed, strict=True):
        part.rename(target)
    return renamed


def _complete_version(lake: Lake, ws: _Workspace, run_id: str) -> None:
    """Leave only Parquet parts in the version: tidy local output (uploading it when it was
    staged outside the lake), or drop Spark's marker objects from the bucket."""
    for table in GOLD_TABLES:
        prefix = versions.version_key(run_id, table)
        if ws.scratch is None:
            for key in lake.keys("gold", prefix):
                if not key.endswith(".parquet"):
                    lake.delete("gold", key)
            continue
        parts = _tidy_local_table(ws.scratch / table)
        if ws.staging_dir:
            for part in parts:
                lake.put_file("gold", f"{prefix}/{part.name}", part)


def _gate(lake: Lake, gold: dict[str, pl.DataFrame], run_id: str) -> None:
    silver = {name: read_silver(lake, name) for name in RECONCILED_INPUTS}
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
    lake: Lake, ws: _Workspace, engine: GoldEngine, summary: GoldSummary, log
) -> tuple[dict[str, pl.DataFrame], str]:
    """Gold job -> sealed version (with the silver it read) -> gold gate on what it holds."""
    run_id = summary.run_id
    inputs = silver_inputs(lake, GOLD_INPUTS)  # one writer per home: silver stays as read
    summary.rows_in = sum(ref["rows"] or 0 for ref in inputs.values())
    try:
        run_gold(engine, ws.silver_url, ws.gold_url, log=log)
    except MissingSilverDataset as exc:
        raise InvalidSourceData(str(exc)) from None
    _complete_version(lake, ws, run_id)
    manifest, digest = versions.seal_version(lake, run_id, run_id, inputs)
    audit.record(
        audit.Action.LAKE_WRITE,
        lake.url("gold", versions.version_key(run_id)),
        details={"run_id": run_id, "layer": "gold", "manifest_sha256": digest,
                 "rows": {t: e["rows"] for t, e in manifest["tables"].items()}},
    )  # fmt: skip
    _, gold = versions.read_gold_version(lake, run_id, digest)  # what readers will get
    _gate(lake, gold, run_id)
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
    lake: Lake, run_id: str, master: str | None = None, engine: str | None = None
) -> GoldSummary:
    """Build gold version `run_id` from the lake's silver, gate it, make it current.

    `engine`: auto (None), duckdb or spark; auto is Spark when `master` is given.

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
    summary.removed = versions.clean_leftovers(lake, scratch_root())
    if summary.removed:
        log.info("Removed %s leftover(s) of stopped gold runs.", len(summary.removed))
    _refuse_a_kept_version(lake, run_id)
    started = time.perf_counter()
    job, spark = _engine(name, master, log)
    summary.session_seconds = time.perf_counter() - started
    with ExitStack() as stack:
        stack.callback(job.close)
        ws = _workspace(lake, spark, run_id, master, stack, log)
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
