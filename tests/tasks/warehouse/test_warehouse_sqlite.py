"""The SQLite bulk load: row order kept by the batched inserts, foreign keys checked the way
`PRAGMA foreign_key_check` checks them, whether both sides were loaded or only one."""

from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import text

from blocks.errors import InvalidSourceData
from blocks.settings import load_settings
from tasks.warehouse.connection import connect_warehouse, table_checksum
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import METADATA, migrate
from tasks.warehouse.sqlite_load import ROWS_PER_INSERT
from tests.tasks.warehouse.gold_frames import gold_frames
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
    count = 3 * ROWS_PER_INSERT + 5  # full batches and a remainder
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
