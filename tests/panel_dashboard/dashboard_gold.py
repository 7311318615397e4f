"""A small gold set whose marts agree with its facts, for the dashboard's tests.

`tests/tasks/warehouse/gold_frames.py` fills the marts with placeholder rows; the dashboard
needs marts that say the same as the facts, because it reads the marts with no filter and the facts
with one. The marts here are recomputed from the facts with polars, following spark/models/marts.py
(an independent oracle for the dashboard's SQL). Three months, four states (one masked), a
category whose name is an injection attempt, orders without items, synthetic weather.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from tasks.warehouse.connection import Warehouse
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import METADATA, TABLES, migrate
from tests.tasks.warehouse.gold_frames import NASTY_CATEGORY, POLARS

BUCKETS = {"delivered": "fulfilled", "shipped": "fulfilled", "invoiced": "awaiting_release",
           "processing": "awaiting_release", "canceled": "lost", "unavailable": "lost"}  # fmt: skip
LABELS = {"total": "Total Pedidos", "fulfilled": "Vendas Concretizadas",
          "awaiting_release": "Aguardando Liberação", "lost": "Vendas Perdidas"}  # fmt: skip
IPCA = {date(2017, 1, 1): 100.38, date(2017, 2, 1): 100.71, date(2017, 3, 1): 101.18}
CUSTOMERS = {  # key: (person, state)
    "c1": ("u1", "SP"), "c2": ("u1", "SP"), "c3": ("u2", "SP"), "c4": ("u3", "RJ"),
    "c5": ("u4", "RJ"), "c6": ("u5", "MG"), "c7": ("u6", None), "c8": ("u7", "MG"),
}  # fmt: skip
PRODUCTS = {  # key: (category name, english, label)
    "p1": (NASTY_CATEGORY, 'bed; "bath"', NASTY_CATEGORY),
    "p2": (None, None, "Sem categoria"),
    "p3": ("beleza_saude", "health_beauty", "Beleza e saúde"),
    "p4": ("informatica_acessorios", "computers_accessories", "Informática e acessórios"),
}
# order: day, customer, status, payment type, paid, review, delivered after (days), estimated
# after (days), items [(product, price, freight, allocated payment)]
ORDERS = {
    "o01": (date(2017, 1, 5), "c1", "delivered", "credit_card", 120.50, 5, 4, 10,
            [("p1", 100.0, 10.0, 110.0), ("p3", 9.5, 1.0, 10.5)]),
    "o02": (date(2017, 1, 9), "c3", "delivered", "boleto", 55.25, 4, 12, 8,
            [("p3", 50.0, 5.25, 55.25)]),
    "o03": (date(2017, 1, 20), "c4", "canceled", "credit_card", 30.0, 1, None, 9,
            [("p2", 25.0, 5.0, 30.0)]),
    "o04": (date(2017, 1, 31), "c7", "delivered", "voucher", 42.0, 3, 6, 6,
            [("p4", 40.0, 2.0, 42.0)]),
    "o05": (date(2017, 2, 2), "c2", "shipped", "credit_card", 1234.56, None, None, 15,
            [("p4", 1200.0, 34.56, 1234.56)]),
    "o06": (date(2017, 2, 14), "c5", "delivered", "debit_card", 80.0, 2, 20, 12,
            [("p1", 35.0, 5.0, 40.0), ("p1", 35.0, 5.0, 40.0)]),
    "o07": (date(2017, 2, 28), "c6", "invoiced", "boleto", 19.99, None, None, 10,
            [("p3", 15.0, 4.99, 19.99)]),
    "o08": (date(2017, 2, 28), "c6", "unavailable", "credit_card", 75.0, 1, None, 10, []),
    "o09": (date(2017, 3, 3), "c8", "delivered", "credit_card", 310.1, 5, 3, 9,
            [("p4", 150.0, 5.0, 155.05), ("p1", 150.0, 5.05, 155.05)]),
    "o10": (date(2017, 3, 15), "c1", "delivered", "credit_card", 66.6, None, 7, 7,
            [("p2", 60.0, 6.6, 66.6)]),
    "o11": (date(2017, 3, 15), "c4", "processing", "boleto", 11.0, None, None, 12,
            [("p3", 10.0, 1.0, 11.0)]),
    "o12": (date(2017, 3, 30), "c5", "canceled", "voucher", 0.0, 2, None, 8, []),
}  # fmt: skip
# Capital weather per (state, day): (mean °C, rain mm); absent = no reading that day.
WEATHER = {("SP", date(2017, 1, 5)): (26.0, 0.0), ("SP", date(2017, 1, 9)): (24.0, 12.5),
           ("RJ", date(2017, 1, 20)): (31.0, 0.0), ("RJ", date(2017, 2, 14)): (29.5, 40.0),
           ("MG", date(2017, 2, 28)): (19.0, 3.0), ("MG", date(2017, 3, 3)): (22.0, 0.0),
           ("SP", date(2017, 3, 15)): (23.5, 7.0)}  # fmt: skip


def _typed(table: str, rows: list[dict]) -> pl.DataFrame:
    columns = TABLES[table][0]
    schema = {name: POLARS[kind] for name, kind in columns.items()}
    return pl.DataFrame([{c: row.get(c) for c in columns} for row in rows], schema=schema)


def _key(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _dimensions() -> dict[str, pl.DataFrame]:
    days = [date(2017, 1, 1) + timedelta(n) for n in range(90)]
    dates = [
        {"date_key": _key(d), "date": d, "year": d.year, "quarter": 1, "month": d.month,
         "day": d.day, "month_start": d.replace(day=1), "day_of_week": d.isoweekday(),
         "weekday_name": "-", "month_name": "-", "is_weekend": d.isoweekday() >= 6,
         "ipca_pct_change": 0.3, "ipca_index": IPCA[d.replace(day=1)]}
        for d in days
    ]  # fmt: skip
    customers = [
        {"customer_key": k, "customer_unique_key": u, "customer_zip_code_prefix": "010",
         "customer_city": "[CIDADE_REMOVIDA_LGPD]", "customer_state": s}
        for k, (u, s) in CUSTOMERS.items()
    ]  # fmt: skip
    products = [
        {"product_key": k, "product_category_name": n, "product_category_name_english": e,
         "category_label": label}
        for k, (n, e, label) in PRODUCTS.items()
    ]  # fmt: skip
    return {
        "dim_date": _typed("dim_date", dates),
        "dim_customer": _typed("dim_customer", customers),
        "dim_product": _typed("dim_product", products),
        "dim_seller": _typed("dim_seller", [{"seller_key": "s1", "seller_state": "SP"}]),
    }


def _facts() -> dict[str, pl.DataFrame]:
    sales, orders = [], []
    for order_id, order in ORDERS.items():
        day, customer, status, kind, paid, review, took, promised, items = order
        bought = datetime.combine(day, datetime.min.time()) + timedelta(hours=10)
        delivered = bought + timedelta(days=took) if took is not None else None
        estimated = datetime.combine(day + timedelta(days=promised), datetime.min.time())
        late = delivered.date() > estimated.date() if delivered else None
        common = {
            "order_id": order_id, "date_key": _key(day), "customer_key": customer,
            "order_status": status, "payment_type": kind, "review_score": review,
            "delivery_days": took, "is_late": late, "order_purchase_timestamp": bought,
        }  # fmt: skip
        orders.append(
            common
            | {
                "status_bucket": BUCKETS[status],
                "items": len(items),
                "paid_value": paid,
                "items_value": round(sum(p + f for _, p, f, _ in items), 2),
            }
        )
        for number, (product, price, freight, allocated) in enumerate(items, start=1):
            sales.append(
                common
                | {
                    "order_item_id": number,
                    "product_key": product,
                    "seller_key": "s1",
                    "price": price,
                    "freight_value": freight,
                    "allocated_payment": allocated,
                    "order_delivered_customer_date": delivered,
                    "order_estimated_delivery_date": estimated,
                }
            )
    return {"fact_sales": _typed("fact_sales", sales), "fact_orders": _typed("fact_orders", orders)}


def _totals() -> list[pl.Expr]:
    return [
        pl.col("order_id").n_unique().cast(pl.Int64).alias("orders"),
        pl.len().cast(pl.Int64).alias("items"),
        pl.col("price").sum().round(2).alias("price_total"),
        pl.col("freight_value").sum().round(2).alias("freight_total"),
        pl.col("allocated_payment").sum().round(2).alias("revenue"),
    ]


def _sales_marts(g: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    fact, customer = g["fact_sales"], g["dim_customer"]
    with_customer = fact.join(customer, on="customer_key", how="left")
    months = g["dim_date"].select("month_start", "ipca_pct_change", "ipca_index").unique()
    monthly = (
        fact.join(g["dim_date"].select("date_key", "month_start"), on="date_key")
        .group_by(pl.col("month_start").alias("month"))
        .agg(_totals())
        .join(months, left_on="month", right_on="month_start", how="left")
    )
    reference = monthly.filter(pl.col("ipca_index").is_not_null()).sort("month").tail(1)
    ref_month, ref_index = reference["month"][0], reference["ipca_index"][0]
    monthly = monthly.with_columns(
        pl.lit(ref_month).alias("reference_month"),
        (pl.col("revenue") * ref_index / pl.col("ipca_index")).round(2).alias("revenue_deflated"),
    )
    by_state = (
        with_customer.group_by("customer_state")
        .agg(*_totals(), pl.col("customer_unique_key").n_unique().cast(pl.Int64).alias("customers"))
        .with_columns((pl.col("revenue") / pl.col("orders")).round(2).alias("average_ticket"))
    )
    buyers = fact.select("customer_key").unique().with_columns(pl.lit(True).alias("bought"))
    customers = (
        customer.join(buyers, on="customer_key", how="left")
        .group_by("customer_state")
        .agg(
            pl.len().cast(pl.Int64).alias("customer_ids"),
            pl.col("customer_unique_key").n_unique().cast(pl.Int64).alias("customers"),
            pl.col("customer_unique_key").filter(pl.col("bought")).n_unique().cast(pl.Int64)
            .alias("buying_customers"),
        )
    )  # fmt: skip
    categories = (
        fact.join(g["dim_product"], on="product_key", how="left")
        .group_by("product_category_name", "product_category_name_english", "category_label")
        .agg(_totals())
        .sort(["revenue", "category_label"], descending=[True, False])
        .with_row_index("revenue_rank", offset=1)
        .with_columns(pl.col("revenue_rank").cast(pl.Int32))
    )
    return {"sales_monthly": monthly, "sales_by_state": by_state,
            "customers_by_state": customers, "sales_by_category": categories}  # fmt: skip


def _order_marts(g: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    orders = g["fact_orders"]
    totals = [pl.len().cast(pl.Int64).alias("orders"), pl.col("paid_value").sum().alias("value")]
    status = pl.concat(
        [
            orders.select(pl.lit("total").alias("bucket"), *totals),
            orders.group_by(pl.col("status_bucket").alias("bucket")).agg(totals),
        ]
    ).with_columns(
        pl.col("bucket").replace_strict(LABELS).alias("label"),
        pl.col("bucket")
        .replace_strict({b: i for i, b in enumerate(LABELS, 1)})
        .alias("panel_order"),
    )
    fulfilled = pl.col("status_bucket") == "fulfilled"
    payments = (
        orders.group_by("payment_type")
        .agg(
            pl.len().cast(pl.Int64).alias("payments"),
            pl.len().cast(pl.Int64).alias("orders"),
            pl.col("paid_value").sum().alias("value"),
            pl.lit(1.0).alias("average_installments"),
            fulfilled.sum().cast(pl.Int64).alias("fulfilled_orders"),
            pl.col("paid_value").filter(fulfilled).sum().alias("fulfilled_value"),
        )
        .with_columns((pl.col("value") / pl.col("value").sum()).round(4).alias("value_share"))
    )
    return {"order_status_summary": status, "payment_type_summary": payments}


def _delivery_and_weather(g: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    with_customer = g["fact_sales"].join(g["dim_customer"], on="customer_key", how="left")
    delivered = (
        with_customer.filter(
            (pl.col("order_status") == "delivered")
            & pl.col("order_delivered_customer_date").is_not_null()
        )
        .with_columns(
            (
                pl.col("order_estimated_delivery_date").dt.date()
                - pl.col("order_purchase_timestamp").dt.date()
            )
            .dt.total_days()
            .alias("estimated")
        )
        .select(
            "order_id", "customer_state", "delivery_days", "estimated", "is_late", "review_score"
        )
        .unique()
    )
    delivery = delivered.group_by("customer_state").agg(
        pl.len().cast(pl.Int64).alias("delivered_orders"),
        pl.col("delivery_days").mean().round(2).alias("average_delivery_days"),
        pl.col("estimated").mean().round(2).alias("average_estimated_days"),
        (~pl.col("is_late")).sum().cast(pl.Int64).alias("on_time_orders"),
        pl.col("is_late").sum().cast(pl.Int64).alias("late_orders"),
        pl.col("is_late").mean().round(4).alias("late_share"),
        pl.col("review_score").mean().round(2).alias("average_review_score"),
    )
    weather = pl.DataFrame(
        [(s, d, "Capital", t + 4, t - 4, t, r, True) for (s, d), (t, r) in WEATHER.items()],
        schema={
            "customer_state": pl.String,
            "date": pl.Date,
            "capital": pl.String,
            "temperature_max": pl.Float64,
            "temperature_min": pl.Float64,
            "temperature_mean": pl.Float64,
            "precipitation_sum": pl.Float64,
            "weather_synthetic": pl.Boolean,
        },
        orient="row",
    )
    daily = (
        with_customer.with_columns(pl.col("order_purchase_timestamp").dt.date().alias("date"))
        .group_by("customer_state", "date", "date_key")
        .agg(_totals())
        .join(weather, on=["customer_state", "date"], how="left")
    )
    return {"delivery_performance": delivery, "sales_weather_daily": daily}


def dashboard_gold() -> dict[str, pl.DataFrame]:
    """Every warehouse table, facts and marts consistent, typed as the schema says."""
    gold = _dimensions() | _facts()
    gold |= _sales_marts(gold) | _order_marts(gold) | _delivery_and_weather(gold)
    return {name: _schema_typed(name, gold[name]) for name in TABLES}


def _schema_typed(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        pl.col(c).cast(POLARS[kind]) if c in frame.columns else pl.lit(None, POLARS[kind]).alias(c)
        for c, kind in TABLES[name][0].items()
    )


def load_dashboard_gold(warehouse: Warehouse) -> dict[str, pl.DataFrame]:
    """Migrate `warehouse` and load the set; return the frames loaded."""
    frames = dashboard_gold()
    migrate(warehouse)
    load_tables(warehouse, METADATA, frames)
    return frames
