"""Every gold table's one definition: a SQL model (Spark SQL) per table, in `GOLD_TABLES` order.

A model reads silver datasets and earlier gold tables by name (`orders`, `fact_sales`, ...);
the engine (spark/engine.py) runs it as written on Apache Spark, or translated by sqlglot on
DuckDB. `silver_view` adapts what silver holds to the one shape the models read, and
`category_labels` is the one table computed in Python (spark/labels.py), registered on either
engine before the models run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from spark.labels import category_label
from spark.models import dimensions, facts, marts
from validation.catalog import GOLD_TABLES

MODELS: dict[str, Callable[[], str]] = {
    "dim_date": dimensions.dim_date,
    "dim_customer": dimensions.dim_customer,
    "dim_product": dimensions.dim_product,
    "dim_seller": dimensions.dim_seller,
    "fact_sales": facts.fact_sales,
    "fact_orders": facts.fact_orders,
    "sales_monthly": marts.sales_monthly,
    "sales_by_state": marts.sales_by_state,
    "customers_by_state": marts.customers_by_state,
    "sales_by_category": marts.sales_by_category,
    "order_status_summary": marts.order_status_summary,
    "payment_type_summary": marts.payment_type_summary,
    "delivery_performance": marts.delivery_performance,
    "sales_weather_daily": marts.sales_weather_daily,
}
assert tuple(MODELS) == GOLD_TABLES

# What an absent optional dataset reads as: no rows, the columns the models use, typed.
EMPTY_OPTIONAL = {
    "ipca_monthly": "CAST(NULL AS DATE) AS month, CAST(NULL AS DOUBLE) AS pct_change, "
    "CAST(NULL AS DOUBLE) AS index",
    "weather_daily": "CAST(NULL AS STRING) AS state, CAST(NULL AS STRING) AS capital, "
    "CAST(NULL AS DATE) AS date, CAST(NULL AS DOUBLE) AS temperature_max, "
    "CAST(NULL AS DOUBLE) AS temperature_min, CAST(NULL AS DOUBLE) AS temperature_mean, "
    "CAST(NULL AS DOUBLE) AS precipitation_sum, CAST(NULL AS BOOLEAN) AS synthetic",
}
RAW = "silver_"  # the raw dataset `orders` is registered as `silver_orders`


def silver_view(name: str, columns: Iterable[str] | None) -> str:
    """The view gold reads as `name`, over the raw dataset `silver_<name>` (columns: what it
    holds; None: absent). Products always carry the English category name (joined from
    `category_translation` when silver did not); weather always carries `synthetic`."""
    if columns is None:
        return f"SELECT {EMPTY_OPTIONAL[name]} WHERE 1 = 0"
    columns = set(columns)
    if name == "products" and "product_category_name_english" not in columns:
        return (
            f"SELECT p.*, t.product_category_name_english FROM {RAW}products p "
            f"LEFT JOIN {RAW}category_translation t "
            "ON p.product_category_name = t.product_category_name"
        )
    if name == "weather_daily" and "synthetic" not in columns:
        return f"SELECT *, CAST(NULL AS BOOLEAN) AS synthetic FROM {RAW}weather_daily"
    return f"SELECT * FROM {RAW}{name}"


DISTINCT_CATEGORIES = (
    "SELECT DISTINCT product_category_name FROM products WHERE product_category_name IS NOT NULL"
)


def category_labels(categories: Iterable[str]) -> dict[str, list[str]]:
    """The `category_labels` table (product_category_name, category_label) as columns."""
    names = sorted(categories)
    return {"product_category_name": names, "category_label": [category_label(n) for n in names]}
