"""Every gold table, built on each engine from the hand-built silver, equals its hand-computed
value; a missing dataset degrades or stops as documented."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from spark.engine import DuckDBEngine, choose_engine, to_duckdb
from spark.errors import MissingSilverDataset
from spark.gold_job import run_gold
from spark.labels import CATEGORY_LABELS, NO_CATEGORY, category_label, fallback_label
from spark.models import MODELS
from spark.session import S3A_SECRET_KEYS, S3AOptions, redaction_covers, s3a_available
from spark.sql_parts import UFS
from tasks.sources.olist.synthetic_text import CATEGORIES
from tests.spark.conftest import ENGINES
from tests.spark.gold_fixture import OPTIONAL, expected_gold
from tests.spark.gold_reader import read_gold_table
from validation import gold as gold_validation
from validation.catalog import GOLD_TABLES
from validation.schemas import UFS as SILVER_UFS


def _table(gold_dir, name: str) -> pl.DataFrame:
    return read_gold_table(str(gold_dir[0] / name))


def _engine(request, name: str):
    if name == "duckdb":
        return DuckDBEngine()
    from spark.spark_engine import SparkEngine

    return SparkEngine(request.getfixturevalue("spark"))


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


def test_rerunning_the_job_swaps_each_table_whole(silver_dir, tmp_path):
    gold = tmp_path / "gold"
    for _ in range(2):
        engine = DuckDBEngine()
        rows = run_gold(engine, str(silver_dir), str(gold))
        engine.close()
    assert sorted(os.listdir(gold)) == sorted(GOLD_TABLES)  # no staging, no .previous
    for name in GOLD_TABLES:
        assert read_gold_table(str(gold / name)).height == rows[name]  # replaced, not appended


@pytest.mark.parametrize("engine", ENGINES)
def test_missing_ipca_and_weather_leave_nulls_and_nominal_revenue(
    request, engine, silver_dir, tmp_path, caplog
):
    partial = tmp_path / "silver"
    partial.mkdir()
    for dataset in silver_dir.iterdir():
        if dataset.name not in OPTIONAL:
            (partial / dataset.name).symlink_to(dataset, target_is_directory=True)
    expected = expected_gold(optional=False)
    job = _engine(request, engine)
    with caplog.at_level(logging.WARNING, logger="spark.gold_job"):
        run_gold(job, str(partial), str(tmp_path / "gold"))
    job.close()
    for name in ("dim_date", "sales_monthly", "sales_weather_daily"):
        actual = read_gold_table(str(tmp_path / "gold" / name))
        assert_frame_equal(actual, expected[name], check_exact=True)
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "'ipca_monthly' is missing" in warned and "'weather_daily' is missing" in warned
    assert "No IPCA in silver" in warned and "No weather in silver" in warned


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_required_dataset_names_its_path(request, engine, tmp_path):
    job = _engine(request, engine)
    with pytest.raises(MissingSilverDataset, match=r"'orders' is missing at .*flows.silver"):
        run_gold(job, str(tmp_path / "empty"), str(tmp_path / "gold"))
    job.close()
    assert not (tmp_path / "gold").exists()  # nothing written


def test_auto_chooses_spark_only_with_a_master():
    assert choose_engine(None, None) == "duckdb"
    assert choose_engine("auto", None) == "duckdb"
    assert choose_engine("auto", "spark://h:7077") == "spark"
    assert choose_engine("duckdb", "spark://h:7077") == "duckdb"
    assert choose_engine("SPARK", None) == "spark"
    with pytest.raises(ValueError, match="Unknown gold engine 'polars'"):
        choose_engine("polars", None)


def test_the_models_translate_with_strict_casts_and_explicit_null_order():
    """Spark 4 raises on a CAST that cannot convert: DuckDB must get CAST, not TRY_CAST."""
    for name, model in MODELS.items():
        translated = to_duckdb(model())
        assert "TRY_CAST" not in translated, name
    assert "NULLS FIRST" in to_duckdb(MODELS["sales_by_category"]())  # not DuckDB's default


def test_the_warm_up_leaves_duckdb_loaded_and_every_model_translated():
    """`prepare_duckdb` (run while silver runs) does the gold job's first imports and
    translations: afterwards the job's own translations are all found. In a fresh process,
    where nothing else translated them first."""
    probe = (
        "import sys\n"
        "from spark.engine import to_duckdb\n"
        "from spark.gold_job import prepare_duckdb\n"
        "from spark.models import DISTINCT_CATEGORIES, MODELS\n"
        "from validation.catalog import GOLD_BUILD_ORDER\n"
        "assert 'duckdb' not in sys.modules\n"
        "prepare_duckdb()\n"
        "assert 'duckdb' in sys.modules\n"
        "before = to_duckdb.cache_info()\n"
        "to_duckdb(DISTINCT_CATEGORIES)\n"
        "for name in GOLD_BUILD_ORDER:\n"
        "    to_duckdb(MODELS[name]())\n"
        "after = to_duckdb.cache_info()\n"
        "assert after.misses == before.misses, (before, after)\n"
        "assert after.hits == before.hits + len(GOLD_BUILD_ORDER) + 1\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


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


def test_the_duckdb_engine_never_loads_pyspark(silver_dir, tmp_path):
    """The embedded default needs no JVM and no pyspark: the job runs without importing it."""
    code = (
        "import sys; from spark.gold_job import main; "
        f"assert main(['--silver', {str(silver_dir)!r}, '--gold', {str(tmp_path / 'g')!r}]) == 0; "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('pyspark', 'py4j')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    assert sorted(os.listdir(tmp_path / "g")) == sorted(GOLD_TABLES)
