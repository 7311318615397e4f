"""Writing a gold table, the same way whichever engine computed it.

The engine hands over a pyarrow Table, its rows sorted by the table's write order (a unique
key, nulls last: a total order; DuckDB sorts in its query, Spark's collect through
`sort_rows`); `conform` gives it the catalog's declared columns, order, types and
nullability (`validation.catalog.GOLD_COLUMNS`), and `write_part` writes it as
one zstd Parquet file, `<gold>/<table>/part-00000.parquet`, renamed into place so a reader
never sees half a table. Two engines with equal results write byte-identical files.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import unquote, urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from spark.errors import GoldJobError
from validation.catalog import GOLD_WRITE_ORDER, gold_columns

PART = "part-00000.parquet"
ARROW_TYPES = {
    "str": pa.string(), "int": pa.int32(), "long": pa.int64(), "double": pa.float64(),
    "date": pa.date32(), "ts": pa.timestamp("us"), "bool": pa.bool_(),
}  # fmt: skip


class GoldWriteError(GoldJobError):
    """A gold table does not fit its declared schema, or could not be written."""


def local_path(url: str) -> Path | None:
    """The directory a `file://` URL or a plain path names; None for any other scheme."""
    if "://" not in url:
        return Path(url)
    parsed = urlparse(url)
    return Path(unquote(parsed.path)) if parsed.scheme == "file" else None


def declared_schema(table: str) -> pa.Schema:
    """The Arrow schema the catalog declares for a gold table (types and nullability)."""
    return pa.schema(
        pa.field(column, ARROW_TYPES[kind], nullable=nullable)
        for column, (kind, nullable) in gold_columns(table).items()
    )


def sort_rows(table: str, data: pa.Table) -> pa.Table:
    """Rows in the table's write order (a unique key; ascending, nulls last), sorted by
    pyarrow: what an engine that cannot sort on the way out (Spark's collect) hands over."""
    if data.num_rows < 2:
        return data
    keys = [(key, "ascending", "at_end") for key in GOLD_WRITE_ORDER[table]]
    return data.take(pc.sort_indices(data, sort_keys=keys))


def conform(table: str, data: pa.Table) -> pa.Table:
    """`data` (rows already in write order) with exactly the declared columns, types and
    nullability.

    Raises `GoldWriteError` naming the table and column when a column is missing or extra,
    a value does not fit its declared type, or a non-nullable column holds nulls.
    """
    schema = declared_schema(table)
    if data.column_names != schema.names:
        missing = [c for c in schema.names if c not in data.column_names]
        extra = [c for c in data.column_names if c not in schema.names]
        raise GoldWriteError(
            f"Gold table {table} has columns {data.column_names}, the catalog declares "
            f"{schema.names} (missing {missing}, extra {extra}): fix its model in spark/models/."
        )
    columns = []
    for field, column in zip(schema, data.columns, strict=True):
        try:
            column = column.cast(field.type)  # safe: an overflow or a fraction raises
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise GoldWriteError(
                f"Gold table {table}, column {field.name}: {column.type} does not fit the "
                f"declared {field.type} ({exc})."
            ) from None
        if not field.nullable and column.null_count:
            raise GoldWriteError(
                f"Gold table {table}, column {field.name}: {column.null_count:,} null value(s) "
                "where the catalog declares none; check silver's gate and the table's model."
            )
        columns.append(column)
    # No second sort here: the engine's order is kept (at 10x, re-sorting fact_sales and
    # the dimensions cost 1.4 CPU-s for the same rows in the same order).
    return pa.Table.from_arrays(columns, schema=schema).combine_chunks()


def write_part(table: pa.Table, gold_dir: Path, name: str, staging: str) -> Path:
    """Write `table` to `<gold_dir>/<name>/part-00000.parquet`, replacing the table whole:
    written under `<gold_dir>/<staging>/` first, then renamed over the previous table."""
    target = gold_dir / name
    staged = gold_dir / staging / f"{name}-{uuid.uuid4().hex[:12]}"
    try:
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
    except OSError as exc:
        raise GoldWriteError(
            f"Could not write gold table {name} under {gold_dir} ({exc.strerror}); is it "
            "writable? The previous table, if any, is kept."
        ) from None
    return target


def drop_empty_staging(gold_dir: Path, staging: str) -> None:
    directory = gold_dir / staging
    if directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
