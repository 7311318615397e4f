"""How the gold job plans its work: silver schemas without Spark jobs, shuffle partitions sized
to the input, one pre-joined fact behind the sales marts for small inputs, every cache released
(tables unchanged: test_gold_pinned; the same with and without the pre-join: here)."""

from __future__ import annotations

import pytest

from spark import aggregates as agg
from spark.dimensions import dim_customer, dim_date, dim_product
from spark.facts import fact_sales
from spark.gold_job import (
    GOLD_TABLES,
    PRE_JOIN_MAX_ROWS,
    SHUFFLE_KEY,
    build_gold,
    explicit_shuffle,
    release,
    shuffle_partitions,
    size_shuffle,
)
from spark.session import warm_up
from spark.silver import Silver
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


def test_explicit_shuffle_partitions_win(spark, silver_dir):
    silver = Silver(spark, str(silver_dir))
    # The session may be another test's (started without settings): pass them as
    # spark-submit --conf would have set them, then let the rows decide again.
    try:
        assert size_shuffle(spark, silver, explicit="3") == 3
        assert spark.conf.get(SHUFFLE_KEY) == "3"
        if explicit_shuffle(spark) is None:
            assert size_shuffle(spark, silver) == 2  # the fixture is small: both cores
    finally:
        spark.conf.set(SHUFFLE_KEY, explicit_shuffle(spark) or "2")


@pytest.mark.parametrize("pre_join", [True, False])
def test_release_drops_every_cache_behind_the_tables(spark, silver_dir, pre_join):
    tables = build_gold(Silver(spark, str(silver_dir)), pre_join=pre_join)
    assert tables.cached and all(frame.is_cached for frame in tables.cached)
    release(tables)
    assert not any(frame.is_cached for frame in [*tables.values(), *tables.cached])


def test_sales_marts_read_the_pre_joined_fact_when_silver_is_small(spark, silver_dir):
    silver = Silver(spark, str(silver_dir))
    wide = agg.sales_wide(
        fact_sales(silver), dim_customer(silver), dim_date(silver), dim_product(silver)
    )
    assert wide.count() == fact_sales(silver).count()  # left joins on unique keys: no fan-out
    assert silver.rows("sales_consolidated") <= PRE_JOIN_MAX_ROWS  # the default pre-joins
    tables = build_gold(silver)
    plan = tables["sales_by_state"]._jdf.queryExecution().optimizedPlan().toString()
    # Parents print before their children: no join above the cached relation (the cached
    # plan, joins included, prints inside it).
    above_cache, cached, _ = plan.partition("InMemoryRelation")
    assert cached and "Join" not in above_cache, plan
    release(tables)


@pytest.mark.parametrize("which", ["silver_dir", "synthetic_silver_dir"])
def test_pre_joined_or_not_the_tables_are_the_same(spark, request, which):
    silver = Silver(spark, str(request.getfixturevalue(which)))
    joined, plain = build_gold(silver, pre_join=True), build_gold(silver, pre_join=False)
    try:
        for name in GOLD_TABLES:
            rows = [sorted(map(repr, frame.collect())) for frame in (joined[name], plain[name])]
            assert rows[0] == rows[1], name
    finally:
        release(joined)
        release(plain)


def test_warm_up_runs_a_query_and_changes_no_setting(spark):
    before, jobs = dict(spark.sparkContext.getConf().getAll()), _jobs(spark)
    shuffle = spark.conf.get(SHUFFLE_KEY)
    warm_up(spark)
    assert _jobs(spark) > jobs  # it ran Spark work
    assert dict(spark.sparkContext.getConf().getAll()) == before
    assert spark.conf.get(SHUFFLE_KEY) == shuffle
