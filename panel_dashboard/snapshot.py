"""The facts in memory, so a filter change is answered in tens of milliseconds.

At the real Olist size (112k items, 99k orders) the fact queries take seconds on SQLite (and
about a second on PostgreSQL) per filter change, because every view scans the facts again.
One copy of the columns the views need, read once with SQLAlchemy Core and kept per process,
is ~15 MB; polars answers the 7 fact views from it in ~30 ms (docs/dashboard.md).

The copy is shared by every session and checked on each use against a fingerprint of the
marts (a few rows): a new load of the warehouse changes it, and the copy is read again.
A warehouse larger than `MAX_ROWS` items is not copied: the fact queries answer instead.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date

import polars as pl
from sqlalchemy import Engine, func, select

from panel_dashboard.model import (
    BUCKET_COUNTS,
    CATEGORIES_SCHEMA,
    DELIVERY_SCHEMA,
    PAYMENTS_SCHEMA,
    STATES_SCHEMA,
    Filters,
    MonthlyRevenue,
    date_key,
    deflate,
    finish_delivery,
    sort_payments,
    sort_states,
    status_frame,
)
from panel_dashboard.tables import (
    DIM_CUSTOMER,
    DIM_PRODUCT,
    FACT_ORDERS,
    FACT_SALES,
    ORDER_STATUS,
    SALES_MONTHLY,
    frame,
    ipca_by_month,
    ipca_reference,
)

MAX_ROWS = 3_000_000  # items; ~400 MB of memory at this size

SALES = {"order_id": pl.String, "date_key": pl.Int32, "state": pl.String,
         "person": pl.String, "category": pl.String, "revenue": pl.Float64}  # fmt: skip
ORDERS = {"order_id": pl.String, "date_key": pl.Int32, "state": pl.String,
          "order_status": pl.String, "bucket": pl.String, "payment_type": pl.String,
          "paid": pl.Float64, "review": pl.Float64, "days": pl.Float64, "late": pl.Boolean,
          "items": pl.Int32}  # fmt: skip


@dataclass(frozen=True)
class FactSnapshot:
    fingerprint: tuple
    sales: pl.DataFrame  # order_no, date_key, state, person, category, revenue
    orders: pl.DataFrame  # order_no, date_key, state, order_status, bucket, payment_type, ...
    months: pl.DataFrame  # month, ipca_index
    reference: tuple[date | None, float | None]


def fingerprint(engine: Engine) -> tuple:
    """Changes whenever a load changes the data: the marts are rebuilt with the facts."""
    m, s = SALES_MONTHLY.c, ORDER_STATUS.c
    with engine.connect() as conn:
        monthly = conn.execute(
            select(func.count(), func.sum(m.revenue), func.sum(m.orders), func.sum(m["items"]))
        ).one()
        status = conn.execute(select(s.bucket, s.orders, s.value).order_by(s.bucket)).all()
    return tuple(monthly), tuple(tuple(row) for row in status)


def read_snapshot(engine: Engine) -> FactSnapshot:
    """Read the facts' dashboard columns (dimensions joined) into memory."""
    fs, fo, dc, dp = FACT_SALES.c, FACT_ORDERS.c, DIM_CUSTOMER.c, DIM_PRODUCT.c
    by_customer = fs.customer_key == dc.customer_key
    sales_statement = select(
        fs.order_id, fs.date_key, dc.customer_state, dc.customer_unique_key, dp.category_label,
        fs.allocated_payment,
    ).select_from(
        FACT_SALES.outerjoin(DIM_CUSTOMER, by_customer)
        .outerjoin(DIM_PRODUCT, fs.product_key == dp.product_key)
    )  # fmt: skip
    orders_statement = select(
        fo.order_id,
        fo.date_key,
        dc.customer_state,
        fo.order_status,
        fo.status_bucket,
        fo.payment_type,
        fo.paid_value,
        fo.review_score,
        fo.delivery_days,
        fo.is_late,
        fo["items"],
    ).select_from(FACT_ORDERS.outerjoin(DIM_CUSTOMER, fo.customer_key == dc.customer_key))
    stamp = fingerprint(engine)
    orders = frame(engine, orders_statement, ORDERS).with_row_index("order_no")
    sales = (
        frame(engine, sales_statement, SALES)
        .join(orders.select("order_id", "order_no"), on="order_id", how="left")
        .with_columns(pl.col("person").rank("dense").cast(pl.UInt32))  # ids -> small ints
        .drop("order_id")
    )
    return FactSnapshot(
        fingerprint=stamp,
        sales=sales,
        orders=orders.drop("order_id"),
        months=ipca_by_month(engine),
        reference=ipca_reference(engine),
    )


_lock = threading.Lock()
_snapshots: dict[str, FactSnapshot] = {}


def current(engine: Engine) -> FactSnapshot | None:
    """This warehouse's facts in memory, read again if a load changed them since; None for
    a warehouse too large to copy (more than `MAX_ROWS` items)."""
    key = engine.url.render_as_string(hide_password=True)
    stamp = fingerprint(engine)
    with _lock:
        cached = _snapshots.get(key)
        if cached is not None and cached.fingerprint == stamp:
            return cached
        with engine.connect() as conn:
            items = conn.execute(select(func.count()).select_from(FACT_SALES)).scalar()
        if items > MAX_ROWS:
            return None
        _snapshots[key] = read_snapshot(engine)
        return _snapshots[key]


def warm_up(engine: Engine) -> threading.Thread:
    """Read the copy in the background (a server start), so the first filter is fast too."""
    thread = threading.Thread(target=current, args=(engine,), daemon=True, name="cofre-warm-up")
    thread.start()
    return thread


# -- the views, as panel_dashboard/queries.py computes them in SQL ----------------------------
def _filtered(snapshot: FactSnapshot, f: Filters) -> tuple[pl.DataFrame, pl.DataFrame]:
    sales, orders = snapshot.sales, snapshot.orders
    conditions = []
    if f.start is not None:
        conditions.append(pl.col("date_key") >= date_key(f.start))
    if f.end is not None:
        conditions.append(pl.col("date_key") <= date_key(f.end))
    if f.state is not None:
        conditions.append(pl.col("state") == f.state)
    if conditions:
        sales, orders = sales.filter(*conditions), orders.filter(*conditions)
    if f.category is not None:
        sales = sales.filter(pl.col("category") == f.category)
        # Orders with at least one item in the category (the SQL's EXISTS).
        orders = orders.filter(pl.col("order_no").is_in(sales["order_no"].unique().implode()))
    return sales, orders


def views(snapshot: FactSnapshot, f: Filters) -> dict:
    """status, payments, states, categories, monthly, delivery, review for the filters."""
    sales, orders = _filtered(snapshot, f)
    count, revenue = pl.len().cast(pl.Int64).alias("n"), pl.col("revenue").sum()
    paid = [count, pl.col("paid").sum()]
    distinct_orders = pl.col("order_no").n_unique().cast(pl.Int64)
    status = orders.group_by("bucket").agg(paid)
    payments = orders.filter(pl.col("bucket") == "fulfilled").group_by("payment_type").agg(paid)
    states = sales.group_by("state").agg(
        revenue, distinct_orders, pl.col("person").n_unique().cast(pl.Int64).alias("people")
    )
    categories = (
        sales.group_by("category")
        .agg(revenue, distinct_orders, count)
        .sort(["revenue", "category"], descending=[True, False], nulls_last=True)
        .head(10)
    )
    month_key = (pl.col("date_key") // 100).cast(pl.Int64).alias("month_key")
    by_month = sales.group_by(month_key).agg(revenue)
    delivered = orders.filter(  # as the SQL: delivered, with a date, from the items' fact
        pl.col("order_status") == "delivered", pl.col("days").is_not_null(), pl.col("items") > 0
    )
    delivery = delivered.group_by("state").agg(
        count,
        pl.col("days").mean(),
        (~pl.col("late")).sum().cast(pl.Int64).alias("on_time"),
        pl.col("late").sum().cast(pl.Int64),
        pl.col("review").mean(),
    )
    return {
        "status": status_frame(_named(status, BUCKET_COUNTS)),
        "payments": sort_payments(_named(payments, PAYMENTS_SCHEMA)),
        "states": sort_states(_named(states, STATES_SCHEMA)),
        "categories": _named(categories, CATEGORIES_SCHEMA),
        "monthly": MonthlyRevenue(
            deflate(by_month, snapshot.months, snapshot.reference[1]), snapshot.reference[0]
        ),
        "delivery": finish_delivery(_named(delivery, DELIVERY_SCHEMA)),
        "review": orders["review"].mean(),
    }


def _named(frame: pl.DataFrame, schema: dict) -> pl.DataFrame:
    """Positional columns -> the SQL path's names and types."""
    return frame.rename(dict(zip(frame.columns, schema, strict=True))).cast(schema)
