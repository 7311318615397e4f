"""What the dashboard asks (`Filters`) and what it gets back, plus the finishing steps both
ways of answering share (SQL on the warehouse, polars on the in-memory facts), so the two
give identical frames."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from validation.catalog import ORDER_BUCKET_LABELS

# The seed dashboard's panels, in its order (labels as `order_status_summary` has them).
STATUS_PANELS = ORDER_BUCKET_LABELS["pt"]
# Weather bands: (upper bound, code). Codes, not labels, reach SQL; -1 = no weather that day.
RAIN_BANDS = ((0.0, 0), (5.0, 1), (20.0, 2))  # dry, up to 5 mm, 5-20 mm, above: 3
TEMPERATURE_BANDS = ((20.0, 0), (25.0, 1), (30.0, 2))  # °C mean: <20, 20-25, 25-30, >=30: 3

STATUS_SCHEMA = {"bucket": pl.String, "label": pl.String, "orders": pl.Int64, "value": pl.Float64}
BUCKET_COUNTS = {"bucket": pl.String, "orders": pl.Int64, "value": pl.Float64}
PAYMENTS_SCHEMA = {"payment_type": pl.String, "orders": pl.Int64, "value": pl.Float64}
STATES_SCHEMA = {"customer_state": pl.String, "revenue": pl.Float64, "orders": pl.Int64,
                 "customers": pl.Int64}  # fmt: skip
CATEGORIES_SCHEMA = {"category_label": pl.String, "revenue": pl.Float64, "orders": pl.Int64,
                     "items": pl.Int64}  # fmt: skip
DELIVERY_SCHEMA = {
    "customer_state": pl.String, "delivered_orders": pl.Int64,
    "average_delivery_days": pl.Float64, "on_time_orders": pl.Int64, "late_orders": pl.Int64,
    "average_review_score": pl.Float64,
}  # fmt: skip
MONTH_KEYS = {"month_key": pl.Int64, "revenue": pl.Float64}
MONTH_INDEX = {"month": pl.Date, "ipca_index": pl.Float64}


@dataclass(frozen=True)
class Filters:
    """What the reader chose; None means "everything" (the marts answer)."""

    start: date | None = None
    end: date | None = None
    state: str | None = None
    category: str | None = None

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.start, self.end, self.state, self.category))


@dataclass(frozen=True)
class Kpis:
    revenue: float
    orders: int
    average_ticket: float | None
    average_review: float | None
    on_time_share: float | None  # on-time / delivered orders with a known outcome


@dataclass(frozen=True)
class MonthlyRevenue:
    frame: pl.DataFrame  # month, revenue, revenue_deflated
    reference_month: date | None  # prices of this month; None: no IPCA, deflated = nominal


@dataclass(frozen=True)
class WeatherView:
    rain: pl.DataFrame  # band, state_days, revenue, average_revenue
    temperature: pl.DataFrame
    state_days: int
    weather_days: int  # state-days with a weather reading
    synthetic_days: int  # ... of which from the bundled synthetic sample
    category_ignored: bool  # the mart has no category: that filter does not apply


@dataclass(frozen=True)
class FilterOptions:
    states: list[str]
    categories: list[str]
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class DashboardData:
    filters: Filters
    kpis: Kpis
    status: pl.DataFrame
    payments: pl.DataFrame
    states: pl.DataFrame
    categories: pl.DataFrame
    monthly: MonthlyRevenue
    delivery: pl.DataFrame
    weather: WeatherView
    seconds: float
    source: str  # "marts", "sql" (fact queries) or "memory" (in-memory facts)


@dataclass(frozen=True)
class WarehouseState:
    kind: str  # ready | missing (no SQLite file) | no_schema | no_rows | unreachable
    detail: str = ""

    @property
    def ready(self) -> bool:
        return self.kind == "ready"


def date_key(day: date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def key_to_date(key: int) -> date:
    return date(key // 10_000, key // 100 % 100, key % 100)


# -- finishing steps shared by both ways of answering ----------------------------------------
def status_frame(found: pl.DataFrame) -> pl.DataFrame:
    """Per-bucket counts (`BUCKET_COUNTS`, with or without a total row) -> the four panels."""
    counts = {row["bucket"]: row for row in found.iter_rows(named=True)}
    if "total" not in counts:
        counts["total"] = {"orders": int(found["orders"].sum()), "value": found["value"].sum()}
    empty = {"orders": 0, "value": 0.0}
    rows = [
        (bucket, label, counts.get(bucket, empty)["orders"], counts.get(bucket, empty)["value"])
        for bucket, label in STATUS_PANELS.items()
    ]
    return pl.DataFrame(rows, schema=STATUS_SCHEMA, orient="row")


def sort_payments(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(["value", "payment_type"], descending=[True, False], nulls_last=True)


def sort_states(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.sort(["revenue", "customer_state"], descending=[True, False], nulls_last=True)


def deflate(
    by_month: pl.DataFrame, index: pl.DataFrame, reference_index: float | None
) -> pl.DataFrame:
    """(month_key yyyymm, revenue) + the months' IPCA index -> month, revenue, deflated:
    revenue × index(reference) / index(month), 2 decimals; nominal when there is no IPCA."""
    deflated = (
        (pl.col("revenue") * reference_index / pl.col("ipca_index")).round(2)
        if reference_index is not None
        else pl.col("revenue")
    )
    month = pl.date(pl.col("month_key") // 100, pl.col("month_key") % 100, 1)
    return (
        by_month.with_columns(month.alias("month"))
        .join(index, on="month", how="left")
        .select("month", "revenue", deflated.alias("revenue_deflated"))
        .sort("month")
    )


def finish_delivery(frame: pl.DataFrame) -> pl.DataFrame:
    """Averages to 2 decimals (as the mart), the late share of orders with a known outcome."""
    known = pl.col("on_time_orders") + pl.col("late_orders")
    return frame.with_columns(
        pl.col("average_delivery_days", "average_review_score").round(2),
        pl.when(known > 0).then(pl.col("late_orders") / known).alias("late_share"),
    ).sort(["delivered_orders", "customer_state"], descending=[True, False], nulls_last=True)


def kpis_from(states: pl.DataFrame, delivery: pl.DataFrame, review: float | None) -> Kpis:
    """Headline numbers from the state and delivery views (every order has one state)."""
    revenue, orders = float(states["revenue"].sum()), int(states["orders"].sum())
    on_time = int(delivery["on_time_orders"].sum())
    known = on_time + int(delivery["late_orders"].sum())
    return Kpis(
        revenue=revenue,
        orders=orders,
        average_ticket=revenue / orders if orders else None,
        average_review=review,
        on_time_share=on_time / known if known else None,
    )
