"""The BI aggregates the dashboard reads: one gold table per function.

Money is summed in integer cents and divided once, so every total is exact to the cent and
identical however Spark partitions the work (a sum of doubles is not). Sales aggregates cover
every order item in the fact, whatever the order's status, so they reconcile with silver;
the status panels (`order_status_summary`, from `fact_orders`) and `payment_type_summary` are
order-level, from silver orders and payments, so they include orders that have no items.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from spark.silver import Silver

# The seed dashboard's panels. Every Olist status belongs to exactly one bucket.
STATUS_BUCKETS: dict[str, tuple[str, ...]] = {
    "fulfilled": ("delivered", "shipped"),
    "awaiting_release": ("created", "approved", "invoiced", "processing"),
    "lost": ("canceled", "unavailable"),
}
BUCKET_LABELS = {
    "total": "Total Pedidos",
    "fulfilled": "Vendas Concretizadas",
    "awaiting_release": "Aguardando Liberação",
    "lost": "Vendas Perdidas",
}
UNMAPPED = "unmapped"  # a status outside the buckets: the gold gate fails on it


def cents(column: str) -> Column:
    return F.round(F.col(column) * 100).cast("long")


def money_sum(column: str) -> Column:
    """Σ column in BRL, exact to the cent (summed as integer cents)."""
    return F.sum(cents(column)) / 100


def status_bucket(status: Column) -> Column:
    bucket = F.lit(UNMAPPED)
    for name, statuses in STATUS_BUCKETS.items():
        bucket = F.when(status.isin(*statuses), F.lit(name)).otherwise(bucket)
    return bucket


def _sales_totals() -> list[Column]:
    return [
        F.countDistinct("order_id").alias("orders"),
        F.count(F.lit(1)).alias("items"),
        money_sum("price").alias("price_total"),
        money_sum("freight_value").alias("freight_total"),
        money_sum("allocated_payment").alias("revenue"),
    ]


CUSTOMER_COLUMNS = ("customer_unique_key", "customer_state")
CATEGORY_COLUMNS = ("product_category_name", "product_category_name_english", "category_label")


def _joined(frame: DataFrame, dim: DataFrame, key: str, columns: tuple[str, ...]) -> DataFrame:
    """`frame` plus `columns` of a dimension unique per `key` (a left join), unless `frame`
    already has them (the pre-joined fact `sales_wide`)."""
    if all(column in frame.columns for column in columns):
        return frame
    return frame.join(dim.select(key, *columns), key, "left")


def _with_customer(frame: DataFrame, dim_customer: DataFrame) -> DataFrame:
    """`frame` plus the customer's state and person key (dim_customer is unique per key)."""
    return _joined(frame, dim_customer, "customer_key", CUSTOMER_COLUMNS)


def sales_wide(
    fact: DataFrame, dim_customer: DataFrame, dim_date: DataFrame, dim_product: DataFrame
) -> DataFrame:
    """The fact with every dimension column a mart groups by, joined once (left joins on
    unique keys: the fact's rows, unchanged), so each mart is one aggregation of it."""
    wide = _with_customer(fact, dim_customer)
    wide = _joined(wide, dim_date, "date_key", ("month_start",))
    return _joined(wide, dim_product, "product_key", CATEGORY_COLUMNS)


def sales_monthly(fact: DataFrame, dim_date: DataFrame) -> DataFrame:
    """Per purchase month: orders, items, price, freight and revenue (Σ allocated payments,
    BRL), and revenue deflated by IPCA to prices of the reference month, the last sales month
    with an index: revenue × index(reference) / index(month). Without IPCA in silver the
    deflated revenue equals the nominal one (and `reference_month` is null)."""
    months = dim_date.select("month_start", "ipca_pct_change", "ipca_index").distinct()
    monthly = (
        _joined(fact, dim_date, "date_key", ("month_start",))
        .groupBy(F.col("month_start").alias("month"))
        .agg(*_sales_totals())
        .join(months, F.col("month") == F.col("month_start"), "left")
        .drop("month_start")
    )
    reference = monthly.where(F.col("ipca_index").isNotNull()).agg(
        F.max("month").alias("reference_month"),
        F.max_by("ipca_index", "month").alias("reference_index"),
    )
    # try_divide: null, not an ANSI error, should an index ever be 0
    at_reference = F.col("revenue") * F.col("reference_index")
    deflated = F.round(F.try_divide(at_reference, F.col("ipca_index")), 2)
    return (
        monthly.crossJoin(reference)
        .withColumn(
            "revenue_deflated",
            F.when(F.col("reference_index").isNull(), F.col("revenue")).otherwise(deflated),
        )
        .select(
            "month",
            "orders",
            "items",
            "price_total",
            "freight_total",
            "revenue",
            "ipca_pct_change",
            "ipca_index",
            "reference_month",
            "revenue_deflated",
        )
    )


def sales_by_state(fact: DataFrame, dim_customer: DataFrame) -> DataFrame:
    """Per customer state (null: state masked in silver): sales totals, buying customers
    (people, by `customer_unique_key`) and the average ticket (revenue per order)."""
    return (
        _with_customer(fact, dim_customer)
        .groupBy("customer_state")
        .agg(*_sales_totals(), F.countDistinct("customer_unique_key").alias("customers"))
        .withColumn("average_ticket", F.round(F.try_divide("revenue", "orders"), 2))
    )


def customers_by_state(dim_customer: DataFrame, fact: DataFrame) -> DataFrame:
    """Per state: customer records (Olist's count: one per order), distinct people, and the
    people with at least one order item in the fact."""
    buyers = fact.select("customer_key").distinct().withColumn("bought", F.lit(True))
    return (
        dim_customer.join(buyers, "customer_key", "left")
        .groupBy("customer_state")
        .agg(
            F.count(F.lit(1)).alias("customer_ids"),
            F.countDistinct("customer_unique_key").alias("customers"),
            F.countDistinct(F.when(F.col("bought"), F.col("customer_unique_key"))).alias(
                "buying_customers"
            ),
        )
    )


def sales_by_category(fact: DataFrame, dim_product: DataFrame) -> DataFrame:
    """Per product category (null: no category, "Sem categoria"): sales totals and the rank
    by revenue (1 = best; ties by label), for the dashboard's top 10."""
    # One partition on purpose: the input is already one row per category (74 in Olist).
    by_revenue = Window.partitionBy(F.lit(0)).orderBy(F.desc("revenue"), "category_label")
    return (
        _joined(fact, dim_product, "product_key", CATEGORY_COLUMNS)
        .groupBy("product_category_name", "product_category_name_english", "category_label")
        .agg(*_sales_totals())
        .withColumn("revenue_rank", F.row_number().over(by_revenue))
    )


def order_status_summary(fact_orders: DataFrame) -> DataFrame:
    """The seed dashboard's panels, order-level (every silver order, from `fact_orders`):
    total orders, fulfilled (delivered, shipped), awaiting release (created, approved,
    invoiced, processing) and lost (canceled, unavailable), each as a count and a value
    (Σ the orders' payments, BRL; `paid_value` is exact cents, so summing its cents is exact)."""
    orders = fact_orders.select(
        F.col("status_bucket").alias("bucket"), cents("paid_value").alias("paid_cents")
    )
    totals = [
        F.count(F.lit(1)).alias("orders"),
        (F.coalesce(F.sum("paid_cents"), F.lit(0)) / 100).alias("value"),
    ]
    buckets = orders.groupBy("bucket").agg(*totals)
    overall = orders.agg(*totals).select(F.lit("total").alias("bucket"), "orders", "value")
    panels = {"total": (), **STATUS_BUCKETS}
    # Literals built in the JVM: createDataFrame from Python rows would start Python workers.
    rows = [
        F.struct(
            F.lit(name).alias("bucket"),
            F.lit(BUCKET_LABELS[name]).alias("label"),
            F.lit(", ".join(statuses)).alias("statuses"),
            F.lit(order).alias("panel_order"),
        )
        for order, (name, statuses) in enumerate(panels.items(), start=1)
    ]
    described = fact_orders.sparkSession.range(1).select(F.inline(F.array(*rows)))
    return (
        overall.unionByName(buckets)
        .join(described, "bucket", "left")
        .select("panel_order", "bucket", "label", "statuses", "orders", "value")
    )


def payment_type_summary(silver: Silver) -> DataFrame:
    """Per payment type, payment-level from silver: payments, orders, value (BRL), average
    installments, share of all value, and the fulfilled orders' part (dashboard panel)."""
    status = silver.table("orders").select("order_id", "order_status")
    fulfilled = F.col("order_status").isin(*STATUS_BUCKETS["fulfilled"])
    every_type = Window.partitionBy(F.lit(0))  # one partition on purpose: 5 payment types
    return (
        silver.table("payments")
        .join(status, "order_id", "left")
        .groupBy("payment_type")
        .agg(
            F.count(F.lit(1)).alias("payments"),
            F.countDistinct("order_id").alias("orders"),
            F.sum(cents("payment_value")).alias("value_cents"),
            F.round(F.avg("payment_installments"), 2).alias("average_installments"),
            F.countDistinct(F.when(fulfilled, F.col("order_id"))).alias("fulfilled_orders"),
            F.coalesce(F.sum(F.when(fulfilled, cents("payment_value"))), F.lit(0)).alias(
                "fulfilled_cents"
            ),
        )
        .select(
            "payment_type",
            "payments",
            "orders",
            (F.col("value_cents") / 100).alias("value"),
            "average_installments",
            F.round(F.try_divide("value_cents", F.sum("value_cents").over(every_type)), 4).alias(
                "value_share"
            ),
            "fulfilled_orders",
            (F.col("fulfilled_cents") / 100).alias("fulfilled_value"),
        )
    )


def delivery_performance(fact: DataFrame, dim_customer: DataFrame) -> DataFrame:
    """Per customer state, over delivered orders: average days from purchase to delivery and
    to the promised date, on-time and late orders (late: delivered on a later calendar day
    than estimated), the late share and the average review score."""
    delivered = (
        fact.where(
            (F.col("order_status") == "delivered")
            & F.col("order_delivered_customer_date").isNotNull()
        )
        .select(
            "order_id",
            "customer_key",
            "delivery_days",
            F.datediff(
                F.to_date("order_estimated_delivery_date"), F.to_date("order_purchase_timestamp")
            ).alias("estimated_days"),
            "is_late",
            "review_score",
            # customer columns are per order too: kept when the fact was pre-joined
            *[column for column in CUSTOMER_COLUMNS if column in fact.columns],
        )
        .distinct()  # order-level columns: one row per order
    )
    return (
        _with_customer(delivered, dim_customer)
        .groupBy("customer_state")
        .agg(
            F.count(F.lit(1)).alias("delivered_orders"),
            F.round(F.avg("delivery_days"), 2).alias("average_delivery_days"),
            F.round(F.avg("estimated_days"), 2).alias("average_estimated_days"),
            F.count(F.when(~F.col("is_late"), 1)).alias("on_time_orders"),
            F.count(F.when(F.col("is_late"), 1)).alias("late_orders"),
            F.round(F.avg(F.col("is_late").cast("int")), 4).alias("late_share"),
            F.round(F.avg("review_score"), 2).alias("average_review_score"),
        )
    )


WEATHER = ("temperature_max", "temperature_min", "temperature_mean", "precipitation_sum")


def weather_by_state_day(silver: Silver) -> DataFrame:
    """The capitals' daily weather; empty (typed) when silver has none. `weather_synthetic`
    carries silver's flag for weather served from the bundled synthetic sample."""
    weather = silver.optional("weather_daily")
    if weather is None:
        return silver.spark.createDataFrame(
            [],
            "customer_state string, date date, capital string, temperature_max double, "
            "temperature_min double, temperature_mean double, precipitation_sum double, "
            "weather_synthetic boolean",
        )
    synthetic = F.col("synthetic") if "synthetic" in weather.columns else F.lit(None)
    return weather.select(
        F.col("state").alias("customer_state"),
        F.col("date").cast("date").alias("date"),
        "capital",
        *[F.col(column).cast("double").alias(column) for column in WEATHER],
        synthetic.cast("boolean").alias("weather_synthetic"),
    )


def sales_weather_daily(fact: DataFrame, dim_customer: DataFrame, silver: Silver) -> DataFrame:
    """Per customer state and purchase day: sales totals and that state's capital's weather
    that day (°C, mm; null when silver has no weather for it; `weather_synthetic` true when
    it is the bundled synthetic sample, not a measurement)."""
    return (
        _with_customer(fact, dim_customer)
        .withColumn("date", F.to_date("order_purchase_timestamp"))
        .groupBy("customer_state", "date", "date_key")
        .agg(*_sales_totals())
        .join(weather_by_state_day(silver), ["customer_state", "date"], "left")
    )
