"""The star's facts, one SQL model per table.

`fact_sales` is at order-item grain, built on silver's `sales_consolidated` (one row per item,
the order's payments already allocated to its items in exact cents) joined 1:1 to `orders`
for the other timestamps, so no join can fan out and every total reconciles with silver.

`fact_orders` has one row per order, including the orders that have no items (about 0.8% of
Olist, mostly unavailable or canceled): its `paid_value` is the order's Σ payments, so
Σ paid_value over all orders = Σ payment_value of the source.
"""

from __future__ import annotations

from spark.sql_parts import cents, date_key, days_between, in_list, to_date
from spark.statuses import STATUS_BUCKETS, UNMAPPED


def status_bucket(status: str) -> str:
    whens = " ".join(
        f"WHEN {in_list(status, statuses)} THEN '{name}'"
        for name, statuses in STATUS_BUCKETS.items()
    )
    return f"CASE {whens} ELSE '{UNMAPPED}' END"


def _delivery(purchase: str, orders: str) -> str:
    """delivery_days and is_late: calendar days, late when delivered after the promise."""
    delivered = to_date(f"{orders}.order_delivered_customer_date")
    estimated = to_date(f"{orders}.order_estimated_delivery_date")
    return (
        f"{days_between(delivered, to_date(purchase))} AS delivery_days, "
        f"{delivered} > {estimated} AS is_late"
    )


def fact_sales() -> str:
    """One row per order item: keys to every dimension, status, money (BRL), timestamps
    (naive Brazil local time), delivery days and the late flag (delivered orders only)."""
    return f"""
    SELECT
        s.order_id,
        CAST(s.order_item_id AS INT) AS order_item_id,
        {date_key(to_date("s.order_purchase_timestamp"))} AS date_key,
        s.customer_id AS customer_key,
        s.product_id AS product_key,
        s.seller_id AS seller_key,
        s.order_status,
        s.payment_type,
        CAST(s.price AS DOUBLE) AS price,
        CAST(s.freight_value AS DOUBLE) AS freight_value,
        CAST(s.payment_value AS DOUBLE) AS allocated_payment,
        s.order_purchase_timestamp,
        o.order_approved_at,
        o.order_delivered_carrier_date,
        o.order_delivered_customer_date,
        o.order_estimated_delivery_date,
        {_delivery("s.order_purchase_timestamp", "o")},
        CAST(s.review_score AS INT) AS review_score
    FROM sales_consolidated s
    LEFT JOIN orders o ON s.order_id = o.order_id
    """


def fact_orders() -> str:
    """One row per silver order: items and their value, the payments (Σ, and the main type:
    the largest by value, ties alphabetical), the latest review's score, delivery."""
    return f"""
    WITH items AS (
        SELECT order_id, COUNT(*) AS items,
               CAST(SUM({cents("price")} + {cents("freight_value")}) AS BIGINT) AS items_cents
        FROM order_items GROUP BY order_id
    ),
    by_type AS (
        SELECT order_id, payment_type, CAST(SUM({cents("payment_value")}) AS BIGINT) AS cents
        FROM payments GROUP BY order_id, payment_type
    ),
    ranked_types AS (
        SELECT order_id, payment_type, cents, ROW_NUMBER() OVER (
            PARTITION BY order_id ORDER BY cents DESC NULLS LAST, payment_type ASC NULLS LAST
        ) AS pick
        FROM by_type
    ),
    paid AS (
        SELECT order_id, MAX(CASE WHEN pick = 1 THEN payment_type END) AS payment_type,
               CAST(SUM(cents) AS BIGINT) AS paid_cents
        FROM ranked_types GROUP BY order_id
    ),
    ranked_reviews AS (
        SELECT order_id, review_score, ROW_NUMBER() OVER (
            PARTITION BY order_id ORDER BY review_creation_date DESC NULLS LAST,
                review_answer_timestamp DESC NULLS LAST, review_score DESC NULLS LAST,
                review_id ASC NULLS LAST
        ) AS pick
        FROM reviews
    )
    SELECT
        o.order_id,
        {date_key(to_date("o.order_purchase_timestamp"))} AS date_key,
        o.customer_id AS customer_key,
        o.order_status,
        {status_bucket("o.order_status")} AS status_bucket,
        p.payment_type,
        CAST(COALESCE(i.items, 0) AS INT) AS items,
        COALESCE(i.items_cents, 0) / 100 AS items_value,
        COALESCE(p.paid_cents, 0) / 100 AS paid_value,
        CAST(r.review_score AS INT) AS review_score,
        {_delivery("o.order_purchase_timestamp", "o")},
        o.order_purchase_timestamp
    FROM orders o
    LEFT JOIN items i ON o.order_id = i.order_id
    LEFT JOIN paid p ON o.order_id = p.order_id
    LEFT JOIN ranked_reviews r ON o.order_id = r.order_id AND r.pick = 1
    """
