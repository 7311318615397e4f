"""The star schema's dimensions, one SQL model per table.

Keys are the silver identifiers (customers' and orders' ids are already pseudonyms), so a key
means the same thing in every run and in every layer; nothing here re-identifies anybody.
"""

from __future__ import annotations

from spark.sql_parts import (
    date_key,
    days_between,
    lookup,
    month_start,
    state_or_null,
    to_date,
)

WEEKDAYS_PT = (
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado",
    "domingo",
)  # fmt: skip
MONTHS_PT = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
    "outubro", "novembro", "dezembro",
)  # fmt: skip
A_MONDAY = "DATE'2000-01-03'"  # ISO weekday by arithmetic: the engines number weekdays apart


def dim_date() -> str:
    """One row per day, whole months from the first to the last purchase, with the month's
    IPCA (% change and accumulated index; null when IPCA is not in silver)."""
    iso_weekday = f"(({days_between('d.date', A_MONDAY)} % 7 + 7) % 7 + 1)"
    return f"""
    WITH bounds AS (
        SELECT {month_start(f"MIN({to_date('order_purchase_timestamp')})")} AS first_day,
               last_day(MAX({to_date("order_purchase_timestamp")})) AS last_day
        FROM orders
    ),
    offsets AS (
        SELECT first_day, explode(sequence(0, {days_between("last_day", "first_day")})) AS step
        FROM bounds
    ),
    days AS (SELECT CAST(date_add(first_day, CAST(step AS INT)) AS DATE) AS date FROM offsets),
    ipca AS (
        SELECT {month_start(to_date("month"))} AS month_start,
               CAST(pct_change AS DOUBLE) AS ipca_pct_change,
               CAST(index AS DOUBLE) AS ipca_index
        FROM ipca_monthly
    )
    SELECT
        {date_key("d.date")} AS date_key,
        d.date,
        CAST(year(d.date) AS INT) AS year,
        CAST(quarter(d.date) AS INT) AS quarter,
        CAST(month(d.date) AS INT) AS month,
        CAST(dayofmonth(d.date) AS INT) AS day,
        {month_start("d.date")} AS month_start,
        CAST({iso_weekday} AS INT) AS day_of_week,
        {lookup(iso_weekday, dict(enumerate(WEEKDAYS_PT, start=1)))} AS weekday_name,
        {lookup("month(d.date)", dict(enumerate(MONTHS_PT, start=1)))} AS month_name,
        {iso_weekday} >= 6 AS is_weekend,
        i.ipca_pct_change,
        i.ipca_index
    FROM days d
    LEFT JOIN ipca i ON {month_start("d.date")} = i.month_start
    """


def dim_customer() -> str:
    """One row per silver customer (Olist: one customer_id per order); the person is
    `customer_unique_key`. City is the masked literal, zip the generalised prefix."""
    return f"""
    SELECT
        customer_id AS customer_key,
        customer_unique_id AS customer_unique_key,
        customer_zip_code_prefix,
        customer_city,
        {state_or_null("customer_state")} AS customer_state
    FROM customers
    """


def dim_product() -> str:
    """One row per product: Portuguese and English category (null: no category or no
    translation), the friendly label (`category_labels`, spark/labels.py), dimensions (cm),
    weight (g) and volume (cm³)."""
    return """
    SELECT
        p.product_id AS product_key,
        p.product_category_name,
        p.product_category_name_english,
        COALESCE(l.category_label, 'Sem categoria') AS category_label,
        CAST(p.product_photos_qty AS INT) AS product_photos_qty,
        CAST(p.product_weight_g AS DOUBLE) AS product_weight_g,
        CAST(p.product_length_cm AS DOUBLE) AS product_length_cm,
        CAST(p.product_height_cm AS DOUBLE) AS product_height_cm,
        CAST(p.product_width_cm AS DOUBLE) AS product_width_cm,
        CAST(p.product_length_cm AS DOUBLE) * CAST(p.product_height_cm AS DOUBLE)
            * CAST(p.product_width_cm AS DOUBLE) AS product_volume_cm3
    FROM products p
    LEFT JOIN category_labels l ON p.product_category_name = l.product_category_name
    """


def dim_seller() -> str:
    """One row per seller: zip prefix and state (silver drops the city by default)."""
    return f"""
    SELECT
        seller_id AS seller_key,
        seller_zip_code_prefix,
        {state_or_null("seller_state")} AS seller_state
    FROM sellers
    """
