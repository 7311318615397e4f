"""The two engines that run the gold models: DuckDB in process, and Apache Spark.

Both offer the same few steps the gold job needs (spark/gold_job.py): register a silver
dataset (Parquet) or a small Arrow table under a name, materialise a model's SQL as a named
table, and hand a table over as Arrow. The models are Spark SQL: Spark runs them as written;
DuckDB runs them translated by sqlglot (`to_duckdb`). Nothing else differs between engines.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Protocol

import pyarrow as pa

ENGINES = ("auto", "duckdb", "spark")


class GoldEngine(Protocol):
    name: str

    def register_parquet(self, view: str, directory: str) -> list[str] | None:
        """Register a dataset directory's Parquet files as `view`; its columns, or None when
        the directory holds no Parquet file (nothing is registered)."""

    def register_arrow(self, view: str, table: pa.Table) -> None: ...

    def create_view(self, view: str, sql: str) -> None:
        """`view` as the (Spark SQL) query `sql`, computed when read."""

    def materialize(self, table: str, sql: str) -> None:
        """`table` as the result of the (Spark SQL) query `sql`, computed once."""

    def rows(self, sql: str) -> list[tuple]:
        """The rows of a small (Spark SQL) query."""

    def to_arrow(self, table: str) -> pa.Table:
        """A materialised table as Arrow, rows in the table's write order (nulls last)."""

    def close(self) -> None: ...


@lru_cache(maxsize=1)
def _spark_ansi():
    """Spark SQL as Spark 4 runs it (ANSI mode, the default): a CAST that cannot convert
    raises, so DuckDB must get a strict CAST, not the TRY_CAST sqlglot gives for Hive-era
    Spark. (Division and modulo keep sqlglot's NULLIF guard; the models guard every divisor
    that may be zero themselves, so Spark never meets one either.)"""
    from sqlglot.dialects.spark import Spark

    class SparkAnsi(Spark):
        class Parser(Spark.Parser):
            STRICT_CAST = True

    return SparkAnsi


@lru_cache(maxsize=256)
def to_duckdb(sql: str) -> str:
    """A Spark SQL query in DuckDB's dialect (sqlglot; cached: the models are fixed text)."""
    import sqlglot

    (translated,) = sqlglot.transpile(sql, read=_spark_ansi(), write="duckdb")
    return translated


def choose_engine(engine: str | None, master: str | None) -> str:
    """`auto` (or None) is Spark when a Spark master is configured, DuckDB otherwise."""
    engine = (engine or "auto").lower()
    if engine not in ENGINES:
        raise ValueError(f"Unknown gold engine {engine!r}: choose one of {', '.join(ENGINES)}.")
    if engine == "auto":
        return "spark" if master else "duckdb"
    return engine


class DuckDBEngine:
    """DuckDB in this process: no JVM, every core, spills to disk past its memory limit."""

    name = "duckdb"
    exports_while_building = True  # spark/gold_job.py: a table is written as the next is built

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        import duckdb

        config: dict[str, object] = {"preserve_insertion_order": False}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        self.connection = duckdb.connect(":memory:", config=config)

    def register_parquet(self, view: str, directory: str) -> list[str] | None:
        from pathlib import Path

        from spark.gold_write import local_path

        path = local_path(directory)
        if path is None:
            raise ValueError(
                f"The DuckDB gold engine reads silver from a local directory, not {directory}: "
                "Cofre stages an S3 lake's silver through local disk (tasks/gold/run.py)."
            )
        parts = sorted(p for p in Path(path).glob("*.parquet") if not p.name.startswith(("_", ".")))
        if not parts:
            return None
        files = ", ".join(_literal(str(p)) for p in parts)
        self.connection.execute(
            f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM read_parquet([{files}])"
        )
        return [row[0] for row in self.connection.execute(f"DESCRIBE {view}").fetchall()]

    def register_arrow(self, view: str, table: pa.Table) -> None:
        self.connection.register(f"{view}_arrow", table)
        self.connection.execute(f"CREATE OR REPLACE TABLE {view} AS SELECT * FROM {view}_arrow")
        self.connection.unregister(f"{view}_arrow")

    def create_view(self, view: str, sql: str) -> None:
        self.connection.execute(f"CREATE OR REPLACE VIEW {view} AS {to_duckdb(sql)}")

    def materialize(self, table: str, sql: str) -> None:
        self.connection.execute(f"CREATE OR REPLACE TABLE {table} AS {to_duckdb(sql)}")

    def rows(self, sql: str) -> list[tuple]:
        return self.connection.execute(to_duckdb(sql)).fetchall()

    def to_arrow(self, table: str) -> pa.Table:
        from validation.catalog import GOLD_WRITE_ORDER

        # Sorted here, in parallel, with the same order pyarrow gives Spark's collect: the
        # keys are unique, and DuckDB compares text byte-wise by default, as pyarrow does.
        order = ", ".join(f"{key} ASC NULLS LAST" for key in GOLD_WRITE_ORDER[table])
        cursor = self.connection.cursor()
        try:
            return cursor.sql(f"SELECT * FROM {table} ORDER BY {order}").to_arrow_table()
        finally:
            cursor.close()

    def interrupt(self) -> bool:
        """Stop the query running now (from another thread); False once the engine is
        closed (its job is done: nothing runs on it any more)."""
        import duckdb

        try:
            self.connection.interrupt()
        except duckdb.ConnectionException:  # closed
            return False
        return True

    def close(self) -> None:
        """Free the engine's tables (closing again does nothing)."""
        self.connection.close()


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


LOG = logging.getLogger(__name__)
