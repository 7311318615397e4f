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
import pyarrow as pa
from sqlalchemy import Table

from blocks.errors import InvalidSourceData

# Page cache while loading (KiB, negative = size): the rebuilt indexes and the key lookups
# of the foreign-key checks stay in memory. The load's connection is closed afterwards. It
# also bounds the sorter's in-memory run (at most 512 MiB): a 10x index sorts in one run.
# (A cache of 1.2 GiB, the whole 10x file, measured no faster and 300 MiB more RSS.)
LOAD_CACHE_KIB = 512 * 1024


# SQLAlchemy's SQLite DATETIME text, which polars writes for timestamps Arrow cannot.
DATETIME_TEXT = "%Y-%m-%d %H:%M:%S.%6f"


def sqlite_ready(frame: pl.DataFrame) -> pa.Table:
    """`frame` as the Arrow table the driver binds, values in SQLAlchemy's SQLite forms: ISO
    text timestamps (`DATETIME_TEXT`, microseconds always) and dates, 0/1 booleans.

    Timestamps without a time zone in microseconds (every gold timestamp) and dates are cast
    to text by Arrow: the same text as polars' `strftime`, in a third of the CPU (10x
    `fact_sales`: 1.06 -> 0.37 CPU-s); any other timestamp goes through `strftime` (its wall
    time in its zone, as before).
    """
    other = [
        name
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and (dtype.time_zone or dtype.time_unit != "us")
    ]
    if other:
        frame = frame.with_columns(pl.col(other).dt.strftime(DATETIME_TEXT))
    table = frame.to_arrow()
    columns = []
    for column in table.columns:
        if pa.types.is_timestamp(column.type) or pa.types.is_date32(column.type):
            column = column.cast(pa.large_string())
        elif pa.types.is_boolean(column.type):
            column = column.cast(pa.int8())
        columns.append(column)
    return pa.Table.from_arrays(columns, names=table.column_names)


def load_sqlite(
    path: str,
    tables: list[Table],
    frames: dict[str, pl.DataFrame],
    busy_timeout_ms: int,
    new_file: bool = False,
) -> None:
    """Replace `tables` in the SQLite file at `path` with `frames`, in one transaction
    (`SqliteLoad`, which says what happens to keys, indexes and journals).

    Raises `InvalidSourceData` naming the dangling keys, and the driver's `OperationalError`
    ("database is locked") when another writer kept the file for longer than
    `busy_timeout_ms`. No other connection of this process may be open on `path` meanwhile
    (see the module docstring).
    """
    # Each table is put in SQLite's forms in a thread, in load order, while the ones before it
    # are inserted (polars and the driver release the GIL; 10x: about 0.5 s off the load).
    converter = ThreadPoolExecutor(1, thread_name_prefix="warehouse-ready")
    ready = {t.name: converter.submit(sqlite_ready, frames[t.name]) for t in tables}
    try:
        with SqliteLoad(path, tables, busy_timeout_ms, new_file) as load:
            for table in tables:
                load.check_keys(table.name, frames[table.name])
                load.insert(table.name, ready[table.name].result())
            load.commit()
    finally:
        converter.shutdown(cancel_futures=True)


class SqliteLoad:
    """One load transaction on a SQLite file, in steps: open it (the write lock taken, the
    loaded tables emptied and their secondary indexes dropped), `insert` each table's rows and
    `check_keys` on its frame as the rows become available, then `commit`; leaving the `with`
    block without a commit rolls everything back.

    `new_file`: the file is a new warehouse no other connection can see yet (built aside,
    `tasks/warehouse/new_file.py`). The load then runs with a rollback journal, which holds
    almost nothing on a new file, so the rows are written once (with the WAL they are
    written to the log, then again by the checkpoint), and nothing is synced (the file is,
    once, before it is published); the file is back in WAL mode once committed.

    Foreign keys are off on the load's connection and checked set-wise before COMMIT: in the
    frames given to `check_keys` (in a thread, once a child and its parents are all there),
    and by SQLite for tables not loaded. Any failure, a dangling key included, rolls back.
    All calls come from one thread at a time; the connection is closed on leaving the block.
    """

    def __init__(
        self,
        path: str,
        tables: list[Table],
        busy_timeout_ms: int,
        new_file: bool = False,
        cache_kib: int = LOAD_CACHE_KIB,
    ) -> None:
        import adbc_driver_sqlite.dbapi

        self.tables = {t.name: t for t in tables}
        self.new_file = new_file
        self._rolls_back = False  # set once the transaction is ours to roll back
        self._prepared = False
        self._connection = adbc_driver_sqlite.dbapi.connect(path, autocommit=True)  # BEGIN: ours
        try:
            self._cursor = self._connection.cursor()
            self._begin(busy_timeout_ms, cache_kib)
        except BaseException:
            self._connection.close()
            raise

    def _begin(self, busy_timeout_ms: int, cache_kib: int) -> None:
        cursor = self._cursor
        for pragma in (
            "foreign_keys = OFF",  # checked set-wise below, once, instead of per row
            f"busy_timeout = {busy_timeout_ms}",  # another writer
            "synchronous = NORMAL",  # as the engine's connections (tasks/warehouse/connection.py)
            f"cache_size = -{cache_kib}",
            # No `temp_store = MEMORY`: with it SQLite's sorter mallocs each index entry on its
            # own and merge-sorts the scattered records; with the default it packs them in one
            # buffer (runs up to the cache size stay in memory; larger ones go to temp files).
            # Index builds: 7.5 -> 6.0 CPU-s at 10x.
        ):
            cursor.execute(f"PRAGMA {pragma}")
        if self.new_file:
            _rows(cursor, "PRAGMA journal_mode = DELETE")
            cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        try:
            self._keys = KeyCheck(_foreign_keys(cursor), set(self.tables))
            self._indexes = _drop_indexes(cursor, set(self.tables))
            for name in reversed(self.tables):
                cursor.execute(f'DELETE FROM "{name}"')  # noqa: S608 (our own metadata)
        except BaseException:
            cursor.execute("ROLLBACK")
            raise
        self._rolls_back = True

    def __enter__(self) -> SqliteLoad:
        return self

    def __exit__(self, *exc_info) -> None:
        try:
            self._keys.close()
            if self._rolls_back:
                self._cursor.execute("ROLLBACK")
            self._cursor.close()
        finally:
            self._connection.close()  # a transaction still open (a failed COMMIT) rolls back

    def check_keys(self, name: str, frame: pl.DataFrame) -> None:
        """Count `frame`'s dangling foreign keys once its parents are there (in a thread)."""
        self._keys.add(name, frame)

    def insert(self, name: str, table: pa.Table) -> None:
        """Append `table` (in SQLite's forms: `sqlite_ready`) to table `name`, in row order:
        the same rowids as one INSERT per row would give. The driver's INSERT names the
        table's columns; a table without rows inserts nothing."""
        self._cursor.adbc_ingest(name, table, mode="append")

    def prepare(self) -> None:
        """Rebuild the dropped indexes and check every foreign key (`InvalidSourceData` names
        the dangling ones): once every table with indexes or keys has its rows. `commit` does
        it when not done yet; a table inserted afterwards may have neither."""
        if self._prepared:
            return
        cursor = self._cursor
        for definition in self._indexes:
            cursor.execute(definition)
        counts, by_sql = self._keys.result()
        _check_foreign_keys(cursor, counts, by_sql)
        self._prepared = True

    def commit(self) -> None:
        """`prepare`, then COMMIT."""
        self.prepare()
        cursor = self._cursor
        self._rolls_back = False
        cursor.execute("COMMIT")
        if self.new_file:  # as every warehouse file: readers keep reading during later loads
            _rows(cursor, "PRAGMA journal_mode = WAL")


def _rows(cursor, statement: str) -> list[tuple]:
    cursor.execute(statement)
    return cursor.fetchall()


def _drop_indexes(cursor, loaded: set[str]) -> list[str]:
    """Drop the secondary indexes of the `loaded` tables; return their definitions."""
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
    return [definition for _, definition in indexes]


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


class KeyCheck:
    """The foreign keys of the loaded tables counted in their frames, each child as soon as it
    and its parents have been added (in a thread: polars releases the GIL), keeping of each
    frame only the key columns still needed. `result()`: ({(child, parent): dangling rows},
    the children SQLite must check instead: not loaded, a parent not loaded, or keys of
    other types)."""

    def __init__(self, keys: dict[str, list[tuple[str, list[str], list[str]]]], loaded: set[str]):
        self._keys = {child: ks for child, ks in keys.items() if child in loaded}
        self.by_sql = [child for child in keys if child not in loaded]
        for child, child_keys in self._keys.items():
            if any(p not in loaded or None in pc for p, _, pc in child_keys):
                self.by_sql.append(child)
        for child in self.by_sql:
            self._keys.pop(child, None)
        self._needed = {p: set() for ks in self._keys.values() for p, _, _ in ks}
        for child_keys in self._keys.values():
            for parent, _, parent_columns in child_keys:
                self._needed[parent].update(parent_columns)
        self._frames: dict[str, pl.DataFrame] = {}
        self._counts: list[Future] = []
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="warehouse-keys")
        self._closed = False

    def add(self, name: str, frame: pl.DataFrame) -> None:
        columns = set(self._needed.get(name, ()))
        for _, child_columns, _ in self._keys.get(name, ()):
            columns.update(child_columns)
        if columns and self._closed:
            raise RuntimeError(f"Table {name} has foreign keys, and they were checked already.")
        if columns:
            self._frames[name] = frame.select(sorted(columns))
        for child in [c for c in self._keys if c in self._frames]:
            if all(p in self._frames for p, _, _ in self._keys[child]):
                child_keys = self._keys.pop(child)
                frames = {n: self._frames[n] for n in (child, *(p for p, _, _ in child_keys))}
                self._counts.append(self._pool.submit(_count_child, child, child_keys, frames))
        self._drop_unneeded()

    def _drop_unneeded(self) -> None:
        wanted = set(self._keys) | {p for ks in self._keys.values() for p, _, _ in ks}
        for name in set(self._frames) - wanted:
            del self._frames[name]  # its submitted counts hold what they need

    def result(self) -> tuple[dict[tuple[str, str], int], list[str]]:
        try:
            counts: dict[tuple[str, str], int] = {}
            by_sql = list(self.by_sql) + list(self._keys)  # a child whose frames never came
            for future in self._counts:
                child, found, unchecked = future.result()
                if unchecked:
                    by_sql.append(child)
                    continue
                for pair, n in found.items():
                    counts[pair] = counts.get(pair, 0) + n
            return counts, by_sql
        finally:
            self.close()

    def close(self) -> None:
        self._closed = True
        self._pool.shutdown(cancel_futures=True)
        self._frames.clear()


def _count_child(
    child: str, child_keys: list[tuple[str, list[str], list[str]]], frames: dict[str, pl.DataFrame]
) -> tuple[str, dict[tuple[str, str], int], bool]:
    """(child, {(child, parent): dangling rows}, whether SQLite must check it instead)."""
    found: dict[tuple[str, str], int] = {}
    for parent, columns, parent_columns in child_keys:
        missing = _dangling_in_frames(frames[child], frames[parent], columns, parent_columns)
        if missing is None:
            return child, {}, True
        if missing:
            found[(child, parent)] = found.get((child, parent), 0) + missing
    return child, found, False


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
