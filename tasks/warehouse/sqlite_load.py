"""The embedded SQLite warehouse's bulk load: one transaction on the raw connection.

Rows go in with multi-row `INSERT`s (fewer statement steps per row than one `INSERT` per
row), secondary indexes are dropped and rebuilt after the inserts with the sort in memory,
and foreign keys are checked set-wise before COMMIT: with polars hash anti-joins over the
loaded frames where child and parent were both loaded (their tables now hold exactly those
frames), with `PRAGMA foreign_key_check` for every other table that has foreign keys.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import polars as pl
from sqlalchemy import Table

from blocks.errors import InvalidSourceData

# Rows bound per INSERT statement: far below SQLite's variable limit, large enough that the
# per-statement work (reset, re-bind, VM start) is spread over many rows.
ROWS_PER_INSERT = 64
# Page cache while loading (KiB, negative = size): the rebuilt indexes and the key lookups
# of the foreign-key checks stay in memory. Restored to the connection's setting afterwards.
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
    raw, tables: list[Table], frames: dict[str, pl.DataFrame], busy_timeout_ms: int
) -> None:
    """SQLite's bulk path, in one transaction on the raw connection (autocommit mode).

    Foreign keys are switched off for the load (SQLite only allows that outside a
    transaction) and checked set-wise before COMMIT; the secondary indexes are dropped and
    re-created around the inserts. Any failure, a dangling key included, rolls everything
    back. Raises `InvalidSourceData` naming the dangling keys.
    """
    (cache_size,) = raw.execute("PRAGMA cache_size").fetchone()
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")  # another writer
    raw.execute(f"PRAGMA cache_size = -{LOAD_CACHE_KIB}")
    raw.execute("PRAGMA temp_store = MEMORY")  # index builds sort in memory, not temp files
    try:
        raw.execute("BEGIN IMMEDIATE")  # take the write lock now, not halfway through
        try:
            ready = {t.name: sqlite_ready(frames[t.name]) for t in tables}
            _replace_rows(raw, tables, ready)
            _check_foreign_keys(raw, ready)
        except BaseException:
            raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")
    finally:
        raw.execute("PRAGMA foreign_keys=ON")
        raw.execute(f"PRAGMA cache_size = {int(cache_size)}")
        raw.execute("PRAGMA temp_store = DEFAULT")


def _replace_rows(raw, tables: list[Table], frames: dict[str, pl.DataFrame]) -> None:
    loaded = {t.name for t in tables}
    indexes = [
        (name, definition)
        for name, table, definition in raw.execute(
            "SELECT name, tbl_name, sql FROM sqlite_master "
            "WHERE type = 'index' AND sql IS NOT NULL"  # automatic key indexes: no sql
        )
        if table in loaded
    ]
    for name, _ in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    for table in reversed(tables):
        raw.execute(f'DELETE FROM "{table.name}"')  # noqa: S608 (our own metadata)
    for table in tables:
        _insert(raw, table.name, frames[table.name])
    for _, definition in indexes:
        raw.execute(definition)


def _insert(raw, name: str, frame: pl.DataFrame) -> None:
    """Insert `frame`'s rows in order (same rowids as one INSERT per row would give)."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    row = "(" + ", ".join("?" for _ in frame.columns) + ")"
    # Identifiers come from our own metadata, values are bound parameters.
    into = f'INSERT INTO "{name}" ({columns}) VALUES '  # noqa: S608
    whole = frame.height - frame.height % ROWS_PER_INSERT
    if whole:
        statement = into + ", ".join([row] * ROWS_PER_INSERT)
        raw.executemany(statement, _flat_batches(frame.slice(0, whole), ROWS_PER_INSERT))
    if whole < frame.height:
        raw.executemany(into + row, frame.slice(whole).iter_rows())


def _flat_batches(frame: pl.DataFrame, rows: int) -> Iterator[tuple]:
    """`rows` rows at a time, flattened row-major into one tuple of parameters."""
    values = itertools.chain.from_iterable(frame.iter_rows())
    width = rows * frame.width
    while batch := tuple(itertools.islice(values, width)):
        yield batch


# -- foreign keys -------------------------------------------------------------------------
def _foreign_keys(raw) -> dict[str, list[tuple[str, list[str], list[str]]]]:
    """Every table's foreign keys: {child: [(parent, child columns, parent columns)]}."""
    found: dict[str, list[tuple[str, list[str], list[str]]]] = {}
    names = [n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for child in names:
        keys: dict[int, tuple[str, list[str], list[str]]] = {}
        for fk_id, _seq, parent, column, parent_column, *_ in raw.execute(
            f'PRAGMA foreign_key_list("{child}")'
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


def _check_foreign_keys(raw, frames: dict[str, pl.DataFrame]) -> None:
    """Set-wise foreign-key check of the whole database, as `PRAGMA foreign_key_check`."""
    counts: dict[tuple[str, str], int] = {}
    for child, keys in _foreign_keys(raw).items():
        by_sql = child not in frames
        for parent, columns, parent_columns in keys:
            if by_sql or parent not in frames or None in parent_columns:
                by_sql = True
                continue
            missing = _dangling_in_frames(frames[child], frames[parent], columns, parent_columns)
            if missing is None:
                by_sql = True
            elif missing:
                counts[(child, parent)] = counts.get((child, parent), 0) + missing
        if by_sql:
            counts = {k: v for k, v in counts.items() if k[0] != child}  # SQLite recounts
            for table, _rowid, parent, _fk in raw.execute(f'PRAGMA foreign_key_check("{child}")'):
                counts[(table, parent)] = counts.get((table, parent), 0) + 1
    if not counts:
        return
    detail = "; ".join(f"{n} row(s) of {t} point at no {p} row" for (t, p), n in counts.items())
    raise InvalidSourceData(
        f"Warehouse load rolled back, foreign key check failed: {detail}. The previous tables "
        "are intact. Re-run the gold stage (its gate checks these keys) and load again."
    )
