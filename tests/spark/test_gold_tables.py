"""Every gold table, built by Spark from the hand-built silver, equals its hand-computed value."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spark import aggregates
from spark.dimensions import UFS, dim_customer, dim_date
from spark.facts import fact_sales
from spark.labels import CATEGORY_LABELS, NO_CATEGORY, category_label, fallback_label
from spark.session import S3A_SECRET_KEYS, S3AOptions, redaction_covers, s3a_available
from spark.silver import MissingSilverDataset, Silver
from tasks.sources.olist.synthetic_text import CATEGORIES
from tests.spark.gold_fixture import OPTIONAL, expected_gold
from validation import gold as gold_validation
from validation.catalog import GOLD_TABLES
from validation.gold_reader import read_gold_table
from validation.schemas import UFS as SILVER_UFS


def _table(gold_dir, name: str) -> pl.DataFrame:
    return read_gold_table(str(gold_dir[0] / name))


@pytest.mark.parametrize("name", GOLD_TABLES)
def test_gold_table_equals_the_hand_computed_one(gold_dir, name):
    assert_frame_equal(_table(gold_dir, name), expected_gold()[name], check_exact=True)
    assert gold_dir[1][name] == expected_gold()[name].height


def test_order_with_three_items_and_two_payments_keeps_its_total(gold_dir):
    o1 = _table(gold_dir, "fact_sales").filter(pl.col("order_id") == "o1")
    assert o1.height == 3  # item grain: no payments x items fan-out (that would be 6 rows)
    assert round(o1["allocated_payment"].sum(), 2) == 200.01  # 150.00 + 50.01


def test_each_table_is_one_part_file_written_in_order(gold_dir):
    for name in GOLD_TABLES:
        parts = sorted((gold_dir[0] / name).glob("*.parquet"))
        assert len(parts) == 1, name
    assert not (gold_dir[0] / "_staging").exists()  # staging cleaned up after the swaps


def test_rewriting_gold_swaps_each_table_whole(spark, silver_dir, gold_dir, tmp_path):
    from spark.gold_job import write_table

    target = tmp_path / "gold"
    frame = spark.read.parquet(str(gold_dir[0] / "dim_seller"))
    write_table(spark, frame, str(target), "dim_seller")
    write_table(spark, frame.limit(1), str(target), "dim_seller")  # replaces, never appends
    assert read_gold_table(str(target / "dim_seller")).height == 1
    assert sorted(os.listdir(target)) == ["dim_seller"]


def test_missing_ipca_and_weather_leave_nulls_and_nominal_revenue(
    spark, silver_dir, tmp_path, caplog
):
    partial = tmp_path / "silver"
    partial.mkdir()
    for dataset in silver_dir.iterdir():
        if dataset.name not in OPTIONAL:
            (partial / dataset.name).symlink_to(dataset, target_is_directory=True)
    silver = Silver(spark, str(partial))
    expected = expected_gold(optional=False)
    with caplog.at_level(logging.WARNING, logger="spark.silver"):
        dates = dim_date(silver)
        fact, customers = fact_sales(silver), dim_customer(silver)
        frames = {
            "dim_date": dates,
            "sales_monthly": aggregates.sales_monthly(fact, dates),
            "sales_weather_daily": aggregates.sales_weather_daily(fact, customers, silver),
        }
        for name, frame in frames.items():
            actual = pl.from_arrow(frame.toArrow()).sort(pl.all().exclude(pl.Float64))
            want = expected[name].sort(pl.all().exclude(pl.Float64))
            assert_frame_equal(actual, want, check_exact=True)
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "'ipca_monthly' is missing" in warned and "'weather_daily' is missing" in warned
    assert silver.missing == ["ipca_monthly", "weather_daily"]


def test_a_missing_required_dataset_names_its_path(spark, tmp_path):
    with pytest.raises(MissingSilverDataset, match=r"'orders' is missing at .*flows.silver"):
        dim_date(Silver(spark, str(tmp_path / "empty")))


def test_every_olist_category_has_a_hand_written_label():
    assert {name for name, _, _ in CATEGORIES} <= set(CATEGORY_LABELS)
    assert category_label("cama_mesa_banho") == "Cama/Mesa/Banho"
    assert category_label("utilidades_domesticas") == "Utilidades Domésticas"
    assert category_label(None) == NO_CATEGORY
    assert fallback_label("artigos_de_pesca") == "Artigos de Pesca"
    assert fallback_label("de_volta_e") == "De Volta E"  # connectors only inside the label


def test_spark_and_validation_agree_on_tables_and_states():
    assert GOLD_TABLES == gold_validation.GOLD_TABLES
    assert UFS == SILVER_UFS


def test_s3a_settings_and_their_redaction(spark):
    options = S3AOptions(endpoint="http://minio:9000", access_key="AKIAX", secret_key="s3cr3t")
    assert "s3cr3t" not in repr(options) and "AKIAX" not in repr(options)
    conf = options.hadoop_conf()
    assert conf["fs.s3a.path.style.access"] == "true"
    assert conf["fs.s3a.connection.ssl.enabled"] == "false"
    assert conf["fs.s3a.encryption.algorithm"] == "SSE-S3"
    assert conf["fs.s3a.aws.credentials.provider"].endswith("SimpleAWSCredentialsProvider")
    assert "fs.s3a.access.key" not in S3AOptions(endpoint="http://x").hadoop_conf()
    # Spark's own redaction (UI environment page, event log) hides every credential key.
    assert redaction_covers(spark, S3A_SECRET_KEYS) == dict.fromkeys(S3A_SECRET_KEYS, True)
    assert redaction_covers(spark, ("fs.s3a.endpoint",)) == {"fs.s3a.endpoint": False}
    assert s3a_available(spark) is False  # no hadoop-aws jar in this install


def test_the_spark_package_never_imports_prefect():
    code = (
        "import sys, spark.gold_job; "
        "assert not [m for m in sys.modules if m.split('.')[0] == 'prefect'], 'prefect imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
