"""How the gold job plans its work: silver schemas without Spark jobs, shuffle partitions sized
to the input, every cache released (tables unchanged: test_gold_pinned)."""

from __future__ import annotations

import pytest

from spark.gold_job import SHUFFLE_KEY, build_gold, release, shuffle_partitions, size_shuffle
from spark.session import warm_up
from spark.silver import INPUTS, Silver


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


def test_explicit_shuffle_partitions_win(spark, silver_dir):
    # The test session sets them (conftest TEST_CONF), as spark-submit --conf would.
    assert spark.sparkContext.getConf().get(SHUFFLE_KEY) == "2"
    assert size_shuffle(spark, Silver(spark, str(silver_dir))) == 2
    assert spark.conf.get(SHUFFLE_KEY) == "2"


def test_release_drops_every_cache_behind_the_tables(spark, silver_dir):
    tables = build_gold(Silver(spark, str(silver_dir)))
    assert tables.cached and all(frame.is_cached for frame in tables.cached)
    release(tables)
    assert not any(frame.is_cached for frame in [*tables.values(), *tables.cached])


def test_warm_up_runs_a_query_and_changes_no_setting(spark):
    before, jobs = dict(spark.sparkContext.getConf().getAll()), _jobs(spark)
    shuffle = spark.conf.get(SHUFFLE_KEY)
    warm_up(spark)
    assert _jobs(spark) > jobs  # it ran Spark work
    assert dict(spark.sparkContext.getConf().getAll()) == before
    assert spark.conf.get(SHUFFLE_KEY) == shuffle
