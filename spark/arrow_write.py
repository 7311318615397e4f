"""Gold tables written from the driver: collected once through Arrow, written by pyarrow.

Gold tables are small (the real-size fact is ~10 MB), so the fastest way out of Spark is one
Arrow collect per table: no `coalesce(1)` collapsing the upstream joins into a single task,
no Hadoop commit protocol (task attempt directories, `_SUCCESS`, `.crc` files, renames). The
file is the same as Spark's writer makes: one `part-00000.parquet` per table directory, zstd,
the same Parquet types and nullability, rows in `WRITE_ORDER`, Spark's schema in the footer.

Only for a gold root on a local (or shared, mounted) filesystem: `s3a://` and other remote
roots keep Spark's writer (spark/gold_job.py `write_table`).
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

from pyspark.sql import DataFrame

if TYPE_CHECKING:
    import pyarrow as pa

PART = "part-00000.parquet"
SPARK_ROW_METADATA = b"org.apache.spark.sql.parquet.row.metadata"  # what Spark's writer adds


def local_path(url: str) -> Path | None:
    """The directory a `file://` URL or a plain path names; None for any other scheme."""
    if "://" not in url:
        return Path(url)
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def arrow_available() -> bool:
    """Whether this driver can collect through Arrow (pyarrow importable, as Spark needs it)."""
    try:
        from pyspark.sql.pandas.utils import require_minimum_pyarrow_version

        require_minimum_pyarrow_version()
    except ImportError:
        return False
    return True


def collect_sorted(frame: DataFrame, order: tuple[str, ...]) -> pa.Table:
    """`frame` as one pyarrow Table, rows sorted by `order` ascending, nulls last.

    Every gold table's write order is a unique key, so this order is total: the same rows in
    the same order as Spark's `sortWithinPartitions` on one partition (both compare strings
    as UTF-8 bytes).
    """
    from pyspark.sql.pandas.types import to_arrow_schema

    # The types Spark's Parquet writer uses (plain, not large, strings), with nullability.
    schema = to_arrow_schema(frame.schema, timezone="UTC", prefers_large_types=False)
    table = frame.toArrow().cast(schema)
    if table.num_rows > 1:
        keys = [(key, "ascending", "at_end") for key in order]
        table = table.sort_by(keys)
    metadata = {
        SPARK_ROW_METADATA: frame.schema.json().encode(),
        b"org.apache.spark.version": frame.sparkSession.version.encode(),
    }
    return table.combine_chunks().replace_schema_metadata(metadata)


def write_table_arrow(
    frame: DataFrame, gold_dir: Path, name: str, order: tuple[str, ...], staging: str
) -> tuple[Path, int]:
    """Write `frame` to `<gold_dir>/<name>/part-00000.parquet`, replacing the table whole.

    Written into `<gold_dir>/<staging>/` first and renamed over the previous table, so a
    reader never sees half a table. Returns (table directory, rows). File modes follow the
    process's umask, as Spark's writer is told to.
    """
    import pyarrow.parquet as pq

    table = collect_sorted(frame, order)
    target = gold_dir / name
    staged = gold_dir / staging / f"{name}-{uuid.uuid4().hex[:12]}"
    staged.mkdir(parents=True)
    pq.write_table(table, staged / PART, compression="zstd")
    previous = staged.with_name(staged.name + ".previous")
    had_previous = target.exists()
    if had_previous:
        os.rename(target, previous)
    try:
        os.rename(staged, target)
    except OSError:
        if had_previous:
            os.rename(previous, target)  # put the old table back
        raise
    if had_previous:
        shutil.rmtree(previous, ignore_errors=True)
    return target, table.num_rows
