"""Consolidated sales at order-item grain, with no fan-out.

The seed joined payments x items, so an order with 2 payments and 3 items counted 6 rows and
inflated every total by about 25%. Here payments are summed per order first, then allocated
to the order's items in proportion to item value (price + freight), in integer cents with the
largest-remainder method, so Σ allocated = Σ payment_value exactly for every order with items.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from validation.catalog import SALES_CONSOLIDATED
from validation.catalog_silver import silver_types
from validation.money import cents

# The consolidated table's columns, as validation/catalog_silver.py declares them.
CONSOLIDATED_COLUMNS = tuple(silver_types(SALES_CONSOLIDATED))
# What the consolidated table takes from orders and customers (joining only these is cheaper).
_ORDER_COLUMNS = ("order_id", "customer_id", "order_status", "order_purchase_timestamp")
_CUSTOMER_COLUMNS = ("customer_id", "customer_city", "customer_state")
# The allocation's working columns ("_o": the items' order runs, when they have them).
_SCRATCH = ("_i", "_w", "_W", "_n", "_floor", "_remainder", "_left", "_rank", "paid_cents", "_o")


def payments_per_order(payments: pl.DataFrame) -> pl.DataFrame:
    """One row per order: total paid in cents and the main payment type (largest value,
    ties to the first type by name)."""
    return (
        payments.group_by("order_id", "payment_type")
        .agg(cents("payment_value").sum())
        .group_by("order_id")
        .agg(
            pl.col("payment_value").sum().alias("paid_cents"),
            pl.col("payment_type")
            .sort_by("payment_value", "payment_type", descending=[True, False])
            .first(),
        )
    )


def allocate_payments_to_items(
    items: pl.DataFrame, payments: pl.DataFrame, per_order: pl.DataFrame | None = None
) -> pl.DataFrame:
    """`items` plus `payment_value` (allocated) and the order's main `payment_type`.

    Items of orders without payments get 0.0 and a null type. Allocation weights are item
    value in cents; an order whose items are all free splits its payment equally.
    `per_order`: `payments_per_order(payments)` when the caller already has it.
    """
    per_order = payments_per_order(payments) if per_order is None else per_order
    # The windows below go over each order's items. Items in order id order (as Olist's file
    # and silver keep them) number their orders' runs once, and the windows go over those
    # integers: 10x, three windows over a million text ids 0.35 -> 0.06 s. Any other order
    # windows over the ids themselves (ranking them would cost as much).
    if items["order_id"].is_sorted():
        items, order = items.with_columns(pl.col("order_id").rle_id().alias("_o")), "_o"
    else:
        order = "order_id"
    positive = pl.col("_W") > 0
    frame = (
        items.with_columns((cents("price") + cents("freight_value")).alias("_w"))
        .join(per_order, on="order_id", how="left")
        .with_columns(
            pl.col("paid_cents").fill_null(0),
            pl.col("_w").sum().over(order).alias("_W"),
            pl.len().over(order).alias("_n"),
        )
        .with_columns(  # an order whose items are all free splits its payment equally
            pl.when(positive).then(pl.col("_w")).otherwise(1).alias("_w"),
            pl.when(positive).then(pl.col("_W")).otherwise(pl.col("_n")).alias("_W"),
        )
        .with_columns(
            (pl.col("paid_cents") * pl.col("_w") // pl.col("_W")).alias("_floor"),
            (pl.col("paid_cents") * pl.col("_w") % pl.col("_W")).alias("_remainder"),
        )
        .with_columns((pl.col("paid_cents") - pl.col("_floor").sum().over(order)).alias("_left"))
        .with_row_index("_i")
    )
    # Only orders with cents left after flooring need the largest-remainder ranking (most
    # orders have one item or divide exactly): rank those rows alone, a fraction of them.
    ranked = frame.filter(pl.col("_left") > 0).select(
        "_i",
        pl.struct((-pl.col("_remainder")).alias("r"), pl.col("order_item_id").alias("i"))
        .rank("ordinal")
        .over(order)
        .alias("_rank"),
    )
    frame = frame.join(ranked, on="_i", how="left", maintain_order="left")
    extra_cent = (pl.col("_rank") <= pl.col("_left")).fill_null(False).cast(pl.Int64)
    allocated = pl.col("_floor") + extra_cent
    return frame.with_columns((allocated / 100).alias("payment_value")).drop(
        *_SCRATCH, strict=False
    )


def latest_review_scores(reviews: pl.DataFrame) -> pl.DataFrame:
    """One score per order: the most recent review (by creation, then answer time, nulls
    oldest); between reviews as recent, the higher score. Gold's `fact_orders` picks by the
    same rule (spark/models/facts.py), so an order's score is one number in every table; rows
    tied on all four columns give the same score, whichever comes last."""
    columns = ["order_id", "review_creation_date", "review_answer_timestamp", "review_score"]
    return (
        reviews.select(columns)  # the columns it needs sorted, not every column
        .sort(columns, nulls_last=False)  # the pick comes last in its order
        .group_by("order_id", maintain_order=True)
        .last()
        .select("order_id", "review_score")
    )


@dataclass(frozen=True)
class SalesReconciliation:
    """How the consolidated table relates to its sources; nothing is silently lost."""

    items: int
    orders_with_items: int
    orders_without_items: int
    payments_without_orders: int
    payments_of_orders_without_items_cents: int
    items_without_payment: int
    paid_cents_of_orders_with_items: int
    allocated_cents: int

    @property
    def balanced(self) -> bool:
        return self.paid_cents_of_orders_with_items == self.allocated_cents


def consolidate_sales(
    orders: pl.DataFrame,
    items: pl.DataFrame,
    payments: pl.DataFrame,
    customers: pl.DataFrame,
    products: pl.DataFrame,
    reviews: pl.DataFrame,
    *,
    per_order: pl.DataFrame | None = None,
    latest_reviews: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, SalesReconciliation]:
    """The seed's consolidated columns, one row per order item, totals reconciled.

    `per_order`, `latest_reviews`: `payments_per_order(payments)` and
    `latest_review_scores(reviews)` when the caller has them (silver computes them while
    order items are parsed)."""
    if per_order is None:  # allocation and reconciliation share it
        per_order = payments_per_order(payments)
    if latest_reviews is None:
        latest_reviews = latest_review_scores(reviews)
    allocated = allocate_payments_to_items(items, payments, per_order)
    sales = (
        allocated.join(orders.select(*_ORDER_COLUMNS), on="order_id", how="inner")
        .join(customers.select(*_CUSTOMER_COLUMNS), on="customer_id", how="left")
        .join(products.select("product_id", "product_category_name"), on="product_id", how="left")
        .join(latest_reviews, on="order_id", how="left")
        .select(*CONSOLIDATED_COLUMNS)
        .sort("order_id", "order_item_id")
    )
    return sales, _reconcile(orders, items, payments, sales, per_order)


def _reconcile(orders, items, payments, sales, paid) -> SalesReconciliation:
    order_ids = orders.select("order_id").unique()
    with_items = items.select("order_id").unique()
    paid_with_items = paid.join(with_items, on="order_id", how="semi")
    return SalesReconciliation(
        items=sales.height,
        orders_with_items=sales["order_id"].n_unique(),
        orders_without_items=order_ids.join(with_items, on="order_id", how="anti").height,
        payments_without_orders=payments.join(order_ids, on="order_id", how="anti").height,
        payments_of_orders_without_items_cents=int(
            paid.join(with_items, on="order_id", how="anti")["paid_cents"].sum()
        ),
        items_without_payment=items.join(paid, on="order_id", how="anti").height,
        paid_cents_of_orders_with_items=int(paid_with_items["paid_cents"].sum()),
        allocated_cents=int(sales.select(cents("payment_value").sum()).item()),
    )
