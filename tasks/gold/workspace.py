"""Where a gold run's job reads and writes, and how its output becomes a complete version.

- local lake: straight into the version directory (publishing is then only the pointer);
- S3 lake, Spark engine with the S3A connector on the classpath: `s3a://` directly into the
  version prefix;
- S3 lake otherwise (DuckDB, or Spark without S3A, this project's default install): silver is
  downloaded to a scratch directory under `$COFRE_HOME/.scratch/`, the job runs on local paths,
  and the parts are uploaded into the version prefix before the pointer PUT.
"""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blocks.errors import ConfigurationError
from blocks.lake import Lake
from tasks.gold import versions
from validation.catalog import GOLD_INPUTS, GOLD_TABLES, silver_key

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from spark.session import S3AOptions


@dataclass
class Workspace:
    silver_url: str  # what the job reads
    gold_url: str  # where the job writes: the version itself, or a local scratch directory
    scratch: Path | None = None  # local output to tidy (None: Spark wrote to the bucket)
    staging_dir: str | None = None


def scratch_root(home: Path) -> Path:
    """Home `home`'s scratch directory: S3 staging lives here, so cleanup never touches
    another home's files."""
    return home.resolve() / ".scratch"


def open_workspace(
    lake: Lake,
    spark: SparkSession | None,
    run_id: str,
    master: str | None,
    scratch: Path,
    stack: ExitStack,
    log,
) -> Workspace:
    """Where the job reads and writes (`spark`: None for the DuckDB engine); a staging
    directory under `scratch` is removed when `stack` closes."""
    target = lake.path("gold", versions.version_key(run_id))
    if lake.is_local:  # the job writes the version in place: nothing to copy afterwards
        return Workspace(lake.url("silver"), f"file://{target}", scratch=Path(target))
    if spark is not None:
        from spark.session import configure_s3a

        if configure_s3a(spark, _s3a_options(lake)):
            return Workspace(f"s3a://{lake.path('silver')}", f"s3a://{target}")
    if spark is not None and master and not master.startswith("local"):
        raise ConfigurationError(
            f"Spark master {master!r} cannot read this S3 lake: the S3A connector is not on the "
            "classpath, and a local staging directory is invisible to a cluster's executors. "
            "Add hadoop-aws (docs/gold.md) or run gold with a local master."
        )
    tmp = scratch / f"gold-{run_id}"
    tmp.mkdir(parents=True, exist_ok=True, mode=0o700)
    stack.callback(shutil.rmtree, tmp, ignore_errors=True)
    why = "the S3A connector is not on the classpath" if spark else "DuckDB reads local files"
    log.info("Staging through %s because %s.", tmp, why)
    for name in GOLD_INPUTS:  # only what the job reads
        if lake.exists("silver", silver_key(name)):
            lake.fs.get(lake.path("silver", name) + "/", f"{tmp}/silver/{name}/", recursive=True)
    gold = tmp / "gold"
    return Workspace(f"file://{tmp}/silver", f"file://{gold}", gold, staging_dir=str(tmp))


def complete_version(lake: Lake, ws: Workspace, run_id: str) -> None:
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


def _tidy_local_table(directory: Path) -> list[Path]:
    """Keep only the Parquet parts, named `part-00000.parquet`, ... (drop _SUCCESS, .crc)."""
    parts = sorted(p for p in directory.glob("part-*.parquet"))
    for leftover in set(directory.iterdir()) - set(parts):
        leftover.unlink()
    renamed = [directory / f"part-{i:05d}.parquet" for i in range(len(parts))]
    for part, target in zip(parts, renamed, strict=True):
        part.rename(target)
    return renamed


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
