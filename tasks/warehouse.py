"""The warehouse: PostgreSQL (loads with COPY) or the embedded SQLite file, same schema.

Connection precedence: `--warehouse URL` > `COFRE_WAREHOUSE_URL` (a URL without a password) >
the encrypted PostgreSQL block named by `COFRE_WAREHOUSE_BLOCK` > `$COFRE_HOME/warehouse.db`.

A load is one transaction that replaces the loaded tables. PostgreSQL: keys, indexes and
foreign keys are set aside, the tables truncated and refilled with binary `COPY`
(tasks/pg_copy.py), then indexes and keys rebuilt and foreign keys re-validated set-wise
(see `_load_postgres`). SQLite: rows deleted and re-inserted (tasks/warehouse_sqlite.py).
Re-loading the same gold gives identical tables; a failure anywhere rolls everything back and the
previous data stays intact.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import polars as pl
from sqlalchemy import Engine, MetaData, Table, create_engine, event, select, text
from sqlalchemy.engine import make_url

from blocks.errors import ConfigurationError, WarehouseBusy
from blocks.parameter_guard import refuse_password_in_url
from blocks.settings import CofreSettings
from tasks.pg_copy import binary_copy_stream
from tasks.warehouse_sqlite import load_sqlite


@dataclass
class Warehouse:
    engine: Engine
    description: str  # safe to print: never holds a password

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, execution_options={"schema_translate_map": {"dw": None}})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")  # readers keep reading during a load
        # WAL + NORMAL: a crash never corrupts or half-applies a load; a power cut may lose
        # the last committed load (re-run it). Saves an fsync of the whole WAL per commit.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB: index pages stay in memory
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:  # pysqlite's implicit transactions are not DDL-safe
        connection.exec_driver_sql("BEGIN")

    return engine


def connect_warehouse(settings: CofreSettings, url: str | None = None) -> Warehouse:
    """The configured warehouse (see the module docstring for the precedence)."""
    url = url or settings.warehouse_url
    if url:
        refuse_password_in_url(url, "warehouse URL")  # userinfo or ?password= (libpq)
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            parsed = parsed.set(drivername="postgresql+psycopg")
        if parsed.drivername.startswith("sqlite"):
            return Warehouse(_sqlite_engine(parsed.render_as_string()), str(parsed))
        return Warehouse(create_engine(parsed), parsed.render_as_string(hide_password=True))
    if settings.warehouse_block:
        from blocks.credentials import PostgresCredentials

        block = PostgresCredentials.require(settings.warehouse_block)
        engine = block.sqlalchemy_connector().get_engine()
        return Warehouse(engine, f"{block.safe_url()} (block {block.label})")
    path = (settings.home / "warehouse.db").resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return Warehouse(_sqlite_engine(f"sqlite:///{path}"), f"sqlite:///{path}")


# -- loading ------------------------------------------------------------------------------
def _frame_for(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    columns = [c.name for c in table.columns]
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ConfigurationError(
            f"Gold table {table.name} lacks column(s) {missing} the warehouse schema expects; "
            "re-run the gold stage, or migrate the warehouse schema."
        )
    return frame.select(columns)


def _copy_into(raw, table: Table, frame: pl.DataFrame) -> None:
    """Stream `frame` into `table` with `COPY ... (FORMAT binary)` (see tasks/pg_copy.py).

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
    warehouse: Warehouse, metadata: MetaData, frames: Mapping[str, pl.DataFrame]
) -> dict[str, int]:
    """Replace every table in `frames` in one transaction; return row counts loaded."""
    tables = [t for t in metadata.sorted_tables if t.name in frames]
    unknown = set(frames) - {t.name for t in tables}
    if unknown:
        raise ConfigurationError(f"No warehouse table for gold table(s) {sorted(unknown)}.")
    prepared = {t.name: _frame_for(t, frames[t.name]) for t in tables}
    try:
        if warehouse.dialect == "postgresql":
            with warehouse.engine.begin() as conn:
                _load_postgres(conn, tables, prepared)
        else:
            with warehouse.engine.connect() as conn:
                raw = conn.connection.driver_connection
                load_sqlite(raw, tables, prepared, int(LOCK_TIMEOUT_SECONDS * 1000))
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


def _is_lock_timeout(error: Exception) -> bool:
    from psycopg.errors import LockNotAvailable

    if isinstance(error, LockNotAvailable):
        return True
    return isinstance(error, sqlite3.OperationalError) and "database is locked" in str(error)


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


# -- reading back ---------------------------------------------------------------------------
def _canonical(value) -> str:
    if isinstance(value, float):
        return f"{value:.6f}"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return repr(value)


def table_checksum(warehouse: Warehouse, table: Table) -> tuple[int, str]:
    """(row count, sha256 of every row in primary-key order): equal content, equal checksum."""
    order = list(table.primary_key.columns) or list(table.columns)
    digest, count = hashlib.sha256(), 0
    with warehouse.engine.connect() as conn:
        for row in conn.execute(select(table).order_by(*order)):
            digest.update("\x1f".join(_canonical(v) for v in row).encode())
            digest.update(b"\x1e")
            count += 1
    return count, digest.hexdigest()


def table_counts(warehouse: Warehouse, metadata: MetaData) -> dict[str, int]:
    with warehouse.engine.connect() as conn:
        return {
            t.name: conn.execute(select(text("count(*)")).select_from(t)).scalar_one()
            for t in metadata.sorted_tables
        }
