"""Olist bronze CSV -> typed polars frames, with every unparseable row accounted for.

pyarrow's CSV reader parses (multi-threaded, quoted line breaks allowed) and hands rows with
the wrong number of fields to a handler, so malformed rows are captured, not dropped. Values
are read as text and cast here: a value that does not cast (a malformed timestamp, a price
of "abc") becomes a failure record for its row.
"""

from __future__ import annotations

import io

import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv

from tasks.olist_synthetic import OLIST_FILES
from validation.gate import FAILURE_COLUMNS, ROW, empty_failures

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"

# Silver column -> type, per dataset. Names are the source's, but the misspelled `lenght`.
TYPES: dict[str, dict[str, str]] = {
    "orders": {
        "order_id": "str", "customer_id": "str", "order_status": "str",
        "order_purchase_timestamp": "ts", "order_approved_at": "ts",
        "order_delivered_carrier_date": "ts", "order_delivered_customer_date": "ts",
        "order_estimated_delivery_date": "ts",
    },
    "order_items": {
        "order_id": "str", "order_item_id": "int", "product_id": "str", "seller_id": "str",
        "shipping_limit_date": "ts", "price": "money", "freight_value": "money",
    },
    "payments": {
        "order_id": "str", "payment_sequential": "int", "payment_type": "str",
        "payment_installments": "int", "payment_value": "money",
    },
    "customers": {
        "customer_id": "str", "customer_unique_id": "str", "customer_zip_code_prefix": "zip",
        "customer_city": "str", "customer_state": "str",
    },
    "products": {
        "product_id": "str", "product_category_name": "str", "product_name_length": "int",
        "product_description_length": "int", "product_photos_qty": "int",
        "product_weight_g": "float", "product_length_cm": "float",
        "product_height_cm": "float", "product_width_cm": "float",
    },
    "sellers": {
        "seller_id": "str", "seller_zip_code_prefix": "zip", "seller_city": "str",
        "seller_state": "str",
    },
    "reviews": {
        "review_id": "str", "order_id": "str", "review_score": "int8",
        "review_comment_title": "str", "review_comment_message": "str",
        "review_creation_date": "ts", "review_answer_timestamp": "ts",
    },
    "geolocation": {
        "geolocation_zip_code_prefix": "zip", "geolocation_lat": "float",
        "geolocation_lng": "float", "geolocation_city": "str", "geolocation_state": "str",
    },
    "category_translation": {
        "product_category_name": "str", "product_category_name_english": "str",
    },
}  # fmt: skip
RENAMES = {
    "product_name_lenght": "product_name_length",
    "product_description_lenght": "product_description_length",
}


SOURCE_FILES = {
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


def source_file(dataset: str) -> str:
    """The Olist file a silver dataset is built from."""
    return SOURCE_FILES[dataset]


def read_text_frame(data: bytes, dataset: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All columns as text plus `_row`; malformed rows as failure records (negative `_row`)."""
    columns = OLIST_FILES[source_file(dataset)]
    malformed: list[dict] = []

    def on_invalid_row(row) -> str:
        malformed.append(
            {
                ROW: -(len(malformed) + 1),
                "_check": "csv_field_count",
                "_column": None,
                "_value": f"expected {row.expected_columns} fields, got "
                f"{row.actual_columns}: {row.text[:200]}",
            }
        )
        return "skip"

    table = pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(
            newlines_in_values=True, invalid_row_handler=on_invalid_row
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in columns},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
            include_columns=list(columns),
        ),
    )
    frame = pl.from_arrow(table).rename(lambda c: RENAMES.get(c, c)).with_row_index(ROW, offset=1)
    frame = frame.with_columns(pl.col(ROW).cast(pl.Int64))
    failures = pl.DataFrame(malformed, schema=FAILURE_COLUMNS) if malformed else empty_failures()
    return frame, failures


def _cast(column: str, kind: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    if kind == "ts":
        return text.str.strptime(pl.Datetime("us"), TIMESTAMP_FORMAT, strict=False)
    if kind == "money":
        return text.cast(pl.Float64, strict=False).round(2)
    if kind == "float":
        return text.cast(pl.Float64, strict=False)
    if kind == "int":
        # "3.0" happens in exports that went through a float; accept whole numbers only.
        as_float = text.cast(pl.Float64, strict=False)
        return pl.when(as_float == as_float.floor()).then(as_float).cast(pl.Int32, strict=False)
    if kind == "int8":
        return text.cast(pl.Float64, strict=False).cast(pl.Int8, strict=False)
    if kind == "zip":
        return pl.when(text.str.contains(r"^\d{1,5}$")).then(text.str.zfill(5))
    return pl.col(column)


def type_frame(text: pl.DataFrame, dataset: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cast text columns to their silver types; values that do not cast become failures."""
    types = TYPES[dataset]
    typed = text.select(ROW, *[_cast(c, k).alias(c) for c, k in types.items()])
    failures = [
        text.select(ROW, pl.col(column).alias("_value"))
        .filter(pl.col("_value").is_not_null() & typed[column].is_null())
        .select(
            ROW,
            pl.lit(f"parse_{kind}").alias("_check"),
            pl.lit(column).alias("_column"),
            "_value",
        )
        for column, kind in types.items()
        if kind != "str"
    ]
    failures = pl.concat([empty_failures(), *[f for f in failures if f.height]])
    return typed, failures
