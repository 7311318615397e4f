"""The gold gate: schemas and reconciliation catch a wrong gold, and list every problem.

Runs on the hand-computed gold of tests/spark/gold_fixture.py (no Spark needed): it must
pass as it is, and fail for each way it can be tampered with.
"""

from __future__ import annotations

import polars as pl
import pytest

from blocks.errors import QualityGateFailed
from tests.spark.gold_fixture import expected_gold, silver_frames
from validation.catalog import GOLD_TABLES
from validation.gold import gold_gate
from validation.gold_reconcile import reconcile_gold
from validation.gold_schemas import schema_problems


def _problems(**changes) -> list[str]:
    gold = expected_gold() | changes
    return [p for name in GOLD_TABLES for p in schema_problems(name, gold[name])] + reconcile_gold(
        silver_frames(), gold
    )


def _fact() -> pl.DataFrame:
    return expected_gold()["fact_sales"]


def test_the_hand_computed_gold_passes_with_and_without_ipca_and_weather():
    assert gold_gate(silver_frames(), expected_gold())["fact_sales"] == 9
    assert reconcile_gold(silver_frames(optional=False), expected_gold(optional=False)) == []


def test_a_tampered_price_breaks_the_price_reconciliation():
    fact = _fact().with_columns(
        pl.when(pl.col("order_id") == "o3").then(36.5).otherwise(pl.col("price")).alias("price")
    )
    problems = _problems(fact_sales=fact)
    assert problems == [
        "Σ fact_sales.price vs Σ silver order_items.price: gold R$ 596.50 != expected R$ 595.50",
        "Σ sales_monthly.price_total vs Σ fact_sales.price: gold R$ 595.50 != expected R$ 596.50",
    ]


def test_a_payment_lost_from_the_fact_breaks_the_payment_reconciliation():
    fact = _fact().with_columns(
        pl.when(pl.col("order_id") == "o8").then(0.0).otherwise("allocated_payment")
        .alias("allocated_payment")
    )  # fmt: skip
    problems = _problems(fact_sales=fact)
    assert any(
        p.startswith("Σ fact_sales.allocated_payment vs Σ silver payments of orders with items")
        and "R$ 610.01 != expected R$ 655.01" in p
        for p in problems
    )
    assert any(p.startswith("Σ sales_monthly.revenue vs") for p in problems)


def test_an_item_with_another_score_than_its_order_is_caught():
    reviewed = _fact().filter(pl.col("review_score").is_not_null())["order_id"][0]
    fact = _fact().with_columns(
        pl.when(pl.col("order_id") == reviewed).then(pl.col("review_score") % 5 + 1)
        .otherwise("review_score").alias("review_score")
    )  # fmt: skip
    assert any(
        p.startswith("Σ fact_sales.review_score vs Σ fact_orders.review_score × items")
        for p in _problems(fact_sales=fact)
    )
    unscored = _fact().with_columns(
        pl.when(pl.col("order_id") == reviewed).then(None).otherwise("review_score")
        .alias("review_score")
    )  # fmt: skip
    assert any(
        p.startswith("fact_sales items with a review score vs items of fact_orders with one")
        for p in _problems(fact_sales=unscored)
    )


def test_a_duplicated_item_is_caught_by_schema_and_reconciliation():
    problems = _problems(fact_sales=pl.concat([_fact(), _fact().head(1)]))
    assert any(
        "fact_sales has 2 rows with a duplicate (order_id, order_item_id)" in p for p in problems
    )
    assert any(p.startswith("fact_sales: check multiple_fields_uniqueness") for p in problems)
    assert any(p.startswith("fact_sales rows vs silver order_items rows") for p in problems)


def test_an_order_missing_from_the_fact_is_caught():
    problems = _problems(fact_sales=_fact().filter(pl.col("order_id") != "o4"))
    assert (
        "distinct orders in fact_sales vs silver orders with items: gold 6 != expected 7"
        in problems
    )


def test_monthly_revenue_must_sum_to_the_total():
    monthly = expected_gold()["sales_monthly"].with_columns(pl.col("revenue") + 0.01)
    problems = _problems(sales_monthly=monthly)
    assert problems == [
        "Σ sales_monthly.revenue vs Σ fact_sales.allocated_payment: "
        "gold R$ 655.04 != expected R$ 655.01"
    ]


def test_status_panels_must_add_up_to_all_orders():
    panels = expected_gold()["order_status_summary"].with_columns(
        pl.when(pl.col("bucket") == "lost").then(1).otherwise("orders").alias("orders")
    )
    problems = _problems(order_status_summary=panels)
    assert problems == [
        "fact_orders lost orders vs order_status_summary: gold 2 != expected 1",
        "order_status_summary: fulfilled + awaiting_release + lost orders vs total: "
        "gold 7 != expected 8",
    ]


def test_fact_orders_keeps_every_order_and_its_payments():
    orders = expected_gold()["fact_orders"]
    without_o5 = orders.filter(pl.col("order_id") != "o5")  # the order that has no items
    problems = _problems(fact_orders=without_o5)
    assert "fact_orders rows vs silver orders: gold 7 != expected 8" in problems
    assert (
        "Σ fact_orders.paid_value vs Σ silver payments of orders: "
        "gold R$ 655.01 != expected R$ 685.01" in problems
    )
    assert "fact_orders lost orders vs order_status_summary: gold 1 != expected 2" in problems


def test_a_fact_key_without_its_dimension_row_is_an_orphan():
    products = expected_gold()["dim_product"].filter(pl.col("product_key") != "p5")
    assert _problems(dim_product=products) == [
        "fact_sales.product_key: 1 row(s) not in dim_product (e.g. ['p5'])"
    ]


def test_schema_failures_name_the_table_check_and_column():
    states = expected_gold()["sales_by_state"].with_columns(pl.lit("XX").alias("customer_state"))
    problems = _problems(sales_by_state=states)
    assert any(
        p.startswith("sales_by_state: check isin(('AC', 'AL'")
        and "failed on customer_state (4 case(s), e.g. ['XX'])" in p
        for p in problems
    )


def test_the_gate_raises_once_listing_every_problem():
    gold = expected_gold()
    gold["fact_sales"] = _fact().filter(pl.col("order_id") != "o4")
    gold["sales_monthly"] = gold["sales_monthly"].with_columns(pl.col("revenue") * 2)
    with pytest.raises(QualityGateFailed) as failure:
        gold_gate(silver_frames(), gold)
    message = str(failure.value)
    assert "nothing was published" in message
    assert "distinct orders in fact_sales" in message and "Σ sales_monthly.revenue" in message


def test_a_missing_table_fails_the_gate():
    gold = expected_gold()
    del gold["delivery_performance"]
    with pytest.raises(QualityGateFailed, match="delivery_performance"):
        gold_gate(silver_frames(), gold)
