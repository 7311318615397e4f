"""The Olist contract: Kaggle's 9 CSVs (olistbr/brazilian-ecommerce), their columns and datasets.

Declared once here; the real-file check (`ingest`), the parser (`parse`) and the synthetic
generator (`synthetic`) all read it. Column names are the source's, typos included; silver
renames the two misspelled `lenght` columns (`COLUMN_RENAMES`).
"""

from __future__ import annotations

from validation.catalog import OLIST_SOURCE_FILES

# File name -> the columns its header must hold, in the source's order.
OLIST_FILES: dict[str, tuple[str, ...]] = {
    "olist_customers_dataset.csv": (
        "customer_id", "customer_unique_id", "customer_zip_code_prefix", "customer_city",
        "customer_state",
    ),
    "olist_geolocation_dataset.csv": (
        "geolocation_zip_code_prefix", "geolocation_lat", "geolocation_lng", "geolocation_city",
        "geolocation_state",
    ),
    "olist_order_items_dataset.csv": (
        "order_id", "order_item_id", "product_id", "seller_id", "shipping_limit_date", "price",
        "freight_value",
    ),
    "olist_order_payments_dataset.csv": (
        "order_id", "payment_sequential", "payment_type", "payment_installments", "payment_value",
    ),
    "olist_order_reviews_dataset.csv": (
        "review_id", "order_id", "review_score", "review_comment_title",
        "review_comment_message", "review_creation_date", "review_answer_timestamp",
    ),
    "olist_orders_dataset.csv": (
        "order_id", "customer_id", "order_status", "order_purchase_timestamp",
        "order_approved_at", "order_delivered_carrier_date", "order_delivered_customer_date",
        "order_estimated_delivery_date",
    ),
    "olist_products_dataset.csv": (
        "product_id", "product_category_name", "product_name_lenght",
        "product_description_lenght", "product_photos_qty", "product_weight_g",
        "product_length_cm", "product_height_cm", "product_width_cm",
    ),
    "olist_sellers_dataset.csv": (
        "seller_id", "seller_zip_code_prefix", "seller_city", "seller_state",
    ),
    "product_category_name_translation.csv": (
        "product_category_name", "product_category_name_english",
    ),
}  # fmt: skip

# Silver dataset -> the file it is built from: declared with the lake's contracts.
SOURCE_FILES: dict[str, str] = OLIST_SOURCE_FILES

# Source column -> silver column: the source misspells `length` in two product columns.
COLUMN_RENAMES: dict[str, str] = {
    "product_name_lenght": "product_name_length",
    "product_description_lenght": "product_description_length",
}


def source_file(dataset: str) -> str:
    """The Olist file a silver dataset is built from (`payments` ->
    `olist_order_payments_dataset.csv`)."""
    return SOURCE_FILES[dataset]


def dataset_name(file_name: str) -> str:
    """The bronze dataset of a file: `olist_order_items_dataset.csv` -> `order_items`;
    translations -> `category_translation`."""
    if file_name == "product_category_name_translation.csv":
        return "category_translation"
    return file_name.removeprefix("olist_").removesuffix("_dataset.csv")
