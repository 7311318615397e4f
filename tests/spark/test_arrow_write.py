"""Gold tables written through Arrow + pyarrow are the files Spark's own writer makes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from polars.testing import assert_frame_equal

from spark.arrow_write import PART, SPARK_ROW_METADATA, local_path, write_table_arrow
from spark.gold_job import build_gold, write_table
from spark.silver import Silver
from validation.catalog import GOLD_STAGING as STAGING
from validation.catalog import GOLD_WRITE_ORDER as WRITE_ORDER
from validation.gold_reader import read_gold_table


def test_local_path_takes_file_urls_and_plain_paths_only():
    assert local_path("file:///tmp/lake/gold") == Path("/tmp/lake/gold")
    assert local_path("file:///tmp/a%20b") == Path("/tmp/a b")
    assert local_path("/tmp/lake/gold") == Path("/tmp/lake/gold")
    assert local_path("s3a://bucket/gold") is None
    assert local_path("hdfs://nn:8020/gold") is None


def test_every_table_equals_what_spark_writer_makes(spark, silver_dir, tmp_path):
    """Same rows, same order, same Parquet types and nullability as `write_table`."""
    tables = build_gold(Silver(spark, str(silver_dir)))
    for name, frame in tables.items():
        by_spark = Path(write_table(spark, frame, str(tmp_path / "spark"), name))
        by_arrow, rows = write_table_arrow(
            frame, tmp_path / "arrow", name, WRITE_ORDER[name], STAGING
        )
        assert sorted(p.name for p in by_arrow.iterdir()) == [PART], name
        expected = read_gold_table(str(by_spark))
        assert_frame_equal(read_gold_table(str(by_arrow)), expected, check_exact=True)
        assert rows == expected.height, name
        spark_file = next(by_spark.glob("*.parquet"))
        arrow_schema = pq.read_schema(by_arrow / PART)
        assert arrow_schema.remove_metadata() == pq.read_schema(spark_file).remove_metadata()
        assert arrow_schema.metadata[SPARK_ROW_METADATA] == frame.schema.json().encode()


def test_nulls_sort_last_as_in_spark(spark, tmp_path):
    frame = spark.createDataFrame(
        [("SP", 1), (None, 2), ("AC", 3), ("RJ", 4)], "customer_state string, n int"
    )
    written, _ = write_table_arrow(frame, tmp_path, "t", ("customer_state",), STAGING)
    states = pl.read_parquet(written / PART)["customer_state"].to_list()
    assert states == ["AC", "RJ", "SP", None]


def test_rewriting_replaces_the_table_whole_and_leaves_no_staging(spark, silver_dir, tmp_path):
    sellers = spark.read.parquet(str(silver_dir / "sellers")).select("seller_id")
    write_table_arrow(sellers, tmp_path, "dim_seller", ("seller_id",), STAGING)
    written, rows = write_table_arrow(
        sellers.limit(1), tmp_path, "dim_seller", ("seller_id",), STAGING
    )
    assert rows == 1 and pl.read_parquet(written / PART).height == 1
    assert sorted(p.name for p in (tmp_path / STAGING).iterdir()) == []  # no .previous left
