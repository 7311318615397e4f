"""The SQLite bulk load: row order kept by the batched inserts, foreign keys checked the way
`PRAGMA foreign_key_check` checks them, whether both sides were loaded or only one."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import text

from blocks.errors import InvalidSourceData
from blocks.settings import load_settings
from tasks.warehouse.connection import connect_warehouse
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import METADATA, migrate
from tests.tasks.warehouse.gold_frames import gold_frames
from tests.tasks.warehouse.table_checks import table_checksum
from validation.catalog import GOLD_TABLES


@pytest.fixture
def sqlite(tmp_path):
    wh = connect_warehouse(load_settings(home=str(tmp_path)))
    migrate(wh)
    yield wh
    wh.dispose()


def _checksums(wh) -> dict:
    return {t: table_checksum(wh, METADATA.tables[f"dw.{t}"]) for t in GOLD_TABLES}


def _sellers(count: int) -> pl.DataFrame:
    keys = [f"s{(i * 7919) % count:05d}" for i in range(count)]  # not in key order
    return pl.DataFrame(
        {
            "seller_key": keys,
            "seller_zip_code_prefix": ["1"] * count,
            "seller_state": ["SP"] * count,
        }
    )


def test_batched_inserts_keep_every_row_in_frame_order(sqlite):
    frames = gold_frames()
    count = 3 * 64 + 5  # several thousand bytes of keys, not in key order
    sellers = pl.concat([frames["dim_seller"], _sellers(count)])
    frames["dim_seller"] = sellers
    load_tables(sqlite, METADATA, frames)
    with sqlite.engine.connect() as conn:
        stored = conn.execute(text("SELECT seller_key FROM dim_seller ORDER BY rowid")).all()
    assert [k for (k,) in stored] == sellers["seller_key"].to_list()


def test_dangling_keys_are_counted_per_row_and_null_keys_are_not(sqlite):
    frames = gold_frames()
    fact = frames["fact_sales"]
    frames["fact_sales"] = fact.with_columns(
        pl.Series("product_key", ["ghost", "ghost", None][: fact.height])
    )
    with pytest.raises(InvalidSourceData) as caught:
        load_tables(sqlite, METADATA, frames)
    assert "2 row(s) of fact_sales point at no dim_product row" in str(caught.value)
    assert "dim_customer" not in str(caught.value)


def test_integer_keys_of_other_widths_still_match(sqlite):
    frames = gold_frames()
    frames["fact_sales"] = frames["fact_sales"].with_columns(pl.col("date_key").cast(pl.Int64))
    assert load_tables(sqlite, METADATA, frames)["fact_sales"] == frames["fact_sales"].height


def test_reloading_a_dimension_alone_that_orphans_the_fact_rolls_back(sqlite):
    load_tables(sqlite, METADATA, gold_frames())
    before = _checksums(sqlite)
    products = gold_frames()["dim_product"].filter(pl.col("product_key") != "p1")
    with pytest.raises(InvalidSourceData, match="of fact_sales point at no dim_product"):
        load_tables(sqlite, METADATA, {"dim_product": products})
    assert _checksums(sqlite) == before


def test_loading_a_fact_alone_is_checked_against_the_stored_dimensions(sqlite):
    load_tables(sqlite, METADATA, gold_frames())
    before = _checksums(sqlite)
    fact = gold_frames()["fact_sales"].with_columns(pl.lit("nobody").alias("customer_key"))
    with pytest.raises(InvalidSourceData, match="of fact_sales point at no dim_customer"):
        load_tables(sqlite, METADATA, {"fact_sales": fact})
    assert _checksums(sqlite) == before
    assert load_tables(sqlite, METADATA, {"fact_sales": gold_frames()["fact_sales"]})


def _stored(path, table: str) -> list[tuple]:
    """Every row as SQLite stores it: rowid, then each value with its storage class."""
    import sqlite3

    with sqlite3.connect(path) as conn:
        columns = [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]
        values = ", ".join(f'"{c}", typeof("{c}")' for c in columns)
        return conn.execute(f'SELECT rowid, {values} FROM "{table}" ORDER BY rowid').fetchall()


def _edge_cases(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Values whose storage could differ between drivers: awkward doubles, widest ints,
    empty and non-ASCII text, quotes, nulls, sub-second timestamps."""
    from datetime import datetime

    fact = frames["fact_sales"]
    doubles = [0.1 + 0.2, -0.0, 1e-300, 2.675, 1.7976931348623157e308, None]
    extra = pl.concat([fact.head(1)] * len(doubles)).with_columns(
        pl.Series("order_id", [f"edge-{i}" for i in range(len(doubles))]),
        pl.Series("price", doubles, dtype=pl.Float64),
        pl.Series("delivery_days", [2**31 - 1, -(2**31), 0, None, 7, 1], dtype=pl.Int32),
        pl.Series("order_status", ["", "ação", "it's", 'a "b"', None, "\x00nul"]),
        pl.Series("is_late", [True, False, None, True, False, None]),
        pl.Series(
            "order_approved_at",
            [
                datetime(2017, 1, 5, 10, 0, 0, 123456),
                None,
                datetime(1970, 1, 1),
                datetime(999, 12, 31, 23, 59, 59, 999999),
                datetime(1969, 12, 31, 23, 59, 59, 5),
                datetime(9999, 12, 31, 23, 59, 59, 999999),
            ],
            dtype=pl.Datetime("us"),
        ),
    )
    return {**frames, "fact_sales": pl.concat([fact, extra])}


def _as_sqlalchemy_binds(table, frame: pl.DataFrame) -> list[tuple]:
    """`frame`'s rows as SQLAlchemy's SQLite dialect binds them (its DATETIME and DATE text,
    booleans as integers): the reference the bulk path must store."""
    from sqlalchemy.dialects import sqlite as sqlite_dialect

    dialect = sqlite_dialect.dialect()
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns]
    return [
        tuple(v if p is None or v is None else p(v) for p, v in zip(processors, row, strict=True))
        for row in frame.select([c.name for c in table.columns]).iter_rows()
    ]


def test_the_bulk_path_stores_what_one_insert_per_row_stores(tmp_path):
    """Same rowids, values and storage classes as Python's sqlite3 inserting row by row what
    SQLAlchemy binds (the load before the bulk path), so every table_checksum is unchanged."""
    import sqlite3

    frames = _edge_cases(gold_frames())
    bulk = connect_warehouse(load_settings(home=str(tmp_path / "bulk")))
    row_wise = connect_warehouse(load_settings(home=str(tmp_path / "rows")))
    try:
        for wh in (bulk, row_wise):
            migrate(wh)
        load_tables(bulk, METADATA, frames)
        row_wise.dispose()
        with sqlite3.connect(tmp_path / "rows" / "warehouse.db") as conn:
            for table in METADATA.sorted_tables:
                if table.name not in frames:
                    continue
                marks = ", ".join("?" for _ in table.columns)
                columns = ", ".join(f'"{c.name}"' for c in table.columns)
                conn.executemany(
                    f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',
                    _as_sqlalchemy_binds(table, frames[table.name]),
                )
        for table in GOLD_TABLES:
            expected = _stored(tmp_path / "rows" / "warehouse.db", table)
            assert _stored(tmp_path / "bulk" / "warehouse.db", table) == expected, table
        assert _checksums(bulk) == _checksums(row_wise)
    finally:
        bulk.dispose()
        row_wise.dispose()


def test_timestamps_arrow_cannot_cast_are_formatted_as_before():
    """Timestamps with a zone or another unit keep polars' text: the wall time in their zone,
    microseconds always (what the load stored before Arrow cast the common ones)."""
    from datetime import datetime

    from tasks.warehouse.sqlite_load import sqlite_ready

    moment = datetime(2018, 4, 27, 20, 49, 27, 123456)
    frame = pl.DataFrame(
        {
            "us": pl.Series([moment, None], dtype=pl.Datetime("us")),
            "ms": pl.Series([moment, None], dtype=pl.Datetime("ms")),
            "zoned": pl.Series([moment, None], dtype=pl.Datetime("us")).dt.replace_time_zone(
                "America/Sao_Paulo"
            ),
            "flag": [True, None],
        }
    )
    ready = sqlite_ready(frame).to_pydict()
    assert ready["us"] == ["2018-04-27 20:49:27.123456", None]
    assert ready["ms"] == ["2018-04-27 20:49:27.123000", None]
    assert ready["zoned"] == ["2018-04-27 20:49:27.123456", None]
    assert ready["flag"] == [1, None]
