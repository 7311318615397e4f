"""The star schema's fact: sales at order-item grain.

Built on silver's `sales_consolidated` (one row per item, the order's payments already
allocated to its items in exact cents), joined 1:1 to `orders` for the other timestamps, so
no join can fan out and every total reconciles with silver.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from spark.dimensions import date_key
from spark.silver import Silver

ORDER_TIMESTAMPS = (
    "order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date",
    "order_estimated_delivery_date",
)  # fmt: skip


def fact_sales(silver: Silver) -> DataFrame:
    """One row per order item: keys to every dimension, status, money (BRL), timestamps
    (naive Brazil local time), delivery days and the late flag (delivered orders only)."""
    purchased = F.to_date("order_purchase_timestamp")
    delivered = F.to_date("order_delivered_customer_date")
    estimated = F.to_date("order_estimated_delivery_date")
    return (
        silver.table("sales_consolidated")
        .join(silver.table("orders").select("order_id", *ORDER_TIMESTAMPS), "order_id", "left")
        .select(
            "order_id",
            F.col("order_item_id").cast("int").alias("order_item_id"),
            date_key(purchased).alias("date_key"),
            F.col("customer_id").alias("customer_key"),
            F.col("product_id").alias("product_key"),
            F.col("seller_id").alias("seller_key"),
            "order_status",
            "payment_type",
            F.col("price").cast("double").alias("price"),
            F.col("freight_value").cast("double").alias("freight_value"),
            F.col("payment_value").cast("double").alias("allocated_payment"),
            "order_purchase_timestamp",
            *ORDER_TIMESTAMPS,
            F.datediff(delivered, purchased).alias("delivery_days"),
            (delivered > estimated).alias("is_late"),  # by calendar day, as the promise was
            F.col("review_score").cast("int").alias("review_score"),
        )
    )
