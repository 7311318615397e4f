"""Reconciliation of gold with silver and with itself, money compared in integer cents.

Every check appends a readable line to the problems it returns; `reconcile_gold` returns []
when gold agrees with silver.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from validation.catalog import GOLD_STAR, ORDER_BUCKETS
from validation.money import cents, cents_total
from validation.unique import distinct_by_hash


def _brl(amount: int) -> str:
    return f"R$ {amount / 100:,.2f}"


def _equal(problems: list[str], what: str, gold: int, silver: int, money: bool = True) -> None:
    if gold != silver:
        shown = (_brl(gold), _brl(silver)) if money else (f"{gold:,}", f"{silver:,}")
        problems.append(f"{what}: gold {shown[0]} != expected {shown[1]}")


def _fact_problems(
    silver: Mapping[str, pl.DataFrame], fact: pl.DataFrame, fact_orders_count: int
) -> list[str]:
    items, payments = silver["order_items"], silver["payments"]
    with_items = items.select("order_id").unique()
    problems: list[str] = []
    _equal(
        problems,
        "Σ fact_sales.price vs Σ silver order_items.price",
        cents_total(fact, "price"),
        cents_total(items, "price"),
    )
    _equal(
        problems,
        "Σ fact_sales.freight_value vs Σ silver order_items.freight_value",
        cents_total(fact, "freight_value"),
        cents_total(items, "freight_value"),
    )
    _equal(
        problems,
        "Σ fact_sales.allocated_payment vs Σ silver payments of orders with items",
        cents_total(fact, "allocated_payment"),
        cents_total(payments.join(with_items, on="order_id", how="semi"), "payment_value"),
    )
    _equal(
        problems,
        "distinct orders in fact_sales vs silver orders with items",
        fact_orders_count,
        with_items.height,
        money=False,
    )
    _equal(
        problems,
        "fact_sales rows vs silver order_items rows",
        fact.height,
        items.height,
        money=False,
    )
    key = ["order_id", "order_item_id"]
    duplicates = 0 if distinct_by_hash(fact, key) else fact.select(key).is_duplicated().sum()
    if duplicates:
        problems.append(
            f"fact_sales has {duplicates} rows with a duplicate (order_id, order_item_id)"
        )
    return problems


def _star_problems(gold: Mapping[str, pl.DataFrame]) -> list[str]:
    """Every fact key has its dimension row (no orphan keys in the star)."""
    problems = []
    for fact, key, dimension in GOLD_STAR:
        orphans = gold[fact].join(gold[dimension].select(key), on=key, how="anti")
        if orphans.height:
            examples = orphans[key].unique().sort().head(3).to_list()
            problems.append(
                f"{fact}.{key}: {orphans.height} row(s) not in {dimension} (e.g. {examples})"
            )
    return problems


def _order_fact_problems(
    silver: Mapping[str, pl.DataFrame],
    gold: Mapping[str, pl.DataFrame],
    fact_orders_count: int,
    paid_cents: int,
) -> list[str]:
    """fact_orders: every silver order once, its payments and items, and the same panels."""
    orders, items = gold["fact_orders"], silver["order_items"]
    problems: list[str] = []
    _equal(
        problems,
        "fact_orders rows vs silver orders",
        orders.height,
        silver["orders"].height,
        money=False,
    )
    _equal(
        problems,
        "Σ fact_orders.paid_value vs Σ silver payments of orders",
        cents_total(orders, "paid_value"),
        paid_cents,
    )
    _equal(
        problems,
        "Σ fact_orders.items vs silver order_items rows",
        int(orders["items"].sum()),
        items.height,
        money=False,
    )
    _equal(
        problems,
        "fact_orders with items vs distinct orders in fact_sales",
        orders.filter(pl.col("items") > 0).height,
        fact_orders_count,
        money=False,
    )
    # Each item carries its order's latest review score (silver picks it for fact_sales,
    # gold for fact_orders, by one rule): the items' scores add up to each order's score
    # times its items, and as many items have one.
    reviewed = orders.filter(pl.col("review_score").is_not_null())
    scores = gold["fact_sales"]["review_score"]
    _equal(
        problems,
        "Σ fact_sales.review_score vs Σ fact_orders.review_score × items",
        int(scores.cast(pl.Int64).sum()),
        int(reviewed.select(pl.col("review_score").cast(pl.Int64) * pl.col("items")).sum().item()),
        money=False,
    )
    _equal(
        problems,
        "fact_sales items with a review score vs items of fact_orders with one",
        scores.count(),
        int(reviewed["items"].sum()),
        money=False,
    )
    panels = gold["order_status_summary"].filter(pl.col("bucket") != "total")
    by_bucket = orders.group_by("status_bucket").agg(
        pl.len().alias("n"), cents("paid_value").sum().alias("c")
    )
    for bucket, count, value in panels.select("bucket", "orders", "value").iter_rows():
        row = by_bucket.filter(pl.col("status_bucket") == bucket)
        _equal(
            problems,
            f"fact_orders {bucket} orders vs order_status_summary",
            int(row["n"].sum()),
            count,
            money=False,
        )
        _equal(
            problems,
            f"fact_orders {bucket} value vs order_status_summary",
            int(row["c"].sum()),
            round(value * 100),
        )
    return problems


def _aggregate_problems(gold: Mapping[str, pl.DataFrame], fact_orders_count: int) -> list[str]:
    fact, monthly = gold["fact_sales"], gold["sales_monthly"]
    revenue = cents_total(fact, "allocated_payment")
    problems: list[str] = []
    _equal(
        problems,
        "Σ sales_monthly.revenue vs Σ fact_sales.allocated_payment",
        cents_total(monthly, "revenue"),
        revenue,
    )
    _equal(
        problems,
        "Σ sales_monthly.price_total vs Σ fact_sales.price",
        cents_total(monthly, "price_total"),
        cents_total(fact, "price"),
    )
    _equal(
        problems,
        "Σ sales_monthly.orders vs distinct orders in fact_sales",
        int(monthly["orders"].sum()),
        fact_orders_count,
        money=False,
    )
    _equal(
        problems,
        "Σ sales_monthly.items vs fact_sales rows",
        int(monthly["items"].sum()),
        fact.height,
        money=False,
    )
    for table in ("sales_by_state", "sales_by_category", "sales_weather_daily"):
        _equal(
            problems,
            f"Σ {table}.revenue vs Σ fact_sales.allocated_payment",
            cents_total(gold[table], "revenue"),
            revenue,
        )
    return problems


def _panel_problems(
    silver: Mapping[str, pl.DataFrame], gold: Mapping[str, pl.DataFrame], paid: int
) -> list[str]:
    """The status panels: total = all silver orders; the three buckets add up to it."""
    orders, payments = silver["orders"], silver["payments"]
    panels = {row["bucket"]: row for row in gold["order_status_summary"].iter_rows(named=True)}
    missing = [bucket for bucket in ORDER_BUCKETS if bucket not in panels]
    if missing:
        return [f"order_status_summary lacks panel(s) {missing}"]
    total = panels["total"]
    parts = [panels[bucket] for bucket in ORDER_BUCKETS[1:]]
    problems: list[str] = []
    _equal(
        problems,
        "order_status_summary total orders vs silver orders",
        total["orders"],
        orders.height,
        money=False,
    )
    _equal(
        problems,
        "order_status_summary total value vs Σ silver payments of orders",
        round(total["value"] * 100),
        paid,
    )
    _equal(
        problems,
        "order_status_summary: fulfilled + awaiting_release + lost orders vs total",
        sum(p["orders"] for p in parts),
        total["orders"],
        money=False,
    )
    _equal(
        problems,
        "order_status_summary: fulfilled + awaiting_release + lost value vs total",
        sum(round(p["value"] * 100) for p in parts),
        round(total["value"] * 100),
    )
    _equal(
        problems,
        "Σ payment_type_summary.value vs Σ silver payments",
        cents_total(gold["payment_type_summary"], "value"),
        cents_total(payments, "payment_value"),
    )
    return problems


def reconcile_gold(
    silver_frames: Mapping[str, pl.DataFrame], gold_frames: Mapping[str, pl.DataFrame]
) -> list[str]:
    """Every way gold disagrees with silver or with itself; [] when it reconciles.

    `silver_frames` needs orders, order_items and payments; `gold_frames` every gold table.
    """
    # Computed once, used by several checks (at 10x: 0.1 s and 0.4 s each time).
    fact_orders_count = gold_frames["fact_sales"]["order_id"].n_unique()
    orders, payments = silver_frames["orders"], silver_frames["payments"]
    paid_cents = cents_total(
        payments.join(orders.select("order_id"), on="order_id", how="semi"), "payment_value"
    )
    return [
        *_fact_problems(silver_frames, gold_frames["fact_sales"], fact_orders_count),
        *_order_fact_problems(silver_frames, gold_frames, fact_orders_count, paid_cents),
        *_star_problems(gold_frames),
        *_aggregate_problems(gold_frames, fact_orders_count),
        *_panel_problems(silver_frames, gold_frames, paid_cents),
    ]
