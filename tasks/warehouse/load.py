"""The warehouse load: the current gold tables into `dw.*`, in one transaction.

A load replaces the loaded tables. PostgreSQL: keys, indexes and foreign keys are set aside,
the tables truncated and refilled with binary `COPY` (tasks/warehouse/pg_copy.py), then indexes
and keys rebuilt and foreign keys re-validated set-wise (see `_load_postgres`). SQLite: rows
deleted and re-inserted from Arrow in C (tasks/warehouse/sqlite_load.py). Re-loading the same
gold gives identical tables; a failure anywhere rolls everything back and the previous data
stays intact.
The connection (which warehouse) is `tasks/warehouse/connection.py`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import polars as pl
from sqlalchemy import MetaData, Table

from blocks.errors import ConfigurationError, WarehouseBusy
from tasks.warehouse.connection import Warehouse
from tasks.warehouse.pg_copy import binary_copy_stream
from tasks.warehouse.sqlite_load import load_sqlite


def frame_for(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame`'s columns in `table`'s order; `ConfigurationError` naming any it lacks."""
    columns = [c.name for c in table.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigurationError(
            f"Gold table {table.name} lacks column(s) {missing} the warehouse schema expects; "
            "re-run the gold stage, or migrate the warehouse schema."
        )
    return frame.select(columns)


def _copy_into(raw, table: Table, frame: pl.DataFrame) -> None:
    """Stream `frame` into `table` with `COPY ... (FORMAT binary)` (see tasks/warehouse/pg_copy.py).

    The server parses a chunk while the next one is encoded. (A writer thread, psycopg's
    QueuedLibpqWriter, measured no faster.) FREEZE: the table was truncated in this
    transaction, so rows go in already frozen (no hint-bit rewrites on first read).
    """
    from psycopg import sql

    columns = sql.SQL(", ").join(sql.Identifier(c) for c in frame.columns)
    copy_sql = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary, FREEZE)").format(
        sql.Identifier(table.schema or "public", table.name), columns
    )
    sql_types = [table.columns[name].type for name in frame.columns]
    chunks = binary_copy_stream(frame, sql_types, table=table.name)
    with raw.cursor() as cursor, cursor.copy(copy_sql) as copy:
        for chunk in chunks:
            copy.write(chunk)


# How long a load waits for a table another session is using (a long dashboard query, an
# open transaction) before giving up. Waiting longer would also stall every new reader queued
# behind the load's lock; giving up rolls back cleanly and the task retries later.
LOCK_TIMEOUT_SECONDS = 30


def load_tables(
    warehouse: Warehouse,
    metadata: MetaData,
    frames: Mapping[str, pl.DataFrame],
    new_file: bool = False,
) -> dict[str, int]:
    """Replace every table in `frames` in one transaction; return row counts loaded.
    `new_file`: a SQLite warehouse being built aside (`tasks/warehouse/new_file.py`)."""
    tables = [t for t in metadata.sorted_tables if t.name in frames]
    unknown = set(frames) - {t.name for t in tables}
    if unknown:
        raise ConfigurationError(f"No warehouse table for gold table(s) {sorted(unknown)}.")
    prepared = {t.name: frame_for(t, frames[t.name]) for t in tables}
    try:
        if warehouse.dialect == "postgresql":
            with warehouse.engine.begin() as conn:
                _load_postgres(conn, tables, prepared)
        else:
            path = sqlite_file(warehouse)
            # The load's driver has its own copy of SQLite: no connection of this process may
            # stay open on the file beside it (tasks/warehouse/sqlite_load.py).
            warehouse.engine.dispose()
            load_sqlite(path, tables, prepared, int(LOCK_TIMEOUT_SECONDS * 1000), new_file)
    except Exception as error:
        if _is_lock_timeout(error):
            raise WarehouseBusy(
                f"Warehouse {warehouse.description}: another session kept one of the "
                f"{len(tables)} tables being loaded busy for over {LOCK_TIMEOUT_SECONDS} s. "
                "Nothing changed. The load is retried; if it keeps failing, look for a long "
                "query or an idle open transaction (PostgreSQL: pg_stat_activity)."
            ) from None
        raise
    return {name: frame.height for name, frame in prepared.items()}


def sqlite_file(warehouse: Warehouse) -> str:
    database = warehouse.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise ConfigurationError(
            f"Warehouse {warehouse.description}: the SQLite warehouse must be a file path "
            "(sqlite:///PATH); an in-memory or URI database cannot be bulk loaded."
        )
    return database


def _is_lock_timeout(error: Exception) -> bool:
    from adbc_driver_sqlite.dbapi import OperationalError as AdbcOperationalError
    from psycopg.errors import LockNotAvailable

    if isinstance(error, LockNotAvailable):
        return True
    sqlite_errors = (sqlite3.OperationalError, AdbcOperationalError)
    return isinstance(error, sqlite_errors) and "database is locked" in str(error)


# Keys and indexes of the loaded tables, plus foreign keys pointing at them from elsewhere,
# exactly as the migrations (or a DBA) created them: dropped before the bulk copy and
# re-created from these definitions after it, inside the load's transaction.
_KEYS_SQL = """
SELECT c.contype, c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
FROM pg_constraint c
WHERE c.contype IN ('p', 'u', 'f')
  AND (c.conrelid = ANY(%(tables)s::regclass[]) OR c.confrelid = ANY(%(tables)s::regclass[]))
ORDER BY c.conrelid::regclass::text, c.conname
"""
_INDEXES_SQL = """
SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = ANY(%(tables)s::regclass[])
  AND NOT EXISTS (
    SELECT 1 FROM pg_constraint c
    WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')
  )
ORDER BY 1
"""


def _load_postgres(conn, tables: list[Table], frames: dict[str, pl.DataFrame]) -> None:
    """Bulk replace, the way PostgreSQL loads fastest, inside the caller's transaction.

    Drop the foreign keys, keys and indexes that touch the loaded tables (remembering their
    exact definitions), TRUNCATE, `COPY` straight into the tables, then re-create indexes and
    keys (one sorted build each) and re-add the foreign keys (one set-based check each,
    instead of a trigger per row; with the indexes already built the checks measured about a
    third cheaper). Everything is transactional in PostgreSQL: a failure anywhere, a dangling
    foreign key included, rolls back to the previous tables with all their constraints.
    Readers wait for the commit and never see a partial load.
    """
    from psycopg import sql

    raw = conn.connection.driver_connection
    names = [f"{t.schema}.{t.name}" for t in tables]
    raw.execute("SET LOCAL maintenance_work_mem = '256MB'")  # index builds sort in memory
    raw.execute(f"SET LOCAL lock_timeout = '{int(LOCK_TIMEOUT_SECONDS * 1000)}ms'")
    keys = raw.execute(_KEYS_SQL, {"tables": names}).fetchall()
    indexes = raw.execute(_INDEXES_SQL, {"tables": names}).fetchall()
    # Foreign keys first (they depend on the referenced keys), then keys, then indexes.
    for _kind, table, name, _ in sorted(keys, key=lambda k: k[0] != "f"):
        raw.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.SQL(table), sql.Identifier(name)
            )
        )
    for index, _ in indexes:
        raw.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(index)))
    raw.execute(
        sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(sql.Identifier(t.schema, t.name) for t in tables)
        )
    )
    for table in tables:
        _copy_into(raw, table, frames[table.name])
    for _, definition in indexes:
        raw.execute(sql.SQL(definition))
    # Keys before the foreign keys that reference them.
    for _kind, table, name, definition in sorted(keys, key=lambda k: k[0] == "f"):
        raw.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
                sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
            )
        )
