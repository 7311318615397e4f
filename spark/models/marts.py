"""The BI marts the dashboard reads, one SQL model per table, over the facts and dimensions.

Money is summed in integer cents and divided once, so every total is exact to the cent and
identical however the engine splits the work. Sales marts cover every order item in the fact,
whatever the order's status, so they reconcile with silver; the status panels
(`order_status_summary`, from `fact_orders`) and `payment_type_summary` are order-level, from
silver orders and payments, so they include orders that have no items.
"""

from __future__ import annotations

from spark.sql_parts import (
    cents,
    days_between,
    in_list,
    quoted,
    round_cents,
    round_ratio,
    sales_totals,
    to_date,
)
from spark.statuses import BUCKET_LABELS, STATUS_BUCKETS


def sales_monthly() -> str:
    """Per purchase month: orders, items, price, freight and revenue (Σ allocated payments,
    BRL), and revenue deflated by IPCA to prices of the reference month, the last sales month
    with an index: revenue × index(reference) / index(month). Without IPCA in silver the
    deflated revenue equals the nominal one (and `reference_month` is null)."""
    deflated = round_cents("m.revenue * r.reference_index / NULLIF(m.ipca_index, 0)")
    return f"""
    WITH months AS (
        SELECT DISTINCT month_start, ipca_pct_change, ipca_index FROM dim_date
    ),
    totals AS (
        SELECT d.month_start AS month, {sales_totals("f")}
        FROM fact_sales f LEFT JOIN dim_date d ON f.date_key = d.date_key
        GROUP BY d.month_start
    ),
    monthly AS (
        SELECT t.*, i.ipca_pct_change, i.ipca_index
        FROM totals t LEFT JOIN months i ON t.month = i.month_start
    ),
    reference AS (
        SELECT MAX(month) AS reference_month FROM monthly WHERE ipca_index IS NOT NULL
    ),
    reference_index AS (
        SELECT r.reference_month, m.ipca_index AS reference_index
        FROM reference r LEFT JOIN monthly m ON m.month = r.reference_month
    )
    SELECT
        m.month, m.orders, m.items, m.price_total, m.freight_total, m.revenue,
        m.ipca_pct_change, m.ipca_index, r.reference_month,
        CASE WHEN r.reference_index IS NULL THEN m.revenue ELSE {deflated} END
            AS revenue_deflated
    FROM monthly m CROSS JOIN reference_index r
    """


def sales_by_state() -> str:
    """Per customer state (null: state masked in silver): sales totals, buying customers
    (people, by `customer_unique_key`) and the average ticket (revenue per order)."""
    ticket = round_ratio(
        f"SUM({cents('f.allocated_payment')})", "100 * COUNT(DISTINCT f.order_id)", 2
    )
    return f"""
    SELECT
        c.customer_state, {sales_totals("f")},
        COUNT(DISTINCT c.customer_unique_key) AS customers,
        {ticket} AS average_ticket
    FROM fact_sales f LEFT JOIN dim_customer c ON f.customer_key = c.customer_key
    GROUP BY c.customer_state
    """


def customers_by_state() -> str:
    """Per state: customer records (Olist's count: one per order), distinct people, and the
    people with at least one order item in the fact."""
    return """
    SELECT
        c.customer_state,
        COUNT(*) AS customer_ids,
        COUNT(DISTINCT c.customer_unique_key) AS customers,
        COUNT(DISTINCT CASE WHEN b.customer_key IS NOT NULL THEN c.customer_unique_key END)
            AS buying_customers
    FROM dim_customer c
    LEFT JOIN (SELECT DISTINCT customer_key FROM fact_sales) b ON c.customer_key = b.customer_key
    GROUP BY c.customer_state
    """


def sales_by_category() -> str:
    """Per product category (null: no category, "Sem categoria"): sales totals and the rank
    by revenue (1 = best; ties by label, then name), for the dashboard's top 10."""
    return f"""
    WITH totals AS (
        SELECT p.product_category_name, p.product_category_name_english, p.category_label,
               {sales_totals("f")},
               SUM({cents("f.allocated_payment")}) AS revenue_cents
        FROM fact_sales f LEFT JOIN dim_product p ON f.product_key = p.product_key
        GROUP BY p.product_category_name, p.product_category_name_english, p.category_label
    )
    SELECT
        product_category_name, product_category_name_english, category_label,
        orders, items, price_total, freight_total, revenue,
        CAST(ROW_NUMBER() OVER (
            PARTITION BY 1 ORDER BY revenue_cents DESC NULLS LAST,
                category_label ASC NULLS FIRST, product_category_name ASC NULLS FIRST
        ) AS INT) AS revenue_rank
    FROM totals
    """


def _panels() -> str:
    """The four panels as literal rows (bucket, label, statuses, panel order)."""
    panels = {"total": (), **STATUS_BUCKETS}
    rows = ", ".join(
        f"({order}, {quoted(name)}, {quoted(BUCKET_LABELS[name])}, {quoted(', '.join(s))})"
        for order, (name, s) in enumerate(panels.items(), start=1)
    )
    return f"SELECT * FROM VALUES {rows} AS panels(panel_order, bucket, label, statuses)"


def order_status_summary() -> str:
    """The seed dashboard's panels, order-level (every silver order, from `fact_orders`):
    total orders, fulfilled (delivered, shipped), awaiting release (created, approved,
    invoiced, processing) and lost (canceled, unavailable), each as a count and a value
    (Σ the orders' payments, BRL, summed in cents)."""
    return f"""
    WITH orders AS (
        SELECT status_bucket AS bucket, {cents("paid_value")} AS paid_cents FROM fact_orders
    ),
    counted AS (
        SELECT 'total' AS bucket, COUNT(*) AS orders, CAST(SUM(paid_cents) AS BIGINT) AS cents
        FROM orders
        UNION ALL
        SELECT bucket, COUNT(*) AS orders, CAST(SUM(paid_cents) AS BIGINT) AS cents
        FROM orders GROUP BY bucket
    ),
    panels AS ({_panels()})
    SELECT
        p.panel_order, c.bucket, p.label, p.statuses, c.orders,
        COALESCE(c.cents, 0) / 100 AS value
    FROM counted c LEFT JOIN panels p ON c.bucket = p.bucket
    """


def payment_type_summary() -> str:
    """Per payment type, payment-level from silver: payments, orders, value (BRL), average
    installments, share of all value, and the fulfilled orders' part (dashboard panel)."""
    fulfilled = in_list("o.order_status", STATUS_BUCKETS["fulfilled"])
    share = round_ratio("value_cents", "SUM(value_cents) OVER (PARTITION BY 1)", 4)
    installments = round_ratio("SUM(installments)", "COUNT(installments)", 2)
    return f"""
    WITH payments_status AS (
        SELECT p.order_id, p.payment_type, CAST(p.payment_installments AS BIGINT) AS installments,
               {cents("p.payment_value")} AS value_cents, {fulfilled} AS fulfilled
        FROM payments p LEFT JOIN orders o ON p.order_id = o.order_id
    ),
    by_type AS (
        SELECT
            payment_type,
            COUNT(*) AS payments,
            COUNT(DISTINCT order_id) AS orders,
            CAST(SUM(value_cents) AS BIGINT) AS value_cents,
            {installments} AS average_installments,
            COUNT(DISTINCT CASE WHEN fulfilled THEN order_id END) AS fulfilled_orders,
            CAST(COALESCE(SUM(CASE WHEN fulfilled THEN value_cents END), 0) AS BIGINT)
                AS fulfilled_cents
        FROM payments_status GROUP BY payment_type
    )
    SELECT
        payment_type, payments, orders, value_cents / 100 AS value, average_installments,
        {share} AS value_share,
        fulfilled_orders, fulfilled_cents / 100 AS fulfilled_value
    FROM by_type
    """


def delivery_performance() -> str:
    """Per customer state, over delivered orders: average days from purchase to delivery and
    to the promised date, on-time and late orders (late: delivered on a later calendar day
    than estimated), the late share and the average review score."""
    estimated = days_between(
        to_date("f.order_estimated_delivery_date"), to_date("f.order_purchase_timestamp")
    )
    average = {
        column: round_ratio(f"SUM({column})", f"COUNT({column})", 2)
        for column in ("delivery_days", "estimated_days", "review_score")
    }
    late_share = round_ratio("SUM(CAST(is_late AS INT))", "COUNT(is_late)", 4)
    return f"""
    WITH delivered AS (
        SELECT DISTINCT
            f.order_id, f.customer_key, CAST(f.delivery_days AS BIGINT) AS delivery_days,
            CAST({estimated} AS BIGINT) AS estimated_days, f.is_late,
            CAST(f.review_score AS BIGINT) AS review_score
        FROM fact_sales f
        WHERE f.order_status = 'delivered' AND f.order_delivered_customer_date IS NOT NULL
    )
    SELECT
        c.customer_state,
        COUNT(*) AS delivered_orders,
        {average["delivery_days"]} AS average_delivery_days,
        {average["estimated_days"]} AS average_estimated_days,
        COUNT(CASE WHEN NOT d.is_late THEN 1 END) AS on_time_orders,
        COUNT(CASE WHEN d.is_late THEN 1 END) AS late_orders,
        {late_share} AS late_share,
        {average["review_score"]} AS average_review_score
    FROM delivered d LEFT JOIN dim_customer c ON d.customer_key = c.customer_key
    GROUP BY c.customer_state
    """


WEATHER = ("temperature_max", "temperature_min", "temperature_mean", "precipitation_sum")


def sales_weather_daily() -> str:
    """Per customer state and purchase day: sales totals and that state's capital's weather
    that day (°C, mm; null when silver has no weather for it; `weather_synthetic` true when
    it is the bundled synthetic sample, not a measurement)."""
    weather = ", ".join(f"CAST(w.{column} AS DOUBLE) AS {column}" for column in WEATHER)
    return f"""
    WITH daily AS (
        SELECT c.customer_state, {to_date("f.order_purchase_timestamp")} AS date, f.date_key,
               {sales_totals("f")}
        FROM fact_sales f LEFT JOIN dim_customer c ON f.customer_key = c.customer_key
        GROUP BY c.customer_state, {to_date("f.order_purchase_timestamp")}, f.date_key
    )
    SELECT
        d.customer_state, d.date, d.date_key, d.orders, d.items, d.price_total,
        d.freight_total, d.revenue, w.capital, {weather},
        CAST(w.synthetic AS BOOLEAN) AS weather_synthetic
    FROM daily d
    LEFT JOIN weather_daily w
        ON d.customer_state = w.state AND d.date = CAST(w.date AS DATE)
    """
