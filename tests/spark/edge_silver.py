"""Silver built to hit every place where Spark and DuckDB silently differ (docs/gold.md):

- half-way rounding: 40 delivered orders in AM whose average delivery days, review score,
  installments and ticket are exactly 2.675, a decimal whose nearest double lies below it
  (Spark's `round(double, 2)` gives 2.68, DuckDB's 2.67; the models must give one answer);
- double -> integer casts: prices and payments in fractions of a cent (10.125, 2.675, 0.005);
- null ordering in windows and `max_by`-style picks: payment types tied in value; reviews
  with null dates; two categories tied in revenue, a product without a category;
- zero divisors: an IPCA index of 0 (the deflated revenue), a state whose delivered orders
  have no review score (an average over nothing);
and the shapes gold must survive: no rows at all, one order, no optional datasets, products
without the English category name (joined from `category_translation`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

import polars as pl

from tasks.silver.masking import CITY_REMOVED
from tasks.silver.sales import consolidate_sales
from tests.spark.gold_fixture import OPTIONAL, silver_frames

HALF_WAY_ORDERS = 40  # 27 x 3 + 13 x 2 = 107: every average is 107 / 40 = 2.675
START = datetime(2017, 2, 1, 9, 0)


def _append(frame: pl.DataFrame, rows: list[tuple]) -> pl.DataFrame:
    return pl.concat([frame, pl.DataFrame(rows, schema=frame.schema, orient="row")])


def _half_way(frames: dict[str, pl.DataFrame]) -> dict[str, list[tuple]]:
    rows: dict[str, list[tuple]] = {n: [] for n in ("orders", "order_items", "payments",
                                                    "customers", "reviews")}  # fmt: skip
    for i in range(HALF_WAY_ORDERS):
        three = i < 27
        days, value = (3, 3.00) if three else (2, 2.00)
        order, customer = f"h{i:02d}", f"ch{i:02d}"
        bought = START + timedelta(hours=i)
        rows["orders"].append(
            (
                order,
                customer,
                "delivered",
                bought,
                bought,
                bought + timedelta(days=1),
                bought + timedelta(days=days),
                bought + timedelta(days=days if i % 5 else days - 1),
            )
        )
        rows["order_items"].append((order, 1, "p2", "s1", bought, value, 0.0))
        rows["payments"].append((order, 1, "not_defined", days, value))
        rows["customers"].append((customer, f"uh{i:02d}", "690", CITY_REMOVED, "AM"))
        rows["reviews"].append((f"rh{i:02d}", order, days, None, None, bought, bought))
    return rows


def edge_frames() -> dict[str, pl.DataFrame]:
    """The hand-built silver (gold_fixture) plus every edge case above."""
    frames = silver_frames()
    added = _half_way(frames)
    day = datetime(2017, 3, 15, 10, 0)
    # Fractions of a cent; a state (BA) whose delivered order has no review.
    added["orders"] += [
        ("e1", "ce1", "delivered", day, day, day, day + timedelta(days=4), day + timedelta(3)),
        ("e2", "ce2", "invoiced", day, day, None, None, day + timedelta(days=9)),
    ]
    added["customers"] += [("ce1", "ue1", "400", CITY_REMOVED, "BA"),
                           ("ce2", "ue2", "401", CITY_REMOVED, "BA")]  # fmt: skip
    added["order_items"] += [("e1", 1, "p7", "s2", day, 10.125, 0.005),
                             ("e1", 2, "p8", "s2", day, 10.125, 0.005),
                             ("e2", 1, "p9", "s3", day, 2.675, 0.005)]  # fmt: skip
    # Payment types tied in value: the main type is the first by name.
    added["payments"] += [("e1", 1, "credit_card", 1, 11.40), ("e1", 2, "boleto", 1, 11.40),
                          ("e2", 1, "voucher", 1, 0.005)]  # fmt: skip
    # Reviews: one without dates, one without an answer time, one complete (the latest).
    added["reviews"] += [("re1", "e2", 1, None, None, None, None),
                         ("re2", "e2", 2, None, None, day, None),
                         ("re3", "e2", 4, None, None, day, day)]  # fmt: skip
    edge = {name: _append(frames[name], rows) for name, rows in added.items()}
    # Two new categories with the same revenue (the rank breaks the tie by label).
    edge["products"] = _append(frames["products"], [
        ("p7", "zz_categoria_b", 10, 10, 1, 1.0, 1.0, 1.0, 1.0, None),
        ("p8", "zz_categoria_a", 10, 10, 1, 1.0, 1.0, 1.0, 1.0, None),
        ("p9", None, None, None, None, None, None, None, None, None),
    ])  # fmt: skip
    # An IPCA index of 0: the month's deflated revenue divides by it.
    edge["ipca_monthly"] = frames["ipca_monthly"].with_columns(
        pl.when(pl.col("month") == date(2017, 3, 1)).then(0.0).otherwise(pl.col("index"))
        .alias("index")
    )  # fmt: skip
    weather = frames["weather_daily"]
    edge["weather_daily"] = _append(weather, [
        ("AM", "Manaus", date(2017, 2, 1), 31.0, 24.0, 27.5, 1.0, None)
    ])  # fmt: skip
    return _with_sales({**frames, **edge})


def _with_sales(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    sales, _ = consolidate_sales(
        frames["orders"], frames["order_items"], frames["payments"], frames["customers"],
        frames["products"], frames["reviews"],
    )  # fmt: skip
    return {**frames, "sales_consolidated": sales}


def empty_frames() -> dict[str, pl.DataFrame]:
    """Every dataset present, no rows."""
    return {name: frame.clear() for name, frame in silver_frames().items()}


def one_order_frames() -> dict[str, pl.DataFrame]:
    """One order (o1: three items, two payments) and what it refers to."""
    frames = silver_frames()
    keep = {
        "orders": pl.col("order_id") == "o1", "order_items": pl.col("order_id") == "o1",
        "payments": pl.col("order_id") == "o1", "reviews": pl.col("order_id") == "o1",
        "customers": pl.col("customer_id") == "c1",
    }  # fmt: skip
    frames = {name: frame.filter(keep[name]) if name in keep else frame
              for name, frame in frames.items()}  # fmt: skip
    return _with_sales(frames)


def without_optional(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {name: frame for name, frame in frames.items() if name not in OPTIONAL}


def untranslated_products(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Products as an older silver wrote them: no English name (category_translation has it)."""
    return {**frames, "products": frames["products"].drop("product_category_name_english")}
