"""The star schema's dimensions: one gold table per function, each read from silver.

Keys are the silver identifiers (customers' and orders' ids are already pseudonyms), so a key
means the same thing in every run and in every layer; nothing here re-identifies anybody.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark.labels import category_label_column
from spark.silver import Silver

# The 27 federative units (the same list as validation.schemas.UFS).
UFS = (
    "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA", "PB",
    "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
)  # fmt: skip
WEEKDAYS_PT = (
    "segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado",
    "domingo",
)  # fmt: skip
MONTHS_PT = (
    "janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro",
    "outubro", "novembro", "dezembro",
)  # fmt: skip


def date_key(day: Column) -> Column:
    """yyyymmdd as an int: the join key between facts and `dim_date`."""
    return (F.year(day) * 10_000 + F.month(day) * 100 + F.dayofmonth(day)).cast("int")


def state_or_null(column: str) -> Column:
    """The UF, or null when silver hashed it (the `seed` masking policy keyed-hashes states)."""
    return F.when(F.col(column).isin(*UFS), F.col(column)).otherwise(F.lit(None).cast("string"))


def _pick(names: tuple[str, ...], one_based_index: Column) -> Column:
    return F.element_at(F.array(*[F.lit(name) for name in names]), one_based_index)


def ipca_by_month(silver: Silver) -> DataFrame:
    """month_start, ipca_pct_change, ipca_index; empty (typed) when silver has no IPCA."""
    ipca = silver.optional("ipca_monthly")
    if ipca is None:
        return silver.spark.createDataFrame(
            [], "month_start date, ipca_pct_change double, ipca_index double"
        )
    return ipca.select(
        F.trunc(F.col("month").cast("date"), "month").alias("month_start"),
        F.col("pct_change").cast("double").alias("ipca_pct_change"),
        F.col("index").cast("double").alias("ipca_index"),
    )


def dim_date(silver: Silver) -> DataFrame:
    """One row per day, whole months from the first to the last purchase, with the month's
    IPCA (% change and accumulated index; null when IPCA is not in silver)."""
    purchase_day = F.to_date("order_purchase_timestamp")
    return (
        silver.table("orders")
        .agg(
            F.trunc(F.min(purchase_day), "month").alias("first_day"),
            F.last_day(F.max(purchase_day)).alias("last_day"),
        )
        .select(
            F.explode(F.sequence("first_day", "last_day", F.expr("INTERVAL 1 DAY"))).alias("date")
        )
        .select(
            date_key(F.col("date")).alias("date_key"),
            "date",
            F.year("date").alias("year"),
            F.quarter("date").alias("quarter"),
            F.month("date").alias("month"),
            F.dayofmonth("date").alias("day"),
            F.trunc("date", "month").alias("month_start"),
            (F.weekday("date") + 1).alias("day_of_week"),  # ISO: 1 = Monday ... 7 = Sunday
            _pick(WEEKDAYS_PT, F.weekday("date") + 1).alias("weekday_name"),
            _pick(MONTHS_PT, F.month("date")).alias("month_name"),
            (F.weekday("date") >= 5).alias("is_weekend"),
        )
        .join(ipca_by_month(silver), on="month_start", how="left")
        .select(
            "date_key",
            "date",
            "year",
            "quarter",
            "month",
            "day",
            "month_start",
            "day_of_week",
            "weekday_name",
            "month_name",
            "is_weekend",
            "ipca_pct_change",
            "ipca_index",
        )
    )


def dim_customer(silver: Silver) -> DataFrame:
    """One row per silver customer (Olist: one customer_id per order); the person is
    `customer_unique_key`. City is the masked literal, zip the generalised prefix."""
    return silver.table("customers").select(
        F.col("customer_id").alias("customer_key"),
        F.col("customer_unique_id").alias("customer_unique_key"),
        "customer_zip_code_prefix",
        "customer_city",
        state_or_null("customer_state").alias("customer_state"),
    )


def _products_with_translation(silver: Silver) -> DataFrame:
    products = silver.table("products")
    if "product_category_name_english" in products.columns:
        return products  # silver joins the translation into products
    return products.join(silver.table("category_translation"), "product_category_name", "left")


def dim_product(silver: Silver) -> DataFrame:
    """One row per product: Portuguese and English category (null: no category or no
    translation), the friendly label, dimensions (cm), weight (g) and volume (cm³)."""
    return (
        _products_with_translation(silver)
        .select(
            F.col("product_id").alias("product_key"),
            "product_category_name",
            "product_category_name_english",
            category_label_column(F.col("product_category_name")).alias("category_label"),
            F.col("product_photos_qty").cast("int").alias("product_photos_qty"),
            F.col("product_weight_g").cast("double").alias("product_weight_g"),
            F.col("product_length_cm").cast("double").alias("product_length_cm"),
            F.col("product_height_cm").cast("double").alias("product_height_cm"),
            F.col("product_width_cm").cast("double").alias("product_width_cm"),
        )
        .withColumn(
            "product_volume_cm3",
            F.col("product_length_cm") * F.col("product_height_cm") * F.col("product_width_cm"),
        )
    )


def dim_seller(silver: Silver) -> DataFrame:
    """One row per seller: zip prefix and state (silver drops the city by default)."""
    return silver.table("sellers").select(
        F.col("seller_id").alias("seller_key"),
        "seller_zip_code_prefix",
        state_or_null("seller_state").alias("seller_state"),
    )
