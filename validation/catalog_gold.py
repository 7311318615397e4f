"""Every gold table declared once: grain, keys, write order, what it reads, and its columns in
order with type, nullability and meaning.

Standard library only (the Spark job imports it, through `validation.catalog`, under
spark-submit). From it come `validation.catalog`'s `GOLD_TABLES`, `GOLD_WRITE_ORDER`,
`GOLD_COLUMNS` and `GOLD_STAR`, hence the Parquet schema every engine writes
(`spark/gold_write.py`), the warehouse's tables and keys (`tasks/warehouse/schema.py`), the
gold Pandera schemas' dtypes, nullability and key uniqueness (`validation/gold_schemas.py`)
and the data dictionary (`cofre docs`).

Types: `str`, `int` (32-bit), `long` (64-bit), `double`, `date`, `ts` (timestamp,
microseconds, naive Brazil local time) or `bool`; a trailing `?` marks a nullable column.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from validation.catalog_silver import Column, columns


@dataclass(frozen=True)
class GoldTable:
    """A gold table: one row per `grain`. `primary_key` (or, where a key column may be null,
    `unique`) identifies a row; `references` maps a column to the dimension whose key of the
    same name it joins; rows are written sorted by `sort` (nulls last); `reads` names what its
    model reads: silver datasets and earlier gold tables."""

    name: str
    grain: str
    sort: tuple[str, ...]
    reads: tuple[str, ...]
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    references: dict[str, str] = field(default_factory=dict)


STATE = "customer state (UF); null: states silver masked (the `seed` policy)"
ORDERS, ITEMS = "distinct orders", "order items"
PRICE, FREIGHT = "Σ price, R$ (merchandise alone)", "Σ freight, R$"
REVENUE = "Σ allocated payment, R$: what customers paid, freight included"
SALES_TOTALS = (
    ("orders", "long", ORDERS), ("items", "long", ITEMS), ("price_total", "double", PRICE),
    ("freight_total", "double", FREIGHT), ("revenue", "double", REVENUE),
)  # fmt: skip
DATE_KEY = "purchase day, yyyymmdd → dim_date"
DELIVERY_DAYS = "calendar days from purchase to delivery; null: not delivered"
IS_LATE = "delivered on a later calendar day than estimated; null: not delivered"
STAR_SALES = {"date_key": "dim_date", "customer_key": "dim_customer"}

GOLD_DECLARED: dict[str, GoldTable] = {
    t.name: t
    for t in (
        GoldTable("dim_date", "day (whole months from the first to the last purchase)",
            ("date_key",), ("orders", "ipca_monthly"), columns(
                ("date_key", "int", "yyyymmdd, the facts' `date_key`"),
                ("date", "date", "the day"),
                ("year", "int", "calendar year"),
                ("quarter", "int", "1–4"),
                ("month", "int", "1–12"),
                ("day", "int", "day of the month"),
                ("month_start", "date", "first day of the month"),
                ("day_of_week", "int", "ISO: 1 = Monday … 7 = Sunday"),
                ("weekday_name", "str", "Portuguese (`terça-feira`)"),
                ("month_name", "str", "Portuguese (`março`)"),
                ("is_weekend", "bool", "Saturday or Sunday"),
                ("ipca_pct_change", "double?", "the month's IPCA, %; null: silver has no IPCA"),
                ("ipca_index", "double?", "IPCA accumulated index (base 100 before the first "
                 "month in silver)"),
            ), primary_key=("date_key",)),
        GoldTable("dim_customer", "silver customer id (the person is `customer_unique_key`)",
            ("customer_key",), ("customers",), columns(
                ("customer_key", "str", "silver `customer_id` (pseudonym)"),
                ("customer_unique_key", "str", "silver `customer_unique_id` (pseudonym of the "
                 "person)"),
                ("customer_zip_code_prefix", "str", "generalised prefix: 3 digits (default "
                 "policy), 5 (`seed`)"),
                ("customer_city", "str?", "the masked literal `[CIDADE_REMOVIDA_LGPD]`"),
                ("customer_state", "str?", "UF; null when silver keyed-hashed it (`seed`)"),
            ), primary_key=("customer_key",)),
        GoldTable("dim_product", "product", ("product_key",),
            ("products", "category_translation"), columns(
                ("product_key", "str", "silver `product_id`"),
                ("product_category_name", "str?", "Portuguese name; null: no category"),
                ("product_category_name_english", "str?", "translation; null: no category or "
                 "no translation (`pc_gamer`, …)"),
                ("category_label", "str", "friendly Portuguese label, never null (`Sem "
                 "categoria`: no category)"),
                ("product_photos_qty", "int?", "photos published"),
                ("product_weight_g", "double?", "grams"),
                ("product_length_cm", "double?", "cm"),
                ("product_height_cm", "double?", "cm"),
                ("product_width_cm", "double?", "cm"),
                ("product_volume_cm3", "double?", "length × height × width"),
            ), primary_key=("product_key",)),
        GoldTable("dim_seller", "seller", ("seller_key",), ("sellers",), columns(
            ("seller_key", "str", "silver `seller_id`"),
            ("seller_zip_code_prefix", "str", "zip prefix"),
            ("seller_state", "str?", "UF; null if masked (cities are not carried into gold)"),
        ), primary_key=("seller_key",)),
        GoldTable("fact_sales", "order item", ("order_id", "order_item_id"),
            ("sales_consolidated", "orders"), columns(
                ("order_id", "str", "the order; the grain with `order_item_id`"),
                ("order_item_id", "int", "the item within the order"),
                ("date_key", "int", DATE_KEY),
                ("customer_key", "str", "→ dim_customer"),
                ("product_key", "str", "→ dim_product"),
                ("seller_key", "str", "→ dim_seller"),
                ("order_status", "str", "one of the 8 Olist statuses"),
                ("payment_type", "str?", "the order's main payment type (largest value); null: "
                 "no payment"),
                ("price", "double", "R$, 0–10,000"),
                ("freight_value", "double", "R$"),
                ("allocated_payment", "double", "the order's payments allocated to this item, "
                 "R$; Σ per order = the order's payments"),
                ("order_purchase_timestamp", "ts", "when the order was placed"),
                ("order_approved_at", "ts?", "approval; null: not approved"),
                ("order_delivered_carrier_date", "ts?", "handed to the carrier"),
                ("order_delivered_customer_date", "ts?", "delivered"),
                ("order_estimated_delivery_date", "ts?", "promised at purchase"),
                ("delivery_days", "int?", DELIVERY_DAYS),
                ("is_late", "bool?", IS_LATE),
                ("review_score", "int?", "the order's latest review, 1–5; null: none"),
            ), primary_key=("order_id", "order_item_id"),
            references={**STAR_SALES, "product_key": "dim_product", "seller_key": "dim_seller"}),
        GoldTable("fact_orders", "order (orders without items included)", ("order_id",),
            ("orders", "order_items", "payments", "reviews"), columns(
                ("order_id", "str", "the order"),
                ("date_key", "int", DATE_KEY),
                ("customer_key", "str", "→ dim_customer"),
                ("order_status", "str", "one of the 8 Olist statuses"),
                ("status_bucket", "str", "fulfilled, awaiting_release or lost (the status "
                 "panels)"),
                ("payment_type", "str?", "main payment type; null: no payment"),
                ("items", "int", "items in the order (0: none)"),
                ("items_value", "double", "Σ (price + freight) of its items, R$"),
                ("paid_value", "double", "Σ the order's payments, R$ (0: no payment)"),
                ("review_score", "int?", "latest review, 1–5; null: none"),
                ("delivery_days", "int?", DELIVERY_DAYS),
                ("is_late", "bool?", IS_LATE),
                ("order_purchase_timestamp", "ts", "when the order was placed"),
            ), primary_key=("order_id",), references=dict(STAR_SALES)),
        GoldTable("sales_monthly", "purchase month", ("month",), ("fact_sales", "dim_date"),
            columns(
                ("month", "date", "first day of the purchase month"),
                *SALES_TOTALS,
                ("ipca_pct_change", "double?", "the month's IPCA, %"),
                ("ipca_index", "double?", "IPCA accumulated index"),
                ("reference_month", "date?", "the last month with sales and an IPCA index; "
                 "null: no IPCA"),
                ("revenue_deflated", "double?", "revenue in the reference month's prices; null: "
                 "month not covered by IPCA"),
            ), primary_key=("month",)),
        GoldTable("sales_by_state", "customer state", ("customer_state",),
            ("fact_sales", "dim_customer"), columns(
                ("customer_state", "str?", STATE),
                *SALES_TOTALS,
                ("customers", "long", "distinct people who bought"),
                ("average_ticket", "double", "revenue / orders, R$"),
            ), unique=("customer_state",)),
        GoldTable("customers_by_state", "customer state", ("customer_state",),
            ("dim_customer", "fact_sales"), columns(
                ("customer_state", "str?", STATE),
                ("customer_ids", "long", "Olist's count: one customer id per order"),
                ("customers", "long", "distinct people"),
                ("buying_customers", "long", "people with items in the fact"),
            ), unique=("customer_state",)),
        GoldTable("sales_by_category", "Portuguese category", ("revenue_rank",),
            ("fact_sales", "dim_product"), columns(
                ("product_category_name", "str?", "Portuguese name; null: no category"),
                ("product_category_name_english", "str?", "translation"),
                ("category_label", "str", "friendly Portuguese label"),
                *SALES_TOTALS,
                ("revenue_rank", "int", "1 = highest revenue; ties by label, then name"),
            ), unique=("product_category_name",)),
        GoldTable("order_status_summary", "dashboard status panel", ("panel_order", "bucket"),
            ("fact_orders",), columns(
                ("panel_order", "int", "the panel's place on the dashboard"),
                ("bucket", "str", "total, fulfilled, awaiting_release or lost"),
                ("label", "str", "the panel's Portuguese title"),
                ("statuses", "str", "the order statuses it counts"),
                ("orders", "long", "silver orders, with or without items"),
                ("value", "double", "Σ their payments, R$"),
            ), primary_key=("bucket",)),
        GoldTable("payment_type_summary", "payment type", ("payment_type",),
            ("payments", "orders"), columns(
                ("payment_type", "str", "one of the 5 Olist payment types"),
                ("payments", "long", "payment rows (an order paid two ways counts in both)"),
                ("orders", "long", "distinct orders"),
                ("value", "double", "Σ payment value, R$"),
                ("average_installments", "double", "mean installments"),
                ("value_share", "double?", "share of all payments' value, 0–1"),
                ("fulfilled_orders", "long", "orders delivered or shipped"),
                ("fulfilled_value", "double", "the part of `value` from fulfilled orders, R$"),
            ), primary_key=("payment_type",)),
        GoldTable("delivery_performance", "customer state", ("customer_state",),
            ("fact_sales", "dim_customer"), columns(
                ("customer_state", "str?", STATE),
                ("delivered_orders", "long", "orders delivered"),
                ("average_delivery_days", "double?", "mean days from purchase to delivery"),
                ("average_estimated_days", "double?", "mean days from purchase to the estimate"),
                ("on_time_orders", "long", "delivered by the estimated day"),
                ("late_orders", "long", "delivered after it"),
                ("late_share", "double?", "late / delivered, 0–1"),
                ("average_review_score", "double?", "mean latest review, 1–5"),
            ), unique=("customer_state",)),
        GoldTable("sales_weather_daily", "customer state × purchase day",
            ("date", "customer_state"), ("fact_sales", "dim_customer", "weather_daily"), columns(
                ("customer_state", "str?", STATE),
                ("date", "date", "purchase day"),
                ("date_key", "int", "yyyymmdd"),
                *SALES_TOTALS,
                ("capital", "str?", "the state's capital, where the weather was taken"),
                ("temperature_max", "double?", "°C"),
                ("temperature_min", "double?", "°C"),
                ("temperature_mean", "double?", "°C"),
                ("precipitation_sum", "double?", "mm"),
                ("weather_synthetic", "bool?", "true: the bundled synthetic weather sample"),
            ), unique=("customer_state", "date")),
    )
}  # fmt: skip
