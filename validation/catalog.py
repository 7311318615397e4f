"""The catalog of contracts: every name one stage writes and another reads, declared once.

Lake layers and their keys, silver dataset names, gold table names in write and publish
order, the star's keys and the status buckets. Standard library only, so the Spark job can
import it under spark-submit and every other stage (polars, Pandera, SQLAlchemy, Prefect) can
too without pulling in the others' dependencies.
"""

from __future__ import annotations

# -- the lake ---------------------------------------------------------------------------------
BRONZE, SILVER, GOLD, COLD, QUARANTINE = "bronze", "silver", "gold", "cold", "quarantine"
LAYERS = (BRONZE, SILVER, GOLD, COLD, QUARANTINE)

MANIFEST = "_manifest.json"  # beside the data it describes (bronze, silver, a gold version)
SILVER_FILE = "data.parquet"  # `silver/<dataset>/data.parquet`
QUARANTINE_FILE = "rows.parquet"  # `quarantine/<dataset>/run_id=<run_id>/rows.parquet`
GOLD_VERSIONS = "_versions"  # `gold/_versions/<run_id>/<table>/part-00000.parquet`
GOLD_POINTER = "_current.json"  # `gold/_current.json`: which version is current
GOLD_STAGING = "_staging"  # the Spark job's scratch directory under its gold root


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
