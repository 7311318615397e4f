"""Writing a gold table: the catalog's declared schema on every file, whichever engine, one
part file swapped in whole, and a table that does not fit its declaration stops clearly."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from spark.engine import DuckDBEngine
from spark.gold_job import run_gold
from spark.gold_write import (
    PART,
    GoldWriteError,
    conform,
    declared_schema,
    local_path,
    sort_rows,
    write_part,
)
from validation.catalog import GOLD_COLUMNS, GOLD_STAGING, GOLD_TABLES


def _sellers(rows: list[tuple]) -> pa.Table:
    names = ["seller_key", "seller_zip_code_prefix", "seller_state"]
    return pa.table({n: [r[i] for r in rows] for i, n in enumerate(names)})


def test_local_path_takes_file_urls_and_plain_paths_only():
    assert local_path("file:///tmp/lake/gold") == Path("/tmp/lake/gold")
    assert local_path("file:///tmp/a%20b") == Path("/tmp/a b")
    assert local_path("/tmp/lake/gold") == Path("/tmp/lake/gold")
    assert local_path("s3a://bucket/gold") is None
    assert local_path("hdfs://nn:8020/gold") is None


def test_every_file_carries_the_declared_types_and_nullability(gold_dir):
    assert tuple(GOLD_COLUMNS) == GOLD_TABLES
    for name in GOLD_TABLES:
        written = pq.read_schema(gold_dir[0] / name / PART).remove_metadata()
        assert written == declared_schema(name), name
    keys = declared_schema("fact_sales")
    assert not keys.field("order_id").nullable and keys.field("review_score").nullable


def test_spark_rows_are_sorted_by_the_write_order_nulls_last():
    states = pa.table({"customer_state": ["SP", None, "AC", "RJ"],
                       "customer_ids": [1, 2, 3, 4], "customers": [1, 2, 3, 4],
                       "buying_customers": [1, 2, 3, 4]})  # fmt: skip
    assert sort_rows("customers_by_state", states)["customer_state"].to_pylist() == [
        "AC", "RJ", "SP", None
    ]  # fmt: skip


def test_a_null_in_a_non_nullable_column_is_named():
    with pytest.raises(GoldWriteError, match=r"dim_seller, column seller_key: 1 null value"):
        conform("dim_seller", _sellers([("s1", "010", "SP"), (None, "020", "RJ")]))


def test_a_value_that_does_not_fit_its_type_is_named():
    months = pa.table({"month": [date(2017, 1, 1)], "orders": [1], "items": [1],
                       "price_total": [1.0], "freight_total": [1.0], "revenue": [1.0],
                       "ipca_pct_change": [None], "ipca_index": [None],
                       "reference_month": [None], "revenue_deflated": [1.0]})  # fmt: skip
    conform("sales_monthly", months)  # fits
    wide = months.set_column(1, "orders", pa.array([1.5]))
    with pytest.raises(GoldWriteError, match="sales_monthly, column orders: double"):
        conform("sales_monthly", wide)


def test_a_missing_or_extra_column_is_named():
    table = _sellers([("s1", "010", "SP")]).append_column("seller_city", pa.array(["x"]))
    with pytest.raises(GoldWriteError, match=r"extra \['seller_city'\]"):
        conform("dim_seller", table)


def test_rewriting_replaces_the_table_whole_and_leaves_no_staging(tmp_path):
    two = conform("dim_seller", _sellers([("s1", "010", "SP"), ("s2", "020", "RJ")]))
    write_part(two, tmp_path, "dim_seller", GOLD_STAGING)
    one = conform("dim_seller", _sellers([("s9", "090", None)]))
    written = write_part(one, tmp_path, "dim_seller", GOLD_STAGING)
    assert sorted(p.name for p in written.iterdir()) == [PART]
    assert pq.read_table(written / PART)["seller_key"].to_pylist() == ["s9"]
    assert not list((tmp_path / GOLD_STAGING).iterdir())  # staged copies renamed away


def test_an_unwritable_gold_root_is_named(tmp_path):
    not_a_directory = tmp_path / "gold"
    not_a_directory.write_text("a file where the gold root should be")
    with pytest.raises(GoldWriteError, match="Could not write gold table dim_seller"):
        write_part(conform("dim_seller", _sellers([])), not_a_directory, "dim_seller", "_st")


class _TimedDuckDB(DuckDBEngine):
    """The DuckDB engine, noting when each table was built and when each write began; a
    write of `failing` raises as a table that does not fit its declaration would."""

    def __init__(self, failing: str | None = None) -> None:
        super().__init__()
        self.failing, self.events = failing, []

    def materialize(self, table: str, sql: str) -> None:
        super().materialize(table, sql)
        self.events.append(("built", table, time.monotonic()))

    def to_arrow(self, table: str) -> pa.Table:
        self.events.append(("write", table, time.monotonic()))
        if table == self.failing:
            raise GoldWriteError(f"Gold table {table}, column x: a planted failure.")
        return super().to_arrow(table)


def test_duckdb_writes_each_table_while_the_next_ones_are_built(silver_dir, tmp_path):
    engine = _TimedDuckDB()
    try:
        rows = run_gold(engine, str(silver_dir), str(tmp_path / "gold"))
    finally:
        engine.close()
    assert list(rows) == list(GOLD_TABLES)
    for name in GOLD_TABLES:  # every table written, whole
        assert pq.read_metadata(tmp_path / "gold" / name / PART).num_rows == rows[name]
    when = {(kind, table): at for kind, table, at in engine.events}
    last_built = when[("built", GOLD_TABLES[-1])]
    assert when[("write", GOLD_TABLES[0])] < last_built  # before: every write came after
    assert all(when[("write", t)] >= when[("built", t)] for t in GOLD_TABLES)


def test_a_failed_write_stops_the_build_and_is_raised(silver_dir, tmp_path):
    engine = _TimedDuckDB(failing=GOLD_TABLES[0])
    try:
        with pytest.raises(GoldWriteError, match="planted failure"):
            run_gold(engine, str(silver_dir), str(tmp_path / "gold"))
    finally:
        engine.close()
    built = [table for kind, table, _ in engine.events if kind == "built"]
    assert len(built) < len(GOLD_TABLES)  # it stopped: the failure did not wait for the end
