# ruff: noqa: E501 - hand-computed tables read best as one row per line
"""A tiny hand-built silver layer and its gold tables, computed by hand.

8 orders, 9 items, 8 payments, 3 months (2017-01 to 2017-03):
- o1: 3 items, 2 payments (150.00 credit card + 50.01 voucher = 200.01 over items worth
  110.00, 55.00 and 25.00 -> allocated 115.79, 57.90, 26.32), delivered on time, two
  reviews (latest: 4);
- o2: canceled, 1 item; o5: unavailable, no items (in the status panels, not in the fact);
- o3: a product without category, delivered late; o4: a category without English
  translation (pc_gamer), shipped; o6: a customer whose state silver keyed-hashed (the
  `seed` policy); o7: created, no payment (its item is allocated 0.00);
  o8: delivered, in March, the month with negative IPCA (-1.0 %).
Same shapes and dtypes as tasks/silver/olist.py writes (timestamps naive, datetime[us]).
`expected_gold()` holds every gold table as the job must write it (rows in write order).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl

from tasks.silver.masking import CITY_REMOVED
from tasks.silver.sales import consolidate_sales
from validation.catalog import GOLD_OPTIONAL_INPUTS as OPTIONAL

HASHED_STATE = "9f" * 32  # what customer_state looks like under the seed masking policy


def _ts(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _frame(rows: list[tuple], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=schema, orient="row")


TS = pl.Datetime("us")

ORDERS = _frame(
    [
        ("o1", "c1", "delivered", _ts("2017-01-10 10:00"), _ts("2017-01-10 11:00"),
         _ts("2017-01-12 08:00"), _ts("2017-01-20 15:00"), _ts("2017-01-25")),
        ("o2", "c2", "canceled", _ts("2017-01-15 09:00"), _ts("2017-01-15 09:30"), None, None,
         _ts("2017-02-05")),
        ("o3", "c3", "delivered", _ts("2017-02-03 12:00"), _ts("2017-02-03 13:00"),
         _ts("2017-02-06 10:00"), _ts("2017-02-20 18:00"), _ts("2017-02-14")),
        ("o4", "c4", "shipped", _ts("2017-02-10 14:00"), _ts("2017-02-10 15:00"),
         _ts("2017-02-13 09:00"), None, _ts("2017-03-01")),
        ("o5", "c5", "unavailable", _ts("2017-02-25 20:00"), _ts("2017-02-25 21:00"), None,
         None, _ts("2017-03-15")),
        ("o6", "c6", "processing", _ts("2017-03-01 08:00"), _ts("2017-03-01 09:00"), None,
         None, _ts("2017-03-20")),
        ("o7", "c7", "created", _ts("2017-03-05 22:00"), None, None, None, _ts("2017-03-25")),
        ("o8", "c8", "delivered", _ts("2017-03-10 08:00"), _ts("2017-03-10 08:30"),
         _ts("2017-03-10 17:00"), _ts("2017-03-12 11:00"), _ts("2017-03-20")),
    ],
    {"order_id": pl.String, "customer_id": pl.String, "order_status": pl.String,
     "order_purchase_timestamp": TS, "order_approved_at": TS,
     "order_delivered_carrier_date": TS, "order_delivered_customer_date": TS,
     "order_estimated_delivery_date": TS},
)  # fmt: skip

ORDER_ITEMS = _frame(
    [
        ("o1", 1, "p1", "s1", _ts("2017-01-12 10:00"), 100.00, 10.00),
        ("o1", 2, "p2", "s2", _ts("2017-01-12 10:00"), 50.00, 5.00),
        ("o1", 3, "p1", "s1", _ts("2017-01-12 10:00"), 20.00, 5.00),
        ("o2", 1, "p3", "s2", _ts("2017-01-17 09:00"), 80.00, 20.00),
        ("o3", 1, "p4", "s1", _ts("2017-02-07 12:00"), 35.50, 4.50),
        ("o4", 1, "p5", "s3", _ts("2017-02-14 14:00"), 200.00, 0.00),
        ("o6", 1, "p2", "s2", _ts("2017-03-05 08:00"), 60.00, 10.00),
        ("o7", 1, "p3", "s3", _ts("2017-03-09 22:00"), 10.00, 2.00),
        ("o8", 1, "p2", "s3", _ts("2017-03-12 08:00"), 40.00, 5.00),
    ],
    {"order_id": pl.String, "order_item_id": pl.Int32, "product_id": pl.String,
     "seller_id": pl.String, "shipping_limit_date": TS, "price": pl.Float64,
     "freight_value": pl.Float64},
)  # fmt: skip

PAYMENTS = _frame(
    [
        ("o1", 1, "credit_card", 3, 150.00),
        ("o1", 2, "voucher", 1, 50.01),
        ("o2", 1, "boleto", 1, 100.00),
        ("o3", 1, "boleto", 1, 40.00),
        ("o4", 1, "voucher", 1, 200.00),
        ("o5", 1, "credit_card", 2, 30.00),
        ("o6", 1, "debit_card", 1, 70.00),
        ("o8", 1, "credit_card", 1, 45.00),
    ],
    {"order_id": pl.String, "payment_sequential": pl.Int32, "payment_type": pl.String,
     "payment_installments": pl.Int32, "payment_value": pl.Float64},
)  # fmt: skip

CUSTOMERS = _frame(
    [
        ("c1", "u1", "010", CITY_REMOVED, "SP"),
        ("c2", "u2", "200", CITY_REMOVED, "RJ"),
        ("c3", "u3", "013", CITY_REMOVED, "SP"),
        ("c4", "u4", "300", CITY_REMOVED, "MG"),
        ("c5", "u5", "201", CITY_REMOVED, "RJ"),
        ("c6", "u6", "014", CITY_REMOVED, HASHED_STATE),
        ("c7", "u1", "010", CITY_REMOVED, "SP"),  # the person u1 again, another order
        ("c8", "u8", "220", CITY_REMOVED, "RJ"),
    ],
    {"customer_id": pl.String, "customer_unique_id": pl.String,
     "customer_zip_code_prefix": pl.String, "customer_city": pl.String,
     "customer_state": pl.String},
)  # fmt: skip

PRODUCTS = _frame(
    [
        ("p1", "cama_mesa_banho", 40, 300, 2, 1200.0, 30.0, 10.0, 20.0, "bed_bath_table"),
        ("p2", "beleza_saude", 35, 500, 1, 250.0, 16.0, 5.0, 10.0, "health_beauty"),
        ("p3", "informatica_acessorios", 50, 800, 3, 500.0, 20.0, 8.0, 15.0,
         "computers_accessories"),
        ("p4", None, None, None, None, 300.0, 18.0, 9.0, 14.0, None),
        ("p5", "pc_gamer", 45, 900, 4, 8000.0, 50.0, 45.0, 25.0, None),
        ("p6", "artigos_de_pesca", 30, 200, 1, 100.0, 10.0, 10.0, 10.0, None),
    ],
    {"product_id": pl.String, "product_category_name": pl.String,
     "product_name_length": pl.Int32, "product_description_length": pl.Int32,
     "product_photos_qty": pl.Int32, "product_weight_g": pl.Float64,
     "product_length_cm": pl.Float64, "product_height_cm": pl.Float64,
     "product_width_cm": pl.Float64, "product_category_name_english": pl.String},
)  # fmt: skip

SELLERS = _frame(
    [("s1", "01001", "SP"), ("s2", "20010", "RJ"), ("s3", "30110", "MG")],
    {"seller_id": pl.String, "seller_zip_code_prefix": pl.String, "seller_state": pl.String},
)

REVIEWS = _frame(
    [
        ("r1", "o1", 2, None, None, _ts("2017-01-21"), _ts("2017-01-22 10:00")),
        ("r2", "o1", 4, None, "chegou certinho", _ts("2017-01-25"), _ts("2017-01-26 09:00")),
        ("r3", "o3", 1, "atrasou", None, _ts("2017-02-21"), _ts("2017-02-22 12:00")),
        ("r4", "o8", 5, None, None, _ts("2017-03-13"), _ts("2017-03-13 18:00")),
        ("r5", "o2", 1, None, None, _ts("2017-01-20"), None),
    ],
    {"review_id": pl.String, "order_id": pl.String, "review_score": pl.Int8,
     "review_comment_title": pl.String, "review_comment_message": pl.String,
     "review_creation_date": TS, "review_answer_timestamp": TS},
)  # fmt: skip

GEOLOCATION = _frame(
    [("01001", -23.55, -46.63, "SP"), ("20010", -22.90, -43.17, "RJ")],
    {"geolocation_zip_code_prefix": pl.String, "geolocation_lat": pl.Float64,
     "geolocation_lng": pl.Float64, "geolocation_state": pl.String},
)  # fmt: skip

CATEGORY_TRANSLATION = _frame(
    [("cama_mesa_banho", "bed_bath_table"), ("beleza_saude", "health_beauty"),
     ("informatica_acessorios", "computers_accessories")],
    {"product_category_name": pl.String, "product_category_name_english": pl.String},
)  # fmt: skip

# IPCA index chosen so deflation is easy by hand: Jan 100.00, Feb 101.00, Mar 99.99.
IPCA_MONTHLY = _frame(
    [
        (date(2016, 12, 1), 0.30, 99.62),
        (date(2017, 1, 1), 0.38, 100.00),
        (date(2017, 2, 1), 1.00, 101.00),
        (date(2017, 3, 1), -1.00, 99.99),
        (date(2017, 4, 1), 0.51, 100.50),
    ],
    {"month": pl.Date, "pct_change": pl.Float64, "index": pl.Float64},
)

WEATHER_DAILY = _frame(
    [
        ("SP", "São Paulo", date(2017, 1, 10), 30.1, 20.2, 25.0, 12.5, False),
        ("RJ", "Rio de Janeiro", date(2017, 1, 15), 35.0, 24.0, 29.5, 0.0, True),
        ("SP", "São Paulo", date(2017, 2, 3), 28.0, 19.0, 23.4, 3.2, False),
        ("MG", "Belo Horizonte", date(2017, 2, 11), 27.0, 18.0, 22.1, 7.0, False),
    ],
    {"state": pl.String, "capital": pl.String, "date": pl.Date, "temperature_max": pl.Float64,
     "temperature_min": pl.Float64, "temperature_mean": pl.Float64,
     "precipitation_sum": pl.Float64, "synthetic": pl.Boolean},
)  # fmt: skip


def silver_frames(*, optional: bool = True) -> dict[str, pl.DataFrame]:
    """Every silver dataset of the fixture, `sales_consolidated` built by silver's own code."""
    sales, _ = consolidate_sales(ORDERS, ORDER_ITEMS, PAYMENTS, CUSTOMERS, PRODUCTS, REVIEWS)
    frames = {
        "orders": ORDERS,
        "order_items": ORDER_ITEMS,
        "payments": PAYMENTS,
        "customers": CUSTOMERS,
        "products": PRODUCTS,
        "sellers": SELLERS,
        "reviews": REVIEWS,
        "geolocation": GEOLOCATION,
        "category_translation": CATEGORY_TRANSLATION,
        "sales_consolidated": sales,
        "ipca_monthly": IPCA_MONTHLY,
        "weather_daily": WEATHER_DAILY,
    }
    if not optional:
        frames = {name: frame for name, frame in frames.items() if name not in OPTIONAL}
    return frames


def write_silver_dir(root: Path, frames: dict[str, pl.DataFrame]) -> Path:
    """Lay the frames out as silver does: `<root>/<dataset>/data.parquet` + `_manifest.json`."""
    for name, frame in frames.items():
        directory = root / name
        directory.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(directory / "data.parquet")
        (directory / "_manifest.json").write_text(f'{{"dataset": "{name}"}}')
    return root


# -- the gold tables, by hand ---------------------------------------------------------------
I32, I64, F64, STR, BOOL, DATE = pl.Int32, pl.Int64, pl.Float64, pl.String, pl.Boolean, pl.Date
SALES_TOTALS = {"orders": I64, "items": I64, "price_total": F64, "freight_total": F64,
                "revenue": F64}  # fmt: skip
WEEKDAYS = ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira",
            "sábado", "domingo")  # fmt: skip
MONTHS = {1: "janeiro", 2: "fevereiro", 3: "março"}
IPCA = {1: (0.38, 100.00), 2: (1.00, 101.00), 3: (-1.00, 99.99)}


def _dim_date(with_ipca: bool) -> pl.DataFrame:
    """2017-01-01 .. 2017-03-31: whole months around the first and last purchase."""
    days = [date.fromordinal(date(2017, 1, 1).toordinal() + i) for i in range(90)]
    rows = [
        (d.year * 10_000 + d.month * 100 + d.day, d, d.year, 1, d.month, d.day,
         d.replace(day=1), d.isoweekday(), WEEKDAYS[d.weekday()], MONTHS[d.month],
         d.isoweekday() >= 6, *(IPCA[d.month] if with_ipca else (None, None)))
        for d in days
    ]  # fmt: skip
    return _frame(rows, {
        "date_key": I32, "date": DATE, "year": I32, "quarter": I32, "month": I32, "day": I32,
        "month_start": DATE, "day_of_week": I32, "weekday_name": STR, "month_name": STR,
        "is_weekend": BOOL, "ipca_pct_change": F64, "ipca_index": F64,
    })  # fmt: skip


def _fact() -> pl.DataFrame:
    o = {row[0]: row for row in ORDERS.iter_rows()}  # the orders' timestamps, verbatim
    rows = [
        # order, item, date_key, customer, product, seller, status, main payment type,
        # price, freight, allocated payment, delivery days, late, latest review score
        ("o1", 1, 20170110, "c1", "p1", "s1", "delivered", "credit_card", 100.00, 10.00, 115.79, 10, False, 4),
        ("o1", 2, 20170110, "c1", "p2", "s2", "delivered", "credit_card", 50.00, 5.00, 57.90, 10, False, 4),
        ("o1", 3, 20170110, "c1", "p1", "s1", "delivered", "credit_card", 20.00, 5.00, 26.32, 10, False, 4),
        ("o2", 1, 20170115, "c2", "p3", "s2", "canceled", "boleto", 80.00, 20.00, 100.00, None, None, 1),
        ("o3", 1, 20170203, "c3", "p4", "s1", "delivered", "boleto", 35.50, 4.50, 40.00, 17, True, 1),
        ("o4", 1, 20170210, "c4", "p5", "s3", "shipped", "voucher", 200.00, 0.00, 200.00, None, None, None),
        ("o6", 1, 20170301, "c6", "p2", "s2", "processing", "debit_card", 60.00, 10.00, 70.00, None, None, None),
        ("o7", 1, 20170305, "c7", "p3", "s3", "created", None, 10.00, 2.00, 0.00, None, None, None),
        ("o8", 1, 20170310, "c8", "p2", "s3", "delivered", "credit_card", 40.00, 5.00, 45.00, 2, False, 5),
    ]  # fmt: skip
    return _frame(
        [(*row[:11], *o[row[0]][3:], *row[11:]) for row in rows],
        {"order_id": STR, "order_item_id": I32, "date_key": I32, "customer_key": STR,
         "product_key": STR, "seller_key": STR, "order_status": STR, "payment_type": STR,
         "price": F64, "freight_value": F64, "allocated_payment": F64,
         "order_purchase_timestamp": TS, "order_approved_at": TS,
         "order_delivered_carrier_date": TS, "order_delivered_customer_date": TS,
         "order_estimated_delivery_date": TS, "delivery_days": I32, "is_late": BOOL,
         "review_score": I32},
    )  # fmt: skip


def _fact_orders() -> pl.DataFrame:
    purchased = {row[0]: row[3] for row in ORDERS.iter_rows()}
    rows = [
        # order, date_key, customer, status, bucket, main payment type, items,
        # items value (price + freight), paid, latest review, delivery days, late
        ("o1", 20170110, "c1", "delivered", "fulfilled", "credit_card", 3, 190.00, 200.01, 4, 10, False),
        ("o2", 20170115, "c2", "canceled", "lost", "boleto", 1, 100.00, 100.00, 1, None, None),
        ("o3", 20170203, "c3", "delivered", "fulfilled", "boleto", 1, 40.00, 40.00, 1, 17, True),
        ("o4", 20170210, "c4", "shipped", "fulfilled", "voucher", 1, 200.00, 200.00, None, None, None),
        ("o5", 20170225, "c5", "unavailable", "lost", "credit_card", 0, 0.00, 30.00, None, None, None),
        ("o6", 20170301, "c6", "processing", "awaiting_release", "debit_card", 1, 70.00, 70.00, None, None, None),
        ("o7", 20170305, "c7", "created", "awaiting_release", None, 1, 12.00, 0.00, None, None, None),
        ("o8", 20170310, "c8", "delivered", "fulfilled", "credit_card", 1, 45.00, 45.00, 5, 2, False),
    ]  # fmt: skip
    return _frame(
        [(*row, purchased[row[0]]) for row in rows],
        {"order_id": STR, "date_key": I32, "customer_key": STR, "order_status": STR,
         "status_bucket": STR, "payment_type": STR, "items": I32, "items_value": F64,
         "paid_value": F64, "review_score": I32, "delivery_days": I32, "is_late": BOOL,
         "order_purchase_timestamp": TS},
    )  # fmt: skip


def _sales_monthly(with_ipca: bool) -> pl.DataFrame:
    # Deflated to March 2017 prices: revenue x 99.99 / index(month).
    rows = [
        (date(2017, 1, 1), 2, 4, 250.00, 40.00, 300.01, 0.38, 100.00, 299.98),  # 300.01 x 0.9999
        (date(2017, 2, 1), 2, 2, 235.50, 4.50, 240.00, 1.00, 101.00, 237.60),  # 240 x 0.99
        (date(2017, 3, 1), 3, 3, 110.00, 17.00, 115.00, -1.00, 99.99, 115.00),
    ]
    if with_ipca:
        rows = [(*r[:8], date(2017, 3, 1), r[8]) for r in rows]
    else:  # no IPCA: nothing to deflate with, deflated = nominal
        rows = [(*r[:6], None, None, None, r[5]) for r in rows]
    return _frame(rows, {"month": DATE, **SALES_TOTALS, "ipca_pct_change": F64,
                         "ipca_index": F64, "reference_month": DATE,
                         "revenue_deflated": F64})  # fmt: skip


def _sales_weather_daily(with_weather: bool) -> pl.DataFrame:
    weather = {
        ("SP", date(2017, 1, 10)): ("São Paulo", 30.1, 20.2, 25.0, 12.5, False),
        ("RJ", date(2017, 1, 15)): ("Rio de Janeiro", 35.0, 24.0, 29.5, 0.0, True),
        ("SP", date(2017, 2, 3)): ("São Paulo", 28.0, 19.0, 23.4, 3.2, False),
    }
    sales = [
        ("SP", date(2017, 1, 10), 1, 3, 170.00, 20.00, 200.01),
        ("RJ", date(2017, 1, 15), 1, 1, 80.00, 20.00, 100.00),
        ("SP", date(2017, 2, 3), 1, 1, 35.50, 4.50, 40.00),
        ("MG", date(2017, 2, 10), 1, 1, 200.00, 0.00, 200.00),  # MG weather is for the 11th
        (None, date(2017, 3, 1), 1, 1, 60.00, 10.00, 70.00),  # state masked: no weather
        ("SP", date(2017, 3, 5), 1, 1, 10.00, 2.00, 0.00),
        ("RJ", date(2017, 3, 10), 1, 1, 40.00, 5.00, 45.00),
    ]
    nothing = (None,) * 6
    rows = [
        (s, d, d.year * 10_000 + d.month * 100 + d.day, *totals,
         *(weather.get((s, d), nothing) if with_weather else nothing))
        for s, d, *totals in sales
    ]  # fmt: skip
    return _frame(rows, {
        "customer_state": STR, "date": DATE, "date_key": I32, **SALES_TOTALS, "capital": STR,
        "temperature_max": F64, "temperature_min": F64, "temperature_mean": F64,
        "precipitation_sum": F64, "weather_synthetic": BOOL,
    })  # fmt: skip


def expected_gold(*, optional: bool = True) -> dict[str, pl.DataFrame]:
    """Every gold table of this silver; `optional=False`: silver without IPCA and weather."""
    return {
        "dim_date": _dim_date(optional),
        "dim_customer": _frame(
            [("c1", "u1", "010", CITY_REMOVED, "SP"), ("c2", "u2", "200", CITY_REMOVED, "RJ"),
             ("c3", "u3", "013", CITY_REMOVED, "SP"), ("c4", "u4", "300", CITY_REMOVED, "MG"),
             ("c5", "u5", "201", CITY_REMOVED, "RJ"), ("c6", "u6", "014", CITY_REMOVED, None),
             ("c7", "u1", "010", CITY_REMOVED, "SP"), ("c8", "u8", "220", CITY_REMOVED, "RJ")],
            {"customer_key": STR, "customer_unique_key": STR, "customer_zip_code_prefix": STR,
             "customer_city": STR, "customer_state": STR},
        ),
        "dim_product": _frame(
            [("p1", "cama_mesa_banho", "bed_bath_table", "Cama/Mesa/Banho", 2, 1200.0, 30.0, 10.0, 20.0, 6000.0),
             ("p2", "beleza_saude", "health_beauty", "Beleza/Saúde", 1, 250.0, 16.0, 5.0, 10.0, 800.0),
             ("p3", "informatica_acessorios", "computers_accessories", "Informática/Acessórios", 3, 500.0, 20.0, 8.0, 15.0, 2400.0),
             ("p4", None, None, "Sem categoria", None, 300.0, 18.0, 9.0, 14.0, 2268.0),
             ("p5", "pc_gamer", None, "PC Gamer", 4, 8000.0, 50.0, 45.0, 25.0, 56250.0),
             ("p6", "artigos_de_pesca", None, "Artigos de Pesca", 1, 100.0, 10.0, 10.0, 10.0, 1000.0)],
            {"product_key": STR, "product_category_name": STR,
             "product_category_name_english": STR, "category_label": STR,
             "product_photos_qty": I32, "product_weight_g": F64, "product_length_cm": F64,
             "product_height_cm": F64, "product_width_cm": F64, "product_volume_cm3": F64},
        ),
        "dim_seller": _frame(
            [("s1", "01001", "SP"), ("s2", "20010", "RJ"), ("s3", "30110", "MG")],
            {"seller_key": STR, "seller_zip_code_prefix": STR, "seller_state": STR},
        ),
        "fact_sales": _fact(),
        "fact_orders": _fact_orders(),
        "sales_monthly": _sales_monthly(optional),
        "sales_by_state": _frame(
            # orders, items, price, freight, revenue, people, revenue per order
            [("MG", 1, 1, 200.00, 0.00, 200.00, 1, 200.00),
             ("RJ", 2, 2, 120.00, 25.00, 145.00, 2, 72.50),
             ("SP", 3, 5, 215.50, 26.50, 240.01, 2, 80.00),  # o1, o3, o7 (u1 twice)
             (None, 1, 1, 60.00, 10.00, 70.00, 1, 70.00)],
            {"customer_state": STR, **SALES_TOTALS, "customers": I64, "average_ticket": F64},
        ),
        "customers_by_state": _frame(
            [("MG", 1, 1, 1), ("RJ", 3, 3, 2), ("SP", 3, 2, 2), (None, 1, 1, 1)],
            {"customer_state": STR, "customer_ids": I64, "customers": I64,
             "buying_customers": I64},
        ),
        "sales_by_category": _frame(
            [("pc_gamer", None, "PC Gamer", 1, 1, 200.00, 0.00, 200.00, 1),
             ("beleza_saude", "health_beauty", "Beleza/Saúde", 3, 3, 150.00, 20.00, 172.90, 2),
             ("cama_mesa_banho", "bed_bath_table", "Cama/Mesa/Banho", 1, 2, 120.00, 15.00, 142.11, 3),
             ("informatica_acessorios", "computers_accessories", "Informática/Acessórios", 2, 2, 90.00, 22.00, 100.00, 4),
             (None, None, "Sem categoria", 1, 1, 35.50, 4.50, 40.00, 5)],
            {"product_category_name": STR, "product_category_name_english": STR,
             "category_label": STR, **SALES_TOTALS, "revenue_rank": I32},
        ),
        "order_status_summary": _frame(
            [(1, "total", "Total Pedidos", "", 8, 685.01),
             (2, "fulfilled", "Vendas Concretizadas", "delivered, shipped", 4, 485.01),
             (3, "awaiting_release", "Aguardando Liberação",
              "created, approved, invoiced, processing", 2, 70.00),
             (4, "lost", "Vendas Perdidas", "canceled, unavailable", 2, 130.00)],
            {"panel_order": I32, "bucket": STR, "label": STR, "statuses": STR, "orders": I64,
             "value": F64},
        ),
        "payment_type_summary": _frame(
            # payments, orders, value, avg installments, share of 685.01, fulfilled part
            [("boleto", 2, 2, 140.00, 1.0, 0.2044, 1, 40.00),
             ("credit_card", 3, 3, 225.00, 2.0, 0.3285, 2, 195.00),
             ("debit_card", 1, 1, 70.00, 1.0, 0.1022, 0, 0.00),
             ("voucher", 2, 2, 250.01, 1.0, 0.3650, 2, 250.01)],
            {"payment_type": STR, "payments": I64, "orders": I64, "value": F64,
             "average_installments": F64, "value_share": F64, "fulfilled_orders": I64,
             "fulfilled_value": F64},
        ),
        "delivery_performance": _frame(
            # RJ: o8 in 2 days (promised 10); SP: o1 in 10 (15), o3 in 17 (11, late)
            [("RJ", 1, 2.0, 10.0, 1, 0, 0.0, 5.0), ("SP", 2, 13.5, 13.0, 1, 1, 0.5, 2.5)],
            {"customer_state": STR, "delivered_orders": I64, "average_delivery_days": F64,
             "average_estimated_days": F64, "on_time_orders": I64, "late_orders": I64,
             "late_share": F64, "average_review_score": F64},
        ),
        "sales_weather_daily": _sales_weather_daily(optional),
    }  # fmt: skip
