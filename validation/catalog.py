"""The catalog of contracts: every name one stage writes and another reads, declared once.

Lake layers and their keys, silver dataset names, gold table names in write and publish
order, the star's keys and the status buckets. Standard library only, so the Spark job can
import it under spark-submit and every other stage (polars, Pandera, SQLAlchemy, Prefect) can
too without pulling in the others' dependencies.
"""

from __future__ import annotations

from enum import StrEnum

from validation.catalog_gold import GOLD_DECLARED  # standard library only, like this module


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
# One per Olist CSV, typed and masked: silver dataset -> the Kaggle file it is built from.
# Bronze keeps each file under its own stem: silver's `payments` and `reviews` are bronze's
# `order_payments` and `order_reviews` (tasks/sources/olist/contract.py holds the columns).
OLIST_SOURCE_FILES: dict[str, str] = {
    "orders": "olist_orders_dataset.csv",
    "order_items": "olist_order_items_dataset.csv",
    "payments": "olist_order_payments_dataset.csv",
    "customers": "olist_customers_dataset.csv",
    "products": "olist_products_dataset.csv",
    "sellers": "olist_sellers_dataset.csv",
    "reviews": "olist_order_reviews_dataset.csv",
    "geolocation": "olist_geolocation_dataset.csv",
    "category_translation": "product_category_name_translation.csv",
}
OLIST_DATASETS = tuple(OLIST_SOURCE_FILES)
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

# -- gold (declared in validation/catalog_gold.py) ------------------------------------------
# Each table's grain, keys, write order, inputs and columns (type, nullability, meaning) are
# declared once in `catalog_gold.GOLD_DECLARED`; these are the views other stages read.

# Every gold table, in write and publish order, with the columns its rows are sorted by
# (nulls last) so a table's bytes do not depend on how Spark partitioned the work.
GOLD_WRITE_ORDER: dict[str, tuple[str, ...]] = {name: t.sort for name, t in GOLD_DECLARED.items()}
GOLD_TABLES = tuple(GOLD_WRITE_ORDER)

# Every gold table's columns, in order, with their type (str, int, long, double, date, ts,
# bool; see catalog_gold) and a trailing `?` on a nullable column. Each gold Parquet file
# carries exactly these types and this nullability, whichever engine wrote it
# (spark/gold_write.py); the warehouse's tables (tasks/warehouse/schema.py) and the gold
# Pandera schemas (validation/gold_schemas.py) are built from the same declaration.
GOLD_COLUMNS: dict[str, dict[str, str]] = {
    name: {c.name: c.type + ("?" if c.nullable else "") for c in t.columns}
    for name, t in GOLD_DECLARED.items()
}


def gold_columns(table: str) -> dict[str, tuple[str, bool]]:
    """{column: (type, nullable)} of a gold table, in order."""
    return {c.name: (c.type, c.nullable) for c in GOLD_DECLARED[table].columns}


# Each gold table's (primary key, unique key): a row's identity; a key column that may be
# null (a masked state) makes a unique key instead of a primary key.
GOLD_KEYS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    name: (t.primary_key, t.unique) for name, t in GOLD_DECLARED.items()
}

# The star: (fact, key, dimension); the dimension's key column has the same name.
GOLD_STAR = tuple(
    (name, column, dimension)
    for name, table in GOLD_DECLARED.items()
    for column, dimension in table.references.items()
)

# The order gold builds and writes its tables, and the early warehouse load inserts them
# (tasks/warehouse/early.py): the facts first, then every other table in declared order. The
# facts read silver alone, and they are the load's longest inserts: begun first, they run
# while the dimensions and marts are built, not after gold (docs/performance.md). A table
# comes after each gold table it reads.
GOLD_BUILD_ORDER = tuple(
    sorted(GOLD_TABLES, key=lambda name: name not in {fact for fact, _, _ in GOLD_STAR})
)
assert all(
    GOLD_BUILD_ORDER.index(read) < GOLD_BUILD_ORDER.index(name)
    for name, table in GOLD_DECLARED.items()
    for read in table.reads
    if read in GOLD_DECLARED
), "a gold table is built before a gold table it reads"

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
