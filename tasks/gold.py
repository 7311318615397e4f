"""The gold stage: run the Spark job, gate its output, then publish it to the lake, audited.

The job always writes to a staging location first; the gold gate (Pandera schemas +
reconciliation with silver) reads that, and only a passing run replaces `gold/<table>/`.
A failed gate publishes nothing: the previous gold stays as it was.

Where the job reads and writes:
- local lake: silver in place; gold staged in `<lake>/.staging/gold-<run_id>/`, then each
  table is renamed over the old one (same filesystem, so the swap is a rename);
- S3 lake, S3A connector on the classpath: `s3a://` directly, staged under
  `gold/_staging/<run_id>/`, then copied into place;
- S3 lake without S3A (this project's default install): silver is downloaded to a local
  temporary directory with s3fs, the job runs on local paths, and gold is uploaded.
Published tables hold `part-NNNNN.parquet` file(s) and a `_manifest.json`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from prefect import task
from prefect.cache_policies import NO_CACHE
from pyspark.sql import SparkSession

from blocks import audit
from blocks.errors import ConfigurationError, InvalidSourceData, QualityGateFailed
from blocks.lake import Lake, sha256_file
from spark.gold_job import GOLD_TABLES, run_gold
from spark.session import S3AOptions, build_session, configure_s3a
from spark.silver import INPUTS as SILVER_DATASETS
from spark.silver import MissingSilverDataset
from tasks.runlog import run_logger
from tasks.silver import read_silver
from validation.gold import SILVER_INPUTS, gold_gate, read_gold_table

MANIFEST = "_manifest.json"

_spark: SparkSession | None = None
_spark_master: str | None = None
_spark_lock = threading.Lock()  # a warm-up thread and the gold stage may both ask


def get_spark(master: str | None = None) -> SparkSession:
    """This process's SparkSession: started on first use (seconds), reused afterwards.

    Asking for a different master than the running session's stops it and starts anew.
    """
    global _spark, _spark_master
    with _spark_lock:
        if _spark is not None and _spark.sparkContext._jsc is None:
            _spark = None  # stopped elsewhere (a test fixture, spark.stop())
        if _spark is not None and master not in (None, _spark_master):
            _spark.stop()
            _spark = None
        if _spark is None:
            _spark = build_session(master, app_name="cofre-gold")
            _spark_master = master or _spark.sparkContext.master
        return _spark


def warm_up_spark(master: str | None = None) -> threading.Thread:
    """Start the SparkSession in the background (the JVM takes 8+ s to boot) while the
    earlier stages run; the gold stage then finds it ready. A failure here is left for
    the gold stage to raise with its own message."""

    def start() -> None:
        try:
            get_spark(master)
        except Exception as exc:  # the gold stage retries and reports
            run_logger(__name__).debug("Spark warm-up failed (%s); gold will retry.", exc)

    thread = threading.Thread(target=start, name="spark-warm-up", daemon=True)
    thread.start()
    return thread


@dataclass
class GoldSummary:
    run_id: str
    rows: dict[str, int] = field(default_factory=dict)
    objects: list[str] = field(default_factory=list)
    staging: str | None = None  # the local directory an S3 lake was staged through
    session_seconds: float = 0.0
    compute_seconds: float = 0.0
    publish_seconds: float = 0.0
    report_markdown: str = ""


@dataclass
class _Workspace:
    silver_url: str  # what Spark reads
    gold_url: str  # where Spark writes (staging)
    gold_path: str  # the same place, as the publisher sees it
    local: bool  # gold_path is on local disk (else it is in the lake's bucket)
    staging_dir: str | None = None


def _s3a_options(lake: Lake) -> S3AOptions:
    fs = lake.fs
    return S3AOptions(
        endpoint=(getattr(fs, "client_kwargs", None) or {}).get("endpoint_url"),
        access_key=getattr(fs, "key", None),
        secret_key=getattr(fs, "secret", None),
        session_token=getattr(fs, "token", None),
        sse=(getattr(fs, "s3_additional_kwargs", None) or {}).get("ServerSideEncryption"),
    )


def _workspace(
    lake: Lake, spark: SparkSession, run_id: str, master: str | None, stack: ExitStack, log
) -> _Workspace:
    if lake.is_local:
        staging = Path(lake.path("gold")).parent / ".staging" / f"gold-{run_id}"
        stack.callback(_remove_if_empty, staging.parent)
        stack.callback(shutil.rmtree, staging, ignore_errors=True)
        return _Workspace(lake.url("silver"), f"file://{staging}", str(staging), local=True)
    if configure_s3a(spark, _s3a_options(lake)):
        staged = lake.path("gold", f"_staging/{run_id}")
        stack.callback(lambda: lake.fs.exists(staged) and lake.fs.rm(staged, recursive=True))
        return _Workspace(f"s3a://{lake.path('silver')}", f"s3a://{staged}", staged, local=False)
    if master and not master.startswith("local"):
        raise ConfigurationError(
            f"Spark master {master!r} cannot read this S3 lake: the S3A connector is not on the "
            "classpath, and a local staging directory is invisible to a cluster's executors. "
            "Add hadoop-aws (docs/gold.md) or run gold with a local master."
        )
    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="cofre-gold-"))
    log.info("Staging through %s because the S3A connector is not on the classpath.", tmp)
    for name in SILVER_DATASETS:  # only what the job reads
        if lake.exists("silver", f"{name}/data.parquet"):
            lake.fs.get(lake.path("silver", name) + "/", f"{tmp}/silver/{name}/", recursive=True)
    gold = f"{tmp}/gold"
    return _Workspace(f"file://{tmp}/silver", f"file://{gold}", gold, local=True, staging_dir=tmp)


def _remove_if_empty(directory: Path) -> None:
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


def _tidy_local_table(directory: Path) -> list[Path]:
    """Keep only the Parquet parts, named `part-00000.parquet`, ... (drop _SUCCESS, .crc)."""
    parts = sorted(p for p in directory.glob("part-*.parquet"))
    for leftover in set(directory.iterdir()) - set(parts):
        leftover.unlink()
    renamed = [directory / f"part-{i:05d}.parquet" for i in range(len(parts))]
    for part, target in zip(parts, renamed, strict=True):
        part.rename(target)
    return renamed


def _manifest(table: str, rows: int, files: list[dict], frame: pl.DataFrame, run_id: str) -> bytes:
    return json.dumps(
        {
            "table": table,
            "rows": rows,
            "files": files,
            "columns": {c: str(t) for c, t in frame.schema.items()},
            "run_id": run_id,
            "written_at": datetime.now(UTC).isoformat(),
        },
        indent=2,
    ).encode()


def _publish_local_swap(lake: Lake, ws: _Workspace, table: str) -> list[dict]:
    """Local lake: rename the staged table over `gold/<table>` (same filesystem)."""
    staged, target = Path(ws.gold_path) / table, Path(lake.path("gold", table))
    files = [
        {"name": p.name, "sha256": sha256_file(p)[0], "bytes": p.stat().st_size}
        for p in sorted(staged.glob("part-*.parquet"))
    ]
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = staged.with_name(f"{table}.previous")
    if target.exists():
        os.rename(target, previous)
    os.rename(staged, target)
    shutil.rmtree(previous, ignore_errors=True)
    return files


def _publish_to_bucket(lake: Lake, ws: _Workspace, table: str) -> list[dict]:
    """S3 lake: put each part at a fixed key (a PUT replaces an object atomically), then
    delete whatever else the table held. One part per table makes the swap atomic."""
    if ws.local:
        sources = sorted(str(p) for p in (Path(ws.gold_path) / table).glob("part-*.parquet"))
    else:
        sources = sorted(lake.fs.glob(f"{ws.gold_path}/{table}/part-*.parquet"))
    files, keep = [], {f"{table}/{MANIFEST}"}
    for i, source in enumerate(sources):
        key = f"{table}/part-{i:05d}.parquet"
        if ws.local:
            written = lake.put_file("gold", key, source)
            files.append(
                {"name": key.split("/")[-1], "sha256": written.sha256, "bytes": written.size}
            )
        else:
            lake.fs.copy(source, lake.path("gold", key))
            files.append({"name": key.split("/")[-1], "bytes": lake.size("gold", key)})
        keep.add(key)
    for stale in set(lake.keys("gold", table)) - keep:
        lake.delete("gold", stale)
    return files


def _publish(lake: Lake, ws: _Workspace, gold: dict[str, pl.DataFrame], run_id: str) -> list[str]:
    published = []
    for table in GOLD_TABLES:
        if lake.is_local:
            files = _publish_local_swap(lake, ws, table)
        else:
            files = _publish_to_bucket(lake, ws, table)
        rows = gold[table].height
        manifest = _manifest(table, rows, files, gold[table], run_id)
        lake.write_bytes("gold", f"{table}/{MANIFEST}", manifest)
        audit.record(
            audit.Action.LAKE_WRITE,
            lake.url("gold", table),
            details={"run_id": run_id, "rows": rows, "files": len(files), "layer": "gold"},
        )
        published.append(lake.url("gold", table))
    return published


def _read_staged_gold(lake: Lake, ws: _Workspace) -> dict[str, pl.DataFrame]:
    if ws.local:
        for table in GOLD_TABLES:
            _tidy_local_table(Path(ws.gold_path) / table)
        return {t: read_gold_table(f"{ws.gold_path}/{t}") for t in GOLD_TABLES}
    return {t: read_gold_table(f"{ws.gold_path}/{t}", fs=lake.fs) for t in GOLD_TABLES}


def _gate(lake: Lake, gold: dict[str, pl.DataFrame], run_id: str) -> None:
    silver = {name: read_silver(lake, name) for name in SILVER_INPUTS}
    try:
        gold_gate(silver, gold)
    except QualityGateFailed as exc:
        audit.record(
            audit.Action.VALIDATION_FAILED,
            lake.url("gold"),
            details={"run_id": run_id, "problems": str(exc).count("\n  - ")},
            outcome="failure",
        )
        raise
    audit.record(
        audit.Action.VALIDATION_PASSED,
        lake.url("gold"),
        details={
            "run_id": run_id,
            "tables": len(gold),
            "rows": {t: f.height for t, f in gold.items()},
        },
    )


def run_gold_stage(lake: Lake, run_id: str, master: str | None = None) -> GoldSummary:
    """Build gold from the lake's silver with Spark, gate it, publish it; return a summary.

    Raises `InvalidSourceData` when silver lacks a dataset gold needs, `QualityGateFailed`
    when the gold gate fails (nothing is published), `ConfigurationError` for an S3 lake
    with a cluster master but no S3A connector.
    """
    log = run_logger(__name__)
    summary = GoldSummary(run_id)
    started = time.perf_counter()
    spark = get_spark(master)
    summary.session_seconds = time.perf_counter() - started
    with ExitStack() as stack:
        ws = _workspace(lake, spark, run_id, master, stack, log)
        summary.staging = ws.staging_dir
        computing = time.perf_counter()
        try:
            run_gold(spark, ws.silver_url, ws.gold_url, log=log)
        except MissingSilverDataset as exc:
            raise InvalidSourceData(str(exc)) from None
        gold = _read_staged_gold(lake, ws)
        _gate(lake, gold, run_id)
        summary.compute_seconds = time.perf_counter() - computing
        publishing = time.perf_counter()
        summary.objects = _publish(lake, ws, gold, run_id)
        summary.publish_seconds = time.perf_counter() - publishing
    summary.rows = {table: frame.height for table, frame in gold.items()}
    summary.report_markdown = gold_report(summary)
    log.info("Gold published in %.1f s: %s", time.perf_counter() - started, summary.rows)
    return summary


def gold_report(summary: GoldSummary) -> str:
    """Row counts and timings as Markdown (a Prefect artifact and the run's log)."""
    lines = ["# Gold tables", "", "| table | rows |", "|---|---:|"]
    lines += [f"| {table} | {rows:,} |" for table, rows in summary.rows.items()]
    lines += [
        "",
        f"Spark session {summary.session_seconds:.1f} s · job + gate "
        f"{summary.compute_seconds:.1f} s · publish {summary.publish_seconds:.1f} s",
    ]
    if summary.staging:
        lines.append("S3 lake staged through a local directory (no S3A connector).")
    return "\n".join(lines)


@task(name="build-gold", task_run_name="gold (spark)", cache_policy=NO_CACHE)
def run_gold_task(lake: Lake, run_id: str, master: str | None = None) -> GoldSummary:
    from prefect.artifacts import create_markdown_artifact

    summary = run_gold_stage(lake, run_id, master)
    create_markdown_artifact(summary.report_markdown, key="gold-row-counts")
    return summary
