"""How the Spark engine plans its work: silver schemas without Spark jobs, shuffle partitions
sized to the input, the reused tables cached once and released (tables unchanged:
test_gold_pinned, test_parity)."""

from __future__ import annotations

import pytest

from spark.gold_job import build_gold
from spark.session import warm_up
from spark.silver import Silver
from spark.spark_engine import REUSED, SHUFFLE_KEY, SparkEngine, shuffle_partitions
from validation.catalog import GOLD_INPUTS as INPUTS


def _jobs(spark) -> int:
    return len(spark.sparkContext.statusTracker().getJobIdsForGroup(None))


@pytest.mark.parametrize("which", ["silver_dir", "synthetic_silver_dir"])
def test_silver_schemas_are_spark_inferred_ones_read_without_a_job(spark, request, which):
    root = str(request.getfixturevalue(which))
    silver = Silver(spark, root)
    present = [name for name in INPUTS if silver.exists(name)]
    assert {"orders", "sales_consolidated", "customers"} <= set(present)
    before = _jobs(spark)
    frames = {name: silver.table(name) for name in present}
    rows = {name: silver.rows(name) for name in present}
    assert _jobs(spark) == before, "reading silver schemas ran a Spark job"
    for name, frame in frames.items():
        assert frame.schema == spark.read.parquet(silver.url(name)).schema, name
        assert rows[name] == frame.count(), name


def test_shuffle_partitions_follow_the_largest_input():
    assert shuffle_partitions(0) == 2
    assert shuffle_partitions(112_913) == 2  # the real-size Olist set: both cores, no more
    assert shuffle_partitions(1_129_130) == 5  # ten times that
    assert shuffle_partitions(10**12) == 200


def test_shuffle_partitions_are_sized_from_silver_unless_set(spark, silver_dir):
    engine = SparkEngine(spark)
    given = spark.sparkContext.getConf().get(SHUFFLE_KEY, None)
    try:
        partitions = engine.size_shuffle(str(silver_dir))
        assert spark.conf.get(SHUFFLE_KEY) == str(partitions)
        assert partitions == (int(given) if given else 2)  # the fixture is small: both cores
    finally:
        spark.conf.set(SHUFFLE_KEY, given or "2")
        engine.close()


def test_reused_tables_are_cached_once_and_released(spark, silver_dir):
    engine = SparkEngine(spark)
    build_gold(engine, str(silver_dir))
    assert len(engine._cached) == len(REUSED)
    assert all(frame.is_cached for frame in engine._cached)
    plan = spark.table("sales_by_state")._jdf.queryExecution().optimizedPlan().toString()
    assert "InMemoryRelation" in plan  # the mart reads the cached fact, not silver again
    cached, views = list(engine._cached), set(engine._views)
    assert {"orders", "fact_sales", "sales_by_state"} <= views
    engine.close()
    assert not any(frame.is_cached for frame in cached)
    assert not any(spark.catalog.tableExists(view) for view in views)  # views dropped


def test_warm_up_runs_a_query_and_changes_no_setting(spark):
    before, jobs = dict(spark.sparkContext.getConf().getAll()), _jobs(spark)
    shuffle = spark.conf.get(SHUFFLE_KEY)
    warm_up(spark)
    assert _jobs(spark) > jobs  # it ran Spark work
    assert dict(spark.sparkContext.getConf().getAll()) == before
    assert spark.conf.get(SHUFFLE_KEY) == shuffle
