"""Pandera schemas for every silver dataset (typed frames, before masking), built from its
declaration (validation/catalog_silver.py: columns, dtypes, nullability, key).

The seed's gate stays (`order_id` not null, `price` between 0 and 10000) and grows: freight
not negative, the 8 order statuses, review scores 1-5, the 27 UFs, approval not before
purchase, unique keys. Schemas run on collected polars DataFrames: on a LazyFrame Pandera only
checks the schema, not the values.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from validation.catalog import OLIST_DATASETS, SOURCE_DATASETS
from validation.catalog_silver import SILVER_DECLARED

ORDER_STATUSES = (
    "delivered", "shipped", "canceled", "unavailable", "invoiced", "processing", "created",
    "approved",
)  # fmt: skip
PAYMENT_TYPES = ("credit_card", "boleto", "voucher", "debit_card", "not_defined")
UFS = (
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB",
    "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
)  # fmt: skip
MAX_PRICE = 10_000
ZIP_PATTERN = r"^\d{5}$"

# The parser's types (validation/catalog_silver.py) as polars dtypes.
DTYPES = {
    "str": pl.String, "zip": pl.String, "int": pl.Int32, "int8": pl.Int8, "long": pl.Int64,
    "money": pl.Float64, "float": pl.Float64, "date": pl.Date, "ts": pl.Datetime("us"),
    "ts_utc": pl.Datetime("us", "UTC"), "bool": pl.Boolean,
}  # fmt: skip
MONEY = pa.Check.ge(0)
UF = pa.Check.isin(UFS)
ZIP = pa.Check.str_matches(ZIP_PATTERN)
TEMPERATURE = pa.Check.in_range(-20, 55)


def _approval_not_before_purchase(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col("order_approved_at").is_null()
        | (pl.col("order_approved_at") >= pl.col("order_purchase_timestamp"))
    )


def _index_positive(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("index") > 0)


# Value checks by dataset and column, attached to the declared columns.
CHECKS: dict[str, dict[str, tuple[pa.Check, ...]]] = {
    "orders": {"order_status": (pa.Check.isin(ORDER_STATUSES),)},
    "order_items": {
        "order_item_id": (pa.Check.ge(1),),
        "price": (pa.Check.in_range(0, MAX_PRICE),),
        "freight_value": (MONEY,),
    },
    "payments": {
        "payment_sequential": (pa.Check.ge(1),),
        "payment_type": (pa.Check.isin(PAYMENT_TYPES),),
        "payment_installments": (pa.Check.in_range(0, 24),),
        "payment_value": (MONEY,),
    },
    "customers": {"customer_zip_code_prefix": (ZIP,), "customer_state": (UF,)},
    "products": {
        column: (pa.Check.ge(0),)
        for column in ("product_name_length", "product_description_length", "product_photos_qty",
                       "product_weight_g", "product_length_cm", "product_height_cm",
                       "product_width_cm")
    },
    "sellers": {"seller_zip_code_prefix": (ZIP,), "seller_state": (UF,)},
    "reviews": {"review_score": (pa.Check.in_range(1, 5),)},
    "geolocation": {
        "geolocation_zip_code_prefix": (ZIP,),
        "geolocation_lat": (pa.Check.in_range(-34.0, 5.5),),
        "geolocation_lng": (pa.Check.in_range(-74.0, -28.0),),
        "geolocation_state": (UF,),
    },
    # Brazil's worst month since the Real plan was +3.02% (Nov 2002); -2/+5 flags garbage.
    "ipca_monthly": {"pct_change": (pa.Check.in_range(-2.0, 5.0),)},
    "weather_daily": {
        "state": (UF,),
        **{f"temperature_{c}": (TEMPERATURE,) for c in ("max", "min", "mean")},
        "precipitation_sum": (pa.Check.ge(0),),
    },
    "weather_snapshots": {
        "temperature": (TEMPERATURE,),
        "humidity": (pa.Check.in_range(0, 100),),
        "pressure": (pa.Check.in_range(850, 1100),),
        "wind_speed": (pa.Check.ge(0),),
    },
}  # fmt: skip
# Checks across a row's columns.
ROW_CHECKS = {
    "orders": [pa.Check(_approval_not_before_purchase, name="approval_not_before_purchase")],
    "ipca_monthly": [pa.Check(_index_positive, name="index_positive")],
}


def silver_schema(dataset: str) -> pa.DataFrameSchema:
    """The Pandera schema of a silver dataset: its declared columns (dtype, nullability) with
    their checks; a one-column key is unique, a longer one unique together."""
    declared = SILVER_DECLARED[dataset]
    single = declared.key[0] if len(declared.key) == 1 else None
    checks = CHECKS.get(dataset, {})
    columns = {
        c.name: pa.Column(
            DTYPES[c.type], list(checks.get(c.name, ())), nullable=c.nullable,
            unique=c.name == single,
        )
        for c in declared.columns
    }  # fmt: skip
    return pa.DataFrameSchema(
        columns,
        checks=ROW_CHECKS.get(dataset),
        unique=list(declared.key) if single is None else None,
        strict=True,
        name=dataset,
    )


OLIST_SCHEMAS: dict[str, pa.DataFrameSchema] = {d: silver_schema(d) for d in OLIST_DATASETS}
SOURCE_SCHEMAS: dict[str, pa.DataFrameSchema] = {d: silver_schema(d) for d in SOURCE_DATASETS}
