"""Pandera schemas for every silver dataset (typed frames, before masking).

The seed's gate stays (`order_id` not null, `price` between 0 and 10000) and grows: freight
not negative, the 8 order statuses, review scores 1-5, the 27 UFs, approval not before
purchase, unique keys. Schemas run on collected polars DataFrames: on a LazyFrame Pandera only
checks the schema, not the values.
"""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

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

ID = pa.Column(pl.String, nullable=False)
TS = pa.Column(pl.Datetime("us"), nullable=True)
MONEY = pa.Column(pl.Float64, pa.Check.ge(0), nullable=False)


def _approval_not_before_purchase(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(
        pl.col("order_approved_at").is_null()
        | (pl.col("order_approved_at") >= pl.col("order_purchase_timestamp"))
    )


ORDERS = pa.DataFrameSchema(
    {
        "order_id": pa.Column(pl.String, nullable=False, unique=True),
        "customer_id": ID,
        "order_status": pa.Column(pl.String, pa.Check.isin(ORDER_STATUSES)),
        "order_purchase_timestamp": pa.Column(pl.Datetime("us"), nullable=False),
        "order_approved_at": TS,
        "order_delivered_carrier_date": TS,
        "order_delivered_customer_date": TS,
        "order_estimated_delivery_date": TS,
    },
    checks=[pa.Check(_approval_not_before_purchase, name="approval_not_before_purchase")],
    strict=True,
    name="orders",
)

ORDER_ITEMS = pa.DataFrameSchema(
    {
        "order_id": ID,
        "order_item_id": pa.Column(pl.Int32, pa.Check.ge(1)),
        "product_id": ID,
        "seller_id": ID,
        "shipping_limit_date": TS,
        "price": pa.Column(pl.Float64, pa.Check.in_range(0, MAX_PRICE), nullable=False),
        "freight_value": MONEY,
    },
    unique=["order_id", "order_item_id"],
    strict=True,
    name="order_items",
)

PAYMENTS = pa.DataFrameSchema(
    {
        "order_id": ID,
        "payment_sequential": pa.Column(pl.Int32, pa.Check.ge(1)),
        "payment_type": pa.Column(pl.String, pa.Check.isin(PAYMENT_TYPES)),
        "payment_installments": pa.Column(pl.Int32, pa.Check.in_range(0, 24)),
        "payment_value": MONEY,
    },
    unique=["order_id", "payment_sequential"],
    strict=True,
    name="payments",
)

CUSTOMERS = pa.DataFrameSchema(
    {
        "customer_id": pa.Column(pl.String, nullable=False, unique=True),
        "customer_unique_id": ID,
        "customer_zip_code_prefix": pa.Column(pl.String, pa.Check.str_matches(ZIP_PATTERN)),
        "customer_city": pa.Column(pl.String, nullable=True),
        "customer_state": pa.Column(pl.String, pa.Check.isin(UFS)),
    },
    strict=True,
    name="customers",
)

PRODUCTS = pa.DataFrameSchema(
    {
        "product_id": pa.Column(pl.String, nullable=False, unique=True),
        "product_category_name": pa.Column(pl.String, nullable=True),
        "product_name_length": pa.Column(pl.Int32, pa.Check.ge(0), nullable=True),
        "product_description_length": pa.Column(pl.Int32, pa.Check.ge(0), nullable=True),
        "product_photos_qty": pa.Column(pl.Int32, pa.Check.ge(0), nullable=True),
        "product_weight_g": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "product_length_cm": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "product_height_cm": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "product_width_cm": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
    },
    strict=True,
    name="products",
)

SELLERS = pa.DataFrameSchema(
    {
        "seller_id": pa.Column(pl.String, nullable=False, unique=True),
        "seller_zip_code_prefix": pa.Column(pl.String, pa.Check.str_matches(ZIP_PATTERN)),
        "seller_city": pa.Column(pl.String, nullable=True),
        "seller_state": pa.Column(pl.String, pa.Check.isin(UFS)),
    },
    strict=True,
    name="sellers",
)

REVIEWS = pa.DataFrameSchema(
    {
        "review_id": ID,
        "order_id": ID,
        "review_score": pa.Column(pl.Int8, pa.Check.in_range(1, 5)),
        "review_comment_title": pa.Column(pl.String, nullable=True),
        "review_comment_message": pa.Column(pl.String, nullable=True),
        "review_creation_date": TS,
        "review_answer_timestamp": TS,
    },
    unique=["review_id", "order_id"],
    strict=True,
    name="reviews",
)

GEOLOCATION = pa.DataFrameSchema(
    {
        "geolocation_zip_code_prefix": pa.Column(
            pl.String, pa.Check.str_matches(ZIP_PATTERN), unique=True
        ),
        "geolocation_lat": pa.Column(pl.Float64, pa.Check.in_range(-34.0, 5.5)),
        "geolocation_lng": pa.Column(pl.Float64, pa.Check.in_range(-74.0, -28.0)),
        "geolocation_city": pa.Column(pl.String, nullable=True),
        "geolocation_state": pa.Column(pl.String, pa.Check.isin(UFS)),
    },
    strict=True,
    name="geolocation",
)

CATEGORY_TRANSLATION = pa.DataFrameSchema(
    {
        "product_category_name": pa.Column(pl.String, nullable=False, unique=True),
        "product_category_name_english": pa.Column(pl.String, nullable=False),
    },
    strict=True,
    name="category_translation",
)

OLIST_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "orders": ORDERS,
    "order_items": ORDER_ITEMS,
    "payments": PAYMENTS,
    "customers": CUSTOMERS,
    "products": PRODUCTS,
    "sellers": SELLERS,
    "reviews": REVIEWS,
    "geolocation": GEOLOCATION,
    "category_translation": CATEGORY_TRANSLATION,
}


def _index_positive(data: pa.PolarsData) -> pl.LazyFrame:
    return data.lazyframe.select(pl.col("index") > 0)


IPCA_MONTHLY = pa.DataFrameSchema(
    {
        "month": pa.Column(pl.Date, nullable=False, unique=True),
        # Brazil's worst month since the Real plan was +3.02% (Nov 2002); -2/+5 flags garbage.
        "pct_change": pa.Column(pl.Float64, pa.Check.in_range(-2.0, 5.0)),
        "index": pa.Column(pl.Float64, nullable=False),
    },
    checks=[pa.Check(_index_positive, name="index_positive")],
    strict=True,
    name="ipca_monthly",
)

WEATHER_DAILY = pa.DataFrameSchema(
    {
        "state": pa.Column(pl.String, pa.Check.isin(UFS)),
        "capital": pa.Column(pl.String, nullable=False),
        "date": pa.Column(pl.Date, nullable=False),
        "temperature_max": pa.Column(pl.Float64, pa.Check.in_range(-20, 55), nullable=True),
        "temperature_min": pa.Column(pl.Float64, pa.Check.in_range(-20, 55), nullable=True),
        "temperature_mean": pa.Column(pl.Float64, pa.Check.in_range(-20, 55), nullable=True),
        "precipitation_sum": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "synthetic": pa.Column(pl.Boolean, nullable=False),
    },
    unique=["state", "date"],
    strict=True,
    name="weather_daily",
)

WEATHER_SNAPSHOTS = pa.DataFrameSchema(
    {
        "city": pa.Column(pl.String, nullable=True),
        "city_id": pa.Column(pl.Int64, nullable=False),
        "temperature": pa.Column(pl.Float64, pa.Check.in_range(-20, 55), nullable=True),
        "description": pa.Column(pl.String, nullable=True),
        "humidity": pa.Column(pl.Float64, pa.Check.in_range(0, 100), nullable=True),
        "pressure": pa.Column(pl.Float64, pa.Check.in_range(850, 1100), nullable=True),
        "wind_speed": pa.Column(pl.Float64, pa.Check.ge(0), nullable=True),
        "collected_at": pa.Column(pl.Datetime("us", "UTC"), nullable=False),
        "synthetic": pa.Column(pl.Boolean, nullable=False),
    },
    unique=["city_id", "collected_at"],
    strict=True,
    name="weather_snapshots",
)

SOURCE_SCHEMAS: dict[str, pa.DataFrameSchema] = {
    "ipca_monthly": IPCA_MONTHLY,
    "weather_daily": WEATHER_DAILY,
    "weather_snapshots": WEATHER_SNAPSHOTS,
}
