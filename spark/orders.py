"""`fact_orders`: one row per order, including the orders that have no items.

The item-grain `fact_sales` cannot answer "how many orders, worth how much" for orders that
never got items (about 0.8% of Olist, mostly unavailable or canceled) nor filter the seed's
order-status panels by date or state. This accumulating-snapshot fact can: its `paid_value`
is the order's Σ payments, so Σ paid_value over all orders = Σ payment_value of the source.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark.aggregates import cents, status_bucket
from spark.dimensions import date_key
from spark.silver import Silver


def _payments_per_order(silver: Silver) -> DataFrame:
    payments = silver.table("payments")
    by_type = payments.groupBy("order_id", "payment_type").agg(
        F.sum(cents("payment_value")).alias("type_cents")
    )
    main_type = by_type.groupBy("order_id").agg(
        # the type with the largest value; ties broken alphabetically for determinism
        F.min_by("payment_type", F.struct(-F.col("type_cents"), F.col("payment_type"))).alias(
            "payment_type"
        ),
        F.sum("type_cents").alias("paid_cents"),
    )
    return main_type


def _items_per_order(silver: Silver) -> DataFrame:
    return (
        silver.table("order_items")
        .groupBy("order_id")
        .agg(
            F.count(F.lit(1)).cast("int").alias("items"),
            F.sum(cents("price") + cents("freight_value")).alias("items_cents"),
        )
    )


def _latest_review(silver: Silver) -> DataFrame:
    reviews = silver.table("reviews")
    return reviews.groupBy("order_id").agg(
        F.max_by("review_score", F.struct("review_creation_date", "review_answer_timestamp"))
        .cast("int")
        .alias("review_score")
    )


def fact_orders(silver: Silver) -> DataFrame:
    orders = silver.table("orders")
    # Same definitions as fact_sales: calendar days, late when delivered after the promise.
    purchased = F.to_date("order_purchase_timestamp")
    delivered = F.to_date("order_delivered_customer_date")
    estimated = F.to_date("order_estimated_delivery_date")
    return (
        orders.join(_items_per_order(silver), "order_id", "left")
        .join(_payments_per_order(silver), "order_id", "left")
        .join(_latest_review(silver), "order_id", "left")
        .select(
            "order_id",
            date_key(purchased).alias("date_key"),
            F.col("customer_id").alias("customer_key"),
            "order_status",
            status_bucket(F.col("order_status")).alias("status_bucket"),
            "payment_type",
            F.coalesce(F.col("items"), F.lit(0)).cast("int").alias("items"),
            (F.coalesce(F.col("items_cents"), F.lit(0)) / 100).alias("items_value"),
            (F.coalesce(F.col("paid_cents"), F.lit(0)) / 100).alias("paid_value"),
            "review_score",
            F.datediff(delivered, purchased).cast("int").alias("delivery_days"),
            (delivered > estimated).alias("is_late"),
            "order_purchase_timestamp",
        )
    )
