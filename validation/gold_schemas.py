"""Pandera schemas of every gold table, built from its declaration, and their failures as
readable lines.

Strict and ordered: a gold table has exactly the columns `validation/catalog_gold.py`
declares, in that order, with those types and that nullability; a single-column primary key
is unique, a composite or unique key unique together (`GOLD_KEYS`). What only Pandera checks
(ranges, vocabularies, patterns, uniqueness beyond the key) is attached here, by column.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl
from pandera.errors import SchemaError, SchemaErrors

from validation.catalog import GOLD_KEYS, GOLD_TABLES, ORDER_BUCKETS, gold_columns
from validation.schemas import MAX_PRICE, ORDER_STATUSES, PAYMENT_TYPES, UFS
from validation.unique import validate

WEEKDAYS = (
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado",
    "domingo",
)  # fmt: skip
ZIP_PREFIX = r"^\d{3,5}$"  # 3 digits under the default masking policy, 5 under `seed`
DTYPES = {
    "str": pl.String, "int": pl.Int32, "long": pl.Int64, "double": pl.Float64, "date": pl.Date,
    "ts": pl.Datetime("us"), "bool": pl.Boolean,
}  # fmt: skip

NON_NEGATIVE = pa.Check.ge(0)
STATE = pa.Check.isin(UFS)  # a null state is one silver masked (declared nullable)
SHARE = pa.Check.in_range(0, 1)
SCORE = pa.Check.in_range(1, 5)
STATUS = pa.Check.isin(ORDER_STATUSES)
PAYMENT = pa.Check.isin(PAYMENT_TYPES)
ZIP = pa.Check.str_matches(ZIP_PREFIX)
SALES_TOTALS = ("price_total", "freight_total", "revenue")  # orders, items: counts (below)

# Value checks by table and column. Besides these, every `long` column is a count (>= 0).
CHECKS: dict[str, dict[str, tuple[pa.Check, ...]]] = {
    "dim_date": {
        "quarter": (pa.Check.in_range(1, 4),),
        "month": (pa.Check.in_range(1, 12),),
        "day": (pa.Check.in_range(1, 31),),
        "day_of_week": (pa.Check.in_range(1, 7),),
        "weekday_name": (pa.Check.isin(WEEKDAYS),),
        "ipca_index": (pa.Check.gt(0),),
    },
    "dim_customer": {"customer_zip_code_prefix": (ZIP,), "customer_state": (STATE,)},
    "dim_product": {
        column: (NON_NEGATIVE,)
        for column in ("product_photos_qty", "product_weight_g", "product_length_cm",
                       "product_height_cm", "product_width_cm", "product_volume_cm3")
    },
    "dim_seller": {"seller_zip_code_prefix": (ZIP,), "seller_state": (STATE,)},
    "fact_sales": {
        "order_item_id": (pa.Check.ge(1),),
        "order_status": (STATUS,),
        "payment_type": (PAYMENT,),
        "price": (pa.Check.in_range(0, MAX_PRICE),),
        "freight_value": (NON_NEGATIVE,),
        "allocated_payment": (NON_NEGATIVE,),
        "review_score": (SCORE,),
    },
    "fact_orders": {
        "order_status": (STATUS,),
        "status_bucket": (pa.Check.isin(ORDER_BUCKETS[1:]),),
        "payment_type": (PAYMENT,),
        "items": (NON_NEGATIVE,),
        "items_value": (NON_NEGATIVE,),
        "paid_value": (NON_NEGATIVE,),
        "review_score": (SCORE,),
    },
    "sales_monthly": {
        **{column: (NON_NEGATIVE,) for column in SALES_TOTALS},
        "ipca_index": (pa.Check.gt(0),),
        "revenue_deflated": (NON_NEGATIVE,),
    },
    "sales_by_state": {
        "customer_state": (STATE,),
        **{column: (NON_NEGATIVE,) for column in (*SALES_TOTALS, "average_ticket")},
    },
    "customers_by_state": {"customer_state": (STATE,)},
    "sales_by_category": {
        **{column: (NON_NEGATIVE,) for column in SALES_TOTALS},
        "revenue_rank": (pa.Check.ge(1),),
    },
    "order_status_summary": {"bucket": (pa.Check.isin(ORDER_BUCKETS),), "value": (NON_NEGATIVE,)},
    "payment_type_summary": {
        "payment_type": (PAYMENT,),
        **{c: (NON_NEGATIVE,) for c in ("value", "average_installments", "fulfilled_value")},
        "value_share": (SHARE,),
    },
    "delivery_performance": {
        "customer_state": (STATE,),
        "late_share": (SHARE,),
        "average_review_score": (SCORE,),
    },
    "sales_weather_daily": {
        "customer_state": (STATE,),
        **{column: (NON_NEGATIVE,) for column in (*SALES_TOTALS, "precipitation_sum")},
    },
}  # fmt: skip
# Columns unique although they are not the table's key.
ALSO_UNIQUE = {
    "dim_date": ("date",),
    "sales_by_category": ("revenue_rank",),
    "order_status_summary": ("panel_order",),
}


def gold_schema(table: str) -> pa.DataFrameSchema:
    """The Pandera schema of a gold table: its declared columns with their checks."""
    primary_key, unique_key = GOLD_KEYS[table]
    unique_columns = set(ALSO_UNIQUE.get(table, ()))
    if len(primary_key) == 1:
        unique_columns.add(primary_key[0])
    together = list(primary_key) if len(primary_key) > 1 else list(unique_key) or None
    checks = CHECKS.get(table, {})
    columns = {
        name: pa.Column(
            DTYPES[kind],
            [*((NON_NEGATIVE,) if kind == "long" else ()), *checks.get(name, ())],
            nullable=nullable,
            unique=name in unique_columns,
        )
        for name, (kind, nullable) in gold_columns(table).items()
    }
    return pa.DataFrameSchema(columns, strict=True, ordered=True, name=table, unique=together)


GOLD_SCHEMAS: dict[str, pa.DataFrameSchema] = {table: gold_schema(table) for table in GOLD_TABLES}


def schema_problems(name: str, frame: pl.DataFrame) -> list[str]:
    """Every Pandera failure of one gold table, one line per (check, column)."""
    try:
        validate(GOLD_SCHEMAS[name], frame)
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
