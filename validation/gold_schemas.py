"""Pandera schemas of every gold table, and their failures as readable lines.

Strict and ordered: a gold table has exactly these columns, in this order, with these types
(`tasks/warehouse/schema.py` declares the same columns for the warehouse; a test checks the
two agree).
"""

from __future__ import annotations

from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from validation.catalog import ORDER_BUCKETS
from validation.schemas import MAX_PRICE, ORDER_STATUSES, PAYMENT_TYPES, UFS

WEEKDAYS = (
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado",
    "domingo",
)  # fmt: skip
ZIP_PREFIX = r"^\d{3,5}$"  # 3 digits under the default masking policy, 5 under `seed`

KEY = pa.Column(pl.String, nullable=False)
COUNT = pa.Column(pl.Int64, pa.Check.ge(0), nullable=False)
BRL = pa.Column(pl.Float64, pa.Check.ge(0), nullable=False)
STATE = pa.Column(pl.String, pa.Check.isin(UFS), nullable=True)  # null: masked in silver
SHARE = pa.Column(pl.Float64, pa.Check.in_range(0, 1), nullable=True)
TS = pa.Column(pl.Datetime("us"), nullable=True)
SALES_TOTALS = {
    "orders": COUNT,
    "items": COUNT,
    "price_total": BRL,
    "freight_total": BRL,
    "revenue": BRL,
}


def _schema(name: str, columns: dict[str, pa.Column], **options: Any) -> pa.DataFrameSchema:
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=name, **options)


GOLD_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "dim_date": _schema("dim_date", {
        "date_key": pa.Column(pl.Int32, unique=True),
        "date": pa.Column(pl.Date, unique=True),
        "year": pa.Column(pl.Int32),
        "quarter": pa.Column(pl.Int32, pa.Check.in_range(1, 4)),
        "month": pa.Column(pl.Int32, pa.Check.in_range(1, 12)),
        "day": pa.Column(pl.Int32, pa.Check.in_range(1, 31)),
        "month_start": pa.Column(pl.Date),
        "day_of_week": pa.Column(pl.Int32, pa.Check.in_range(1, 7)),
        "weekday_name": pa.Column(pl.String, pa.Check.isin(WEEKDAYS)),
        "month_name": pa.Column(pl.String),
        "is_weekend": pa.Column(pl.Boolean),
        "ipca_pct_change": pa.Column(pl.Float64, nullable=True),
        "ipca_index": pa.Column(pl.Float64, pa.Check.gt(0), nullable=True),
    }),
    "dim_customer": _schema("dim_customer", {
        "customer_key": pa.Column(pl.String, unique=True),
        "customer_unique_key": KEY,
        "customer_zip_code_prefix": pa.Column(pl.String, pa.Check.str_matches(ZIP_PREFIX)),
        "customer_city": pa.Column(pl.String, nullable=True),
        "customer_state": STATE,
    }),
    "dim_product": _schema("dim_product", {
        "product_key": pa.Column(pl.String, unique=True),
        "product_category_name": pa.Column(pl.String, nullable=True),
        "product_category_name_english": pa.Column(pl.String, nullable=True),
        "category_label": KEY,
        "product_photos_qty": pa.Column(pl.Int32, pa.Check.ge(0), nullable=True),
        **{
            column: pa.Column(pl.Float64, pa.Check.ge(0), nullable=True)
            for column in ("product_weight_g", "product_length_cm", "product_height_cm",
                           "product_width_cm", "product_volume_cm3")
        },
    }),
    "dim_seller": _schema("dim_seller", {
        "seller_key": pa.Column(pl.String, unique=True),
        "seller_zip_code_prefix": pa.Column(pl.String, pa.Check.str_matches(ZIP_PREFIX)),
        "seller_state": STATE,
    }),
    "fact_sales": _schema("fact_sales", {
        "order_id": KEY,
        "order_item_id": pa.Column(pl.Int32, pa.Check.ge(1)),
        "date_key": pa.Column(pl.Int32),
        "customer_key": KEY,
        "product_key": KEY,
        "seller_key": KEY,
        "order_status": pa.Column(pl.String, pa.Check.isin(ORDER_STATUSES)),
        "payment_type": pa.Column(pl.String, pa.Check.isin(PAYMENT_TYPES), nullable=True),
        "price": pa.Column(pl.Float64, pa.Check.in_range(0, MAX_PRICE)),
        "freight_value": BRL,
        "allocated_payment": BRL,
        "order_purchase_timestamp": pa.Column(pl.Datetime("us")),
        "order_approved_at": TS,
        "order_delivered_carrier_date": TS,
        "order_delivered_customer_date": TS,
        "order_estimated_delivery_date": TS,
        "delivery_days": pa.Column(pl.Int32, nullable=True),
        "is_late": pa.Column(pl.Boolean, nullable=True),
        "review_score": pa.Column(pl.Int32, pa.Check.in_range(1, 5), nullable=True),
    }, unique=["order_id", "order_item_id"]),
    "fact_orders": _schema("fact_orders", {
        "order_id": pa.Column(pl.String, unique=True),
        "date_key": pa.Column(pl.Int32),
        "customer_key": KEY,
        "order_status": pa.Column(pl.String, pa.Check.isin(ORDER_STATUSES)),
        "status_bucket": pa.Column(pl.String, pa.Check.isin(ORDER_BUCKETS[1:])),
        "payment_type": pa.Column(pl.String, pa.Check.isin(PAYMENT_TYPES), nullable=True),
        "items": pa.Column(pl.Int32, pa.Check.ge(0)),
        "items_value": BRL,
        "paid_value": BRL,
        "review_score": pa.Column(pl.Int32, pa.Check.in_range(1, 5), nullable=True),
        "delivery_days": pa.Column(pl.Int32, nullable=True),
        "is_late": pa.Column(pl.Boolean, nullable=True),
        "order_purchase_timestamp": pa.Column(pl.Datetime("us")),
    }),
    "sales_monthly": _schema("sales_monthly", {
        "month": pa.Column(pl.Date, unique=True),
        **SALES_TOTALS,
        "ipca_pct_change": pa.Column(pl.Float64, nullable=True),
        "ipca_index": pa.Column(pl.Float64, pa.Check.gt(0), nullable=True),
        "reference_month": pa.Column(pl.Date, nullable=True),
        "revenue_deflated": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
    }),
    "sales_by_state": _schema("sales_by_state", {
        "customer_state": STATE,
        **SALES_TOTALS,
        "customers": COUNT,
        "average_ticket": BRL,
    }, unique=["customer_state"]),
    "customers_by_state": _schema("customers_by_state", {
        "customer_state": STATE,
        "customer_ids": COUNT,
        "customers": COUNT,
        "buying_customers": COUNT,
    }, unique=["customer_state"]),
    "sales_by_category": _schema("sales_by_category", {
        "product_category_name": pa.Column(pl.String, nullable=True),
        "product_category_name_english": pa.Column(pl.String, nullable=True),
        "category_label": KEY,
        **SALES_TOTALS,
        "revenue_rank": pa.Column(pl.Int32, pa.Check.ge(1), unique=True),
    }, unique=["product_category_name"]),
    "order_status_summary": _schema("order_status_summary", {
        "panel_order": pa.Column(pl.Int32, unique=True),
        "bucket": pa.Column(pl.String, pa.Check.isin(ORDER_BUCKETS), unique=True),
        "label": KEY,
        "statuses": pa.Column(pl.String),
        "orders": COUNT,
        "value": BRL,
    }),
    "payment_type_summary": _schema("payment_type_summary", {
        "payment_type": pa.Column(pl.String, pa.Check.isin(PAYMENT_TYPES), unique=True),
        "payments": COUNT,
        "orders": COUNT,
        "value": BRL,
        "average_installments": pa.Column(pl.Float64, pa.Check.ge(0)),
        "value_share": SHARE,
        "fulfilled_orders": COUNT,
        "fulfilled_value": BRL,
    }),
    "delivery_performance": _schema("delivery_performance", {
        "customer_state": STATE,
        "delivered_orders": COUNT,
        "average_delivery_days": pa.Column(pl.Float64, nullable=True),
        "average_estimated_days": pa.Column(pl.Float64, nullable=True),
        "on_time_orders": COUNT,
        "late_orders": COUNT,
        "late_share": SHARE,
        "average_review_score": pa.Column(pl.Float64, pa.Check.in_range(1, 5), nullable=True),
    }, unique=["customer_state"]),
    "sales_weather_daily": _schema("sales_weather_daily", {
        "customer_state": STATE,
        "date": pa.Column(pl.Date),
        "date_key": pa.Column(pl.Int32),
        **SALES_TOTALS,
        "capital": pa.Column(pl.String, nullable=True),
        "temperature_max": pa.Column(pl.Float64, nullable=True),
        "temperature_min": pa.Column(pl.Float64, nullable=True),
        "temperature_mean": pa.Column(pl.Float64, nullable=True),
        "precipitation_sum": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "weather_synthetic": pa.Column(pl.Boolean, nullable=True),
    }, unique=["customer_state", "date"]),
}  # fmt: skip


def schema_problems(name: str, frame: pl.DataFrame) -> list[str]:
    """Every Pandera failure of one gold table, one line per (check, column)."""
    try:
        GOLD_SCHEMAS[name].validate(frame, lazy=True)
        return []
    except SchemaErrors as errors:
        cases = errors.failure_cases
    except SchemaError as error:
        return [f"{name}: {error}"]
    grouped = (
        cases.with_columns(pl.col("failure_case").cast(pl.String).str.slice(0, 80))
        .group_by("check", "column", maintain_order=True)
        .agg(pl.len().alias("n"), pl.col("failure_case").unique(maintain_order=True).head(3))
    )
    return [
        f"{name}: check {_short(check)} failed on {column} ({n} case(s), e.g. {examples})"
        for check, column, n, examples in grouped.iter_rows()
    ]


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
