"""The embedded SQLite warehouse's bulk load: one transaction on a connection of its own.

Rows go in through ADBC's SQLite driver (`adbc_driver_sqlite`): the frames are handed over as
Arrow and bound to a prepared `INSERT` in C, with no Python object per value (Python's
`sqlite3` needs one per value: ~90,000 rows/s here, most of the 10x load). Secondary indexes
are dropped and rebuilt after the inserts, and foreign keys are checked set-wise before COMMIT:
with polars hash anti-joins over the loaded frames where child and parent were both loaded
(their tables now hold exactly those frames; computed in a thread while SQLite inserts and
builds the indexes, both release the GIL), with `PRAGMA foreign_key_check` for every other
table that has foreign keys. Any failure rolls the whole transaction back; readers (WAL) see
the previous tables until COMMIT.

The driver carries its own copy of the SQLite library. SQLite's file locks are POSIX locks,
held per process, and two copies of the library in one process cannot see each other's: the
caller closes every connection this process has to the file before the load (the engine's
pool, `load_tables`) and opens none until it returns. Other processes (the dashboard, another
load) are kept apart by the locks as usual.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor

import polars as pl
from sqlalchemy import Table

from blocks.errors import InvalidSourceData

# Page cache while loading (KiB, negative = size): the rebuilt indexes and the key lookups
# of the foreign-key checks stay in memory. The load's connection is closed afterwards. It
# also bounds the sorter's in-memory run (at most 512 MiB): a 10x index sorts in one run.
# (A cache of 1.2 GiB, the whole 10x file, measured no faster and 300 MiB more RSS.)
LOAD_CACHE_KIB = 512 * 1024


def sqlite_ready(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as SQLAlchemy's SQLite types store them: ISO text dates, 0/1 booleans."""
    conversions = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
            conversions.append(pl.col(name).dt.strftime("%Y-%m-%d %H:%M:%S.%6f"))
        elif dtype == pl.Date:
            conversions.append(pl.col(name).dt.strftime("%Y-%m-%d"))
        elif dtype == pl.Boolean:
            conversions.append(pl.col(name).cast(pl.Int8))
    return frame.with_columns(conversions) if conversions else frame


def load_sqlite(
    path: str,
    tables: list[Table],
    frames: dict[str, pl.DataFrame],
    busy_timeout_ms: int,
    new_file: bool = False,
) -> None:
    """Replace `tables` in the SQLite file at `path` with `frames`, in one transaction.

    `new_file`: the file is a new warehouse no other connection can see yet (built aside,
    `tasks/warehouse/new_file.py`). The load then runs with a rollback journal, which holds
    almost nothing on a new file, so the rows are written once (with the WAL they are
    written to the log, then again by the checkpoint), and nothing is synced (the file is,
    once, before it is published); the file is back in WAL mode when the load returns.

    Foreign keys are off on the load's connection and checked set-wise before COMMIT; the
    secondary indexes are dropped and re-created around the inserts. Any failure, a dangling
    key included, rolls everything back. Raises `InvalidSourceData` naming the dangling keys,
    and the driver's `OperationalError` ("database is locked") when another writer kept the
    file for longer than `busy_timeout_ms`. No other connection of this process may be open
    on `path` meanwhile (see the module docstring).
    """
    import adbc_driver_sqlite.dbapi

    connection = adbc_driver_sqlite.dbapi.connect(path, autocommit=True)  # BEGIN is ours
    # Each table is put in SQLite's forms in a thread, in load order, while the ones before it
    # are inserted (polars and the driver release the GIL; 10x: about 0.5 s off the load).
    converter = ThreadPoolExecutor(1, thread_name_prefix="warehouse-ready")
    ready = {t.name: converter.submit(sqlite_ready, frames[t.name]) for t in tables}
    try:
        cursor = connection.cursor()
        for pragma in (
            "foreign_keys = OFF",  # checked set-wise below, once, instead of per row
            f"busy_timeout = {busy_timeout_ms}",  # another writer
            "synchronous = NORMAL",  # as the engine's connections (tasks/warehouse/connection.py)
            f"cache_size = -{LOAD_CACHE_KIB}",
            # No `temp_store = MEMORY`: with it SQLite's sorter mallocs each index entry on its
            # own and merge-sorts the scattered records; with the default it packs them in one
            # buffer (runs up to the cache size stay in memory; larger ones go to temp files).
            # Index builds: 7.5 -> 6.0 CPU-s at 10x.
        ):
            cursor.execute(f"PRAGMA {pragma}")
        if new_file:
            _rows(cursor, "PRAGMA journal_mode = DELETE")
            cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        try:
            keys = _foreign_keys(cursor)
            with ThreadPoolExecutor(1, thread_name_prefix="warehouse-keys") as pool:
                in_frames = pool.submit(
                    lambda: _dangling_in_loaded_frames(
                        keys, {n: f.result() for n, f in ready.items()}
                    )
                )
                _replace_rows(cursor, tables, ready)
                dangling, by_sql = in_frames.result()
            _check_foreign_keys(cursor, dangling, by_sql)
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        cursor.execute("COMMIT")
        if new_file:  # as every warehouse file: readers keep reading during later loads
            _rows(cursor, "PRAGMA journal_mode = WAL")
        cursor.close()
    finally:
        converter.shutdown(cancel_futures=True)
        connection.close()


def _rows(cursor, statement: str) -> list[tuple]:
    cursor.execute(statement)
    return cursor.fetchall()


def _replace_rows(cursor, tables: list[Table], frames: dict[str, Future[pl.DataFrame]]) -> None:
    loaded = {t.name for t in tables}
    indexes = [
        (name, definition)
        for name, table, definition in _rows(
            cursor,
            "SELECT name, tbl_name, sql FROM sqlite_master "
            "WHERE type = 'index' AND sql IS NOT NULL",  # automatic key indexes: no sql
        )
        if table in loaded
    ]
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    for table in reversed(tables):
        cursor.execute(f'DELETE FROM "{table.name}"')  # noqa: S608 (our own metadata)
    for table in tables:
        # In frame order: the same rowids as one INSERT per row would give. The driver's
        # INSERT names the frame's columns; a frame without rows inserts nothing.
        cursor.adbc_ingest(table.name, frames[table.name].result().to_arrow(), mode="append")
    for _, definition in indexes:
        cursor.execute(definition)


# -- foreign keys -------------------------------------------------------------------------
def _foreign_keys(cursor) -> dict[str, list[tuple[str, list[str], list[str]]]]:
    """Every table's foreign keys: {child: [(parent, child columns, parent columns)]}."""
    found: dict[str, list[tuple[str, list[str], list[str]]]] = {}
    tables = _rows(cursor, "SELECT name FROM sqlite_master WHERE type = 'table'")
    for (child,) in tables:
        keys: dict[int, tuple[str, list[str], list[str]]] = {}
        for fk_id, _seq, parent, column, parent_column, *_ in _rows(
            cursor, f'PRAGMA foreign_key_list("{child}")'
        ):
            entry = keys.setdefault(fk_id, (parent, [], []))
            entry[1].append(column)
            entry[2].append(parent_column)
        if keys:
            found[child] = list(keys.values())
    return found


def _dangling_in_frames(
    child: pl.DataFrame, parent: pl.DataFrame, columns: list[str], parent_columns: list[str]
) -> int | None:
    """Rows of `child` whose non-null key has no `parent` row. None when a key column is not
    text or integer on both sides (SQLite's type affinity would decide: leave it to SQLite)."""
    pairs = list(zip(columns, parent_columns, strict=True))
    for column, parent_column in pairs:
        kinds = {child.schema[column], parent.schema[parent_column]}
        if not (kinds == {pl.String} or all(kind.is_integer() for kind in kinds)):
            return None
    # Integers compare by value in SQLite whatever their width: widen both sides alike.
    widen = [
        pl.col(c).cast(pl.Int64) if child.schema[c].is_integer() else pl.col(c) for c in columns
    ]
    keys = child.select(widen).drop_nulls()  # SQLite skips keys with a NULL column
    targets = parent.select(parent_columns).rename(dict(pairs)).select(widen).unique()
    return keys.join(targets, on=columns, how="anti", nulls_equal=False).height


def _dangling_in_loaded_frames(
    keys: dict[str, list[tuple[str, list[str], list[str]]]], frames: dict[str, pl.DataFrame]
) -> tuple[dict[tuple[str, str], int], list[str]]:
    """Dangling keys counted in the frames: ({(child, parent): rows}, the children SQLite
    must check instead: not loaded, a parent not loaded, or keys of other types)."""
    counts: dict[tuple[str, str], int] = {}
    by_sql: list[str] = []
    for child, child_keys in keys.items():
        if child not in frames:
            by_sql.append(child)
            continue
        for parent, columns, parent_columns in child_keys:
            if parent not in frames or None in parent_columns:
                by_sql.append(child)
                break
            missing = _dangling_in_frames(frames[child], frames[parent], columns, parent_columns)
            if missing is None:
                by_sql.append(child)
                break
            if missing:
                counts[(child, parent)] = counts.get((child, parent), 0) + missing
    return counts, by_sql


def _check_foreign_keys(cursor, counts: dict[tuple[str, str], int], by_sql: list[str]) -> None:
    """Set-wise foreign-key check of the whole database, as `PRAGMA foreign_key_check`:
    `counts` from the frames, SQLite's own check for the tables in `by_sql`."""
    counts = {k: v for k, v in counts.items() if k[0] not in by_sql}  # SQLite recounts those
    for child in by_sql:
        for table, _rowid, parent, _fk in _rows(cursor, f'PRAGMA foreign_key_check("{child}")'):
            counts[(table, parent)] = counts.get((table, parent), 0) + 1
    if not counts:
        return
    detail = "; ".join(f"{n} row(s) of {t} point at no {p} row" for (t, p), n in counts.items())
    raise InvalidSourceData(
        f"Warehouse load rolled back, foreign key check failed: {detail}. The previous tables "
        "are intact. Re-run the gold stage (its gate checks these keys) and load again."
    )
