"""A tiny, hand-made gold set with the warehouse schema's exact columns and types."""

from __future__ import annotations

from datetime import date, datetime

import polars as pl

from tasks.warehouse.schema import TABLES

POLARS = {"str": pl.String, "int": pl.Int32, "long": pl.Int64, "double": pl.Float64,
          "date": pl.Date, "ts": pl.Datetime("us"), "bool": pl.Boolean}  # fmt: skip
NASTY_CATEGORY = 'cama\'; DROP TABLE dw.fact_sales; --"mesa"'


def _frame(table: str, rows: list[dict]) -> pl.DataFrame:
    columns = TABLES[table][0]
    schema = {name: POLARS[kind] for name, kind in columns.items()}
    return pl.DataFrame([{c: row.get(c) for c in columns} for row in rows], schema=schema)


def _generic(table: str, count: int) -> pl.DataFrame:
    """Rows for a mart: distinct keys, plausible values by type."""
    columns = TABLES[table][0]
    samples = {"str": lambda i: f"{table[:4]}-{i}", "int": lambda i: i + 1,
               "long": lambda i: 10 * (i + 1), "double": lambda i: 100.25 * (i + 1),
               "date": lambda i: date(2017, 1 + i, 1), "ts": lambda i: datetime(2017, 1, 1 + i),
               "bool": lambda i: i % 2 == 0}  # fmt: skip
    return _frame(table, [{c: samples[k](i) for c, k in columns.items()} for i in range(count)])


def gold_frames(price_bump: float = 0.0) -> dict[str, pl.DataFrame]:
    dates = [
        {"date_key": 20170105, "date": date(2017, 1, 5), "year": 2017, "quarter": 1, "month": 1,
         "day": 5, "month_start": date(2017, 1, 1), "day_of_week": 4, "weekday_name": "quinta",
         "month_name": "janeiro", "is_weekend": False, "ipca_pct_change": 0.38,
         "ipca_index": 100.38},
        {"date_key": 20170210, "date": date(2017, 2, 10), "year": 2017, "quarter": 1,
         "month": 2, "day": 10, "month_start": date(2017, 2, 1), "day_of_week": 5,
         "weekday_name": "sexta", "month_name": "fevereiro", "is_weekend": False,
         "ipca_pct_change": 0.33, "ipca_index": 100.71},
    ]  # fmt: skip
    customers = [
        {"customer_key": "c1", "customer_unique_key": "u1", "customer_zip_code_prefix": "010",
         "customer_city": "[CIDADE_REMOVIDA_LGPD]", "customer_state": "SP"},
        {"customer_key": "c2", "customer_unique_key": "u2", "customer_zip_code_prefix": "220",
         "customer_city": "[CIDADE_REMOVIDA_LGPD]", "customer_state": "RJ"},
    ]  # fmt: skip
    products = [
        {"product_key": "p1", "product_category_name": NASTY_CATEGORY,
         "product_category_name_english": "bed; \"bath\"", "category_label": NASTY_CATEGORY,
         "product_photos_qty": 2, "product_weight_g": 500.0, "product_volume_cm3": 1000.0},
        {"product_key": "p2", "product_category_name": None, "category_label": "Sem categoria"},
    ]  # fmt: skip
    sellers = [{"seller_key": "s1", "seller_zip_code_prefix": "13000", "seller_state": "SP"}]
    fact = [
        {"order_id": "o1", "order_item_id": 1, "date_key": 20170105, "customer_key": "c1",
         "product_key": "p1", "seller_key": "s1", "order_status": "delivered",
         "payment_type": "credit_card", "price": 10.0 + price_bump, "freight_value": 1.0,
         "allocated_payment": 11.11, "order_purchase_timestamp": datetime(2017, 1, 5, 10, 0),
         "delivery_days": 5, "is_late": False, "review_score": 5},
        {"order_id": "o1", "order_item_id": 2, "date_key": 20170105, "customer_key": "c1",
         "product_key": "p2", "seller_key": "s1", "order_status": "delivered",
         "payment_type": "credit_card", "price": 20.0, "freight_value": 1.0,
         "allocated_payment": 21.22, "order_purchase_timestamp": datetime(2017, 1, 5, 10, 0),
         "delivery_days": 5, "is_late": False, "review_score": 5},
        {"order_id": "o2", "order_item_id": 1, "date_key": 20170210, "customer_key": "c2",
         "product_key": "p1", "seller_key": "s1", "order_status": "canceled",
         "payment_type": "boleto", "price": 7.5, "freight_value": 0.0,
         "allocated_payment": 7.5, "order_purchase_timestamp": datetime(2017, 2, 10, 8, 30)},
    ]  # fmt: skip
    orders = [
        {"order_id": "o1", "date_key": 20170105, "customer_key": "c1", "order_status": "delivered",
         "status_bucket": "fulfilled", "payment_type": "credit_card", "items": 2,
         "items_value": 32.0, "paid_value": 32.33, "review_score": 5, "delivery_days": 5,
         "is_late": False, "order_purchase_timestamp": datetime(2017, 1, 5, 10, 0)},
        {"order_id": "o2", "date_key": 20170210, "customer_key": "c2", "order_status": "canceled",
         "status_bucket": "lost", "payment_type": "boleto", "items": 1, "items_value": 7.5,
         "paid_value": 7.5, "order_purchase_timestamp": datetime(2017, 2, 10, 8, 30)},
        {"order_id": "o3", "date_key": 20170210, "customer_key": "c2",
         "order_status": "unavailable", "status_bucket": "lost", "payment_type": "voucher",
         "items": 0, "items_value": 0.0, "paid_value": 12.0,
         "order_purchase_timestamp": datetime(2017, 2, 10, 9, 0)},
    ]  # fmt: skip
    frames = {
        "fact_orders": _frame("fact_orders", orders),
        "dim_date": _frame("dim_date", dates),
        "dim_customer": _frame("dim_customer", customers),
        "dim_product": _frame("dim_product", products),
        "dim_seller": _frame("dim_seller", sellers),
        "fact_sales": _frame("fact_sales", fact),
    }
    for table in TABLES:
        frames.setdefault(table, _generic(table, 3))
    return frames
