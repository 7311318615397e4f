"""The catalog of contracts: every name one stage writes and another reads, declared once.

Lake layers and their keys, silver dataset names, gold table names in write and publish
order, the star's keys and the status buckets. Standard library only, so the Spark job can
import it under spark-submit and every other stage (polars, Pandera, SQLAlchemy, Prefect) can
too without pulling in the others' dependencies.
"""

from __future__ import annotations

from enum import StrEnum


# -- the lake ---------------------------------------------------------------------------------
class Layer(StrEnum):
    """A root of the lake: the five data layers, and the audit trail's mirror beside them.

    A member is its name (`Layer.GOLD == "gold"`), so a layer read from JSON or a setting
    compares equal; `Lake` refuses any other name."""

    BRONZE = "bronze"
    SILVER = "silver"
    GOLD = "gold"
    COLD = "cold"
    QUARANTINE = "quarantine"
    AUDIT = "audit"  # the audit trail's lake mirror (blocks/audit/mirror.py), not data


BRONZE, SILVER, GOLD, COLD, QUARANTINE = (
    Layer.BRONZE, Layer.SILVER, Layer.GOLD, Layer.COLD, Layer.QUARANTINE,
)  # fmt: skip
# The data layers: one bucket each under COFRE_LAKE_BUCKETS (the audit mirror's is optional).
LAYERS = (BRONZE, SILVER, GOLD, COLD, QUARANTINE)
IMMUTABLE_LAYERS = frozenset({Layer.BRONZE})  # an existing key is never rewritten

MANIFEST = "_manifest.json"  # beside the data it describes (bronze, silver, a gold version)
SILVER_FILE = "data.parquet"  # `silver/<dataset>/data.parquet`
QUARANTINE_FILE = "rows.parquet"  # `quarantine/<dataset>/run_id=<run_id>/rows.parquet`
GOLD_VERSIONS = "_versions"  # `gold/_versions/<run_id>/<table>/part-00000.parquet`
GOLD_POINTER = "_current.json"  # `gold/_current.json`: which version is current
GOLD_STAGING = "_staging"  # the Spark job's scratch directory under its gold root
RUNS_PREFIX = "_runs"  # `gold/_runs/<run_id>.json`: each run's summary (and its audit head)


def silver_key(dataset: str) -> str:
    """The silver-layer key of a dataset's data (`<dataset>/data.parquet`)."""
    return f"{dataset}/{SILVER_FILE}"


def silver_manifest_key(dataset: str) -> str:
    """The silver-layer key of a dataset's manifest (`<dataset>/_manifest.json`)."""
    return f"{dataset}/{MANIFEST}"


def quarantine_key(dataset: str, run_id: str) -> str:
    """The quarantine-layer key of the rows one run set aside for a dataset."""
    return f"{dataset}/run_id={run_id}/{QUARANTINE_FILE}"


# -- silver -----------------------------------------------------------------------------------
# One per Olist CSV, typed and masked.
OLIST_DATASETS = (
    "orders", "order_items", "payments", "customers", "products", "sellers", "reviews",
    "geolocation", "category_translation",
)  # fmt: skip
SALES_CONSOLIDATED = "sales_consolidated"  # order-item grain, payments allocated in cents
SOURCE_DATASETS = ("ipca_monthly", "weather_daily", "weather_snapshots")  # external sources
SILVER_DATASETS = (*OLIST_DATASETS, SALES_CONSOLIDATED, *SOURCE_DATASETS)

# Silver datasets another stage may not have built yet: gold degrades instead of failing.
GOLD_OPTIONAL_INPUTS = ("ipca_monthly", "weather_daily")
# Everything the gold job reads (category_translation only if products lack the English name).
GOLD_INPUTS = (
    "orders", "order_items", "payments", "reviews", "customers", "products", "sellers",
    "category_translation", SALES_CONSOLIDATED, *GOLD_OPTIONAL_INPUTS,
)  # fmt: skip
# What the gold gate reconciles gold against.
RECONCILED_INPUTS = ("orders", "order_items", "payments")

# -- gold -------------------------------------------------------------------------------------
# Every gold table, in write and publish order, with the columns its rows are sorted by
# (nulls last) so a table's bytes do not depend on how Spark partitioned the work.
GOLD_WRITE_ORDER: dict[str, tuple[str, ...]] = {
    "dim_date": ("date_key",),
    "dim_customer": ("customer_key",),
    "dim_product": ("product_key",),
    "dim_seller": ("seller_key",),
    "fact_sales": ("order_id", "order_item_id"),
    "fact_orders": ("order_id",),
    "sales_monthly": ("month",),
    "sales_by_state": ("customer_state",),
    "customers_by_state": ("customer_state",),
    "sales_by_category": ("revenue_rank",),
    "order_status_summary": ("panel_order", "bucket"),
    "payment_type_summary": ("payment_type",),
    "delivery_performance": ("customer_state",),
    "sales_weather_daily": ("date", "customer_state"),
}
GOLD_TABLES = tuple(GOLD_WRITE_ORDER)

# Every gold table's columns, in order, with their type: str, int (32-bit), long (64-bit),
# double, date, ts (timestamp, microseconds, naive Brazil local time) or bool; a trailing `?`
# marks a nullable column. Each gold Parquet file carries exactly these types and this
# nullability, whichever engine wrote it (spark/gold_write.py); the warehouse's tables have
# these columns (tasks/warehouse/schema.py) and the Pandera schemas agree (a test checks).
GOLD_COLUMNS: dict[str, dict[str, str]] = {
    "dim_date": {"date_key": "int", "date": "date", "year": "int", "quarter": "int",
                 "month": "int", "day": "int", "month_start": "date", "day_of_week": "int",
                 "weekday_name": "str", "month_name": "str", "is_weekend": "bool",
                 "ipca_pct_change": "double?", "ipca_index": "double?"},
    "dim_customer": {"customer_key": "str", "customer_unique_key": "str",
                     "customer_zip_code_prefix": "str", "customer_city": "str?",
                     "customer_state": "str?"},
    "dim_product": {"product_key": "str", "product_category_name": "str?",
                    "product_category_name_english": "str?", "category_label": "str",
                    "product_photos_qty": "int?", "product_weight_g": "double?",
                    "product_length_cm": "double?", "product_height_cm": "double?",
                    "product_width_cm": "double?", "product_volume_cm3": "double?"},
    "dim_seller": {"seller_key": "str", "seller_zip_code_prefix": "str",
                   "seller_state": "str?"},
    "fact_sales": {"order_id": "str", "order_item_id": "int", "date_key": "int",
                   "customer_key": "str", "product_key": "str", "seller_key": "str",
                   "order_status": "str", "payment_type": "str?", "price": "double",
                   "freight_value": "double", "allocated_payment": "double",
                   "order_purchase_timestamp": "ts", "order_approved_at": "ts?",
                   "order_delivered_carrier_date": "ts?",
                   "order_delivered_customer_date": "ts?",
                   "order_estimated_delivery_date": "ts?", "delivery_days": "int?",
                   "is_late": "bool?", "review_score": "int?"},
    "fact_orders": {"order_id": "str", "date_key": "int", "customer_key": "str",
                    "order_status": "str", "status_bucket": "str", "payment_type": "str?",
                    "items": "int", "items_value": "double", "paid_value": "double",
                    "review_score": "int?", "delivery_days": "int?", "is_late": "bool?",
                    "order_purchase_timestamp": "ts"},
    "sales_monthly": {"month": "date", "orders": "long", "items": "long",
                      "price_total": "double", "freight_total": "double", "revenue": "double",
                      "ipca_pct_change": "double?", "ipca_index": "double?",
                      "reference_month": "date?", "revenue_deflated": "double?"},
    "sales_by_state": {"customer_state": "str?", "orders": "long", "items": "long",
                       "price_total": "double", "freight_total": "double",
                       "revenue": "double", "customers": "long", "average_ticket": "double"},
    "customers_by_state": {"customer_state": "str?", "customer_ids": "long",
                           "customers": "long", "buying_customers": "long"},
    "sales_by_category": {"product_category_name": "str?",
                          "product_category_name_english": "str?", "category_label": "str",
                          "orders": "long", "items": "long", "price_total": "double",
                          "freight_total": "double", "revenue": "double",
                          "revenue_rank": "int"},
    "order_status_summary": {"panel_order": "int", "bucket": "str", "label": "str",
                             "statuses": "str", "orders": "long", "value": "double"},
    "payment_type_summary": {"payment_type": "str", "payments": "long", "orders": "long",
                             "value": "double", "average_installments": "double",
                             "value_share": "double?", "fulfilled_orders": "long",
                             "fulfilled_value": "double"},
    "delivery_performance": {"customer_state": "str?", "delivered_orders": "long",
                             "average_delivery_days": "double?",
                             "average_estimated_days": "double?", "on_time_orders": "long",
                             "late_orders": "long", "late_share": "double?",
                             "average_review_score": "double?"},
    "sales_weather_daily": {"customer_state": "str?", "date": "date", "date_key": "int",
                            "orders": "long", "items": "long", "price_total": "double",
                            "freight_total": "double", "revenue": "double",
                            "capital": "str?", "temperature_max": "double?",
                            "temperature_min": "double?", "temperature_mean": "double?",
                            "precipitation_sum": "double?", "weather_synthetic": "bool?"},
}  # fmt: skip


def gold_columns(table: str) -> dict[str, tuple[str, bool]]:
    """{column: (type, nullable)} of a gold table, in order."""
    return {c: (t.rstrip("?"), t.endswith("?")) for c, t in GOLD_COLUMNS[table].items()}


# The star: (fact, key, dimension); the dimension's key column has the same name.
GOLD_STAR = (
    ("fact_sales", "date_key", "dim_date"),
    ("fact_sales", "customer_key", "dim_customer"),
    ("fact_sales", "product_key", "dim_product"),
    ("fact_sales", "seller_key", "dim_seller"),
    ("fact_orders", "date_key", "dim_date"),
    ("fact_orders", "customer_key", "dim_customer"),
)

# `order_status_summary.bucket` and `fact_orders.status_bucket`, in the dashboard's panel
# order: the total first, then the three buckets every order status belongs to one of.
ORDER_BUCKETS = ("total", "fulfilled", "awaiting_release", "lost")


# -- names several packages share -------------------------------------------------------------
# The warehouse's schema on PostgreSQL (SQLite has none: the engine maps it away).
WAREHOUSE_SCHEMA = "dw"

# Each order bucket's label, in ORDER_BUCKETS' order: the Portuguese ones are the values of
# gold's `order_status_summary.label` and the dashboard's panels; the English ones the
# dashboard's in English.
ORDER_BUCKET_LABELS: dict[str, dict[str, str]] = {
    "pt": {"total": "Total Pedidos", "fulfilled": "Vendas Concretizadas",
           "awaiting_release": "Aguardando Liberação", "lost": "Vendas Perdidas"},
    "en": {"total": "Total orders", "fulfilled": "Fulfilled sales",
           "awaiting_release": "Awaiting release", "lost": "Lost sales"},
}  # fmt: skip
