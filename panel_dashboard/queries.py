"""The dashboard's questions to the warehouse: plain functions, engine + `Filters` in, frames out.

With no filter every view reads its gold mart (`sales_monthly`, `sales_by_state`, ...), so the
dashboard shows exactly what the pipeline published. With a date range, a state or a category
the same view is computed from `fact_sales` / `fact_orders` joined to the dimensions; on the
full range those queries give the marts' numbers (tested), so filtering never changes meaning.
Every value travels as a bound parameter (SQLAlchemy Core): a category called
`cama'; DROP TABLE ...` is just a string to compare with.

`load_dashboard` answers filtered views from an in-memory copy of the facts when it fits
(panel_dashboard/snapshot.py): on SQLite the fact queries take ~2 s per filter change at the
real Olist size, the in-memory copy ~30 ms (docs/dashboard.md has the figures).

Scopes, as the marts define them: sales views (revenue, orders, states, categories, months)
count order items of every status; the status panels and the fulfilled payment types are
order-level from `fact_orders`, so they include orders without items, and a category filter
keeps the orders with at least one item in that category. Filtered payment types group each
order under its main payment type (the mart splits an order's payments by type).
Sales vs weather is its own view (panel_dashboard/weather.py); the tables and the reads every
path shares are in panel_dashboard/tables.py.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl
from sqlalchemy import Double, Engine, Table, case, cast, distinct, func, inspect, select
from sqlalchemy.engine import make_url

from panel_dashboard import snapshot
from panel_dashboard.model import (
    BUCKET_COUNTS,
    CATEGORIES_SCHEMA,
    DELIVERY_SCHEMA,
    MONTH_KEYS,
    PAYMENTS_SCHEMA,
    STATES_SCHEMA,
    STATUS_PANELS,
    DashboardData,
    FilterOptions,
    Filters,
    Kpis,
    MonthlyRevenue,
    WarehouseState,
    WeatherView,
    deflate,
    finish_delivery,
    key_to_date,
    kpis_from,
    sort_payments,
    sort_states,
    status_frame,
)
from panel_dashboard.tables import (
    CUSTOMERS_BY_STATE,
    DELIVERY,
    DIM_CUSTOMER,
    DIM_PRODUCT,
    FACT_ORDERS,
    FACT_SALES,
    ORDER_STATUS,
    PAYMENT_TYPES,
    SALES_BY_CATEGORY,
    SALES_BY_STATE,
    SALES_MONTHLY,
    date_conditions,
    frame,
    ipca_by_month,
    ipca_reference,
)
from panel_dashboard.weather import sales_weather
from tasks.warehouse.connection import Warehouse
from validation.catalog import WAREHOUSE_SCHEMA

__all__ = [
    "STATUS_PANELS", "DashboardData", "FilterOptions", "Filters", "Kpis", "MonthlyRevenue",
    "WarehouseState", "WeatherView", "average_review", "delivery_by_state", "filter_options",
    "fulfilled_payments", "kpis", "load_dashboard", "monthly_revenue", "order_status",
    "sales_by_state", "top_categories", "warehouse_state",
]  # fmt: skip


def warehouse_state(warehouse: Warehouse) -> WarehouseState:
    """Whether the warehouse has sales to show, without creating anything: a missing SQLite
    file stays missing, an unreachable server is reported, never raised."""
    url = make_url(warehouse.engine.url)
    on_disk = url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:")
    if on_disk and not Path(url.database).exists():
        return WarehouseState("missing", f"no file at {url.database}")
    try:
        with warehouse.engine.connect() as conn:
            schema = WAREHOUSE_SCHEMA if warehouse.dialect == "postgresql" else None
            if not inspect(conn).has_table("fact_sales", schema=schema):
                return WarehouseState("no_schema", "the dw tables do not exist yet")
            if conn.execute(select(FACT_SALES.c.order_id).limit(1)).first() is None:
                return WarehouseState("no_rows", "the sales fact has no rows")
    except Exception as exc:  # any driver error: the page explains, nothing is raised
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        return WarehouseState("unreachable", f"{type(exc).__name__}: {first_line}")
    return WarehouseState("ready")


# -- helpers ----------------------------------------------------------------------------------
def _avg(column):
    # PostgreSQL's avg(integer) is numeric (Decimal in Python): ask for a double everywhere.
    return cast(func.avg(column), Double)


def _count_where(column, value: bool):
    return func.coalesce(func.sum(case((column.is_(value), 1), else_=0)), 0)


def _customers_in_state(state: str):
    return select(DIM_CUSTOMER.c.customer_key).where(DIM_CUSTOMER.c.customer_state == state)


def _products_in_category(category: str):
    return select(DIM_PRODUCT.c.product_key).where(DIM_PRODUCT.c.category_label == category)


def _date_and_state(fact: Table, f: Filters) -> list:
    """The purchase-day range and the customer's state, alike on both facts."""
    conditions = date_conditions(fact.c.date_key, f)
    if f.state is not None:
        conditions.append(fact.c.customer_key.in_(_customers_in_state(f.state)))
    return conditions


def sales_conditions(f: Filters) -> list:
    """WHERE clauses on `fact_sales` for the filters (bound parameters only)."""
    conditions = _date_and_state(FACT_SALES, f)
    if f.category is not None:
        conditions.append(FACT_SALES.c.product_key.in_(_products_in_category(f.category)))
    return conditions


def order_conditions(f: Filters) -> list:
    """WHERE clauses on `fact_orders`; a category keeps orders with an item in it."""
    conditions = _date_and_state(FACT_ORDERS, f)
    if f.category is not None:
        items = select(FACT_SALES.c.order_id).where(
            FACT_SALES.c.order_id == FACT_ORDERS.c.order_id,
            FACT_SALES.c.product_key.in_(_products_in_category(f.category)),
        )
        conditions.append(items.exists())
    return conditions


# -- the views --------------------------------------------------------------------------------
def order_status(engine: Engine, f: Filters) -> pl.DataFrame:
    """The four seed panels (total, fulfilled, awaiting release, lost): orders and R$."""
    if not f.active:
        statement = select(ORDER_STATUS.c.bucket, ORDER_STATUS.c.orders, ORDER_STATUS.c.value)
    else:
        o = FACT_ORDERS.c
        statement = (
            select(o.status_bucket, func.count(), func.coalesce(func.sum(o.paid_value), 0.0))
            .where(*order_conditions(f))
            .group_by(o.status_bucket)
        )
    return status_frame(frame(engine, statement, BUCKET_COUNTS))


def fulfilled_payments(engine: Engine, f: Filters) -> pl.DataFrame:
    """Fulfilled sales by payment type: orders and R$, largest first."""
    if not f.active:
        m = PAYMENT_TYPES.c
        statement = select(m.payment_type, m.fulfilled_orders, m.fulfilled_value).where(
            m.fulfilled_orders > 0
        )
    else:
        o = FACT_ORDERS.c
        statement = (
            select(o.payment_type, func.count(), func.coalesce(func.sum(o.paid_value), 0.0))
            .where(o.status_bucket == "fulfilled", *order_conditions(f))
            .group_by(o.payment_type)
        )
    return sort_payments(frame(engine, statement, PAYMENTS_SCHEMA))


def sales_by_state(engine: Engine, f: Filters) -> pl.DataFrame:
    """Per customer state (None: masked): revenue, orders, buying customers (people)."""
    if not f.active:
        s, c = SALES_BY_STATE.c, CUSTOMERS_BY_STATE.c
        same_state = s.customer_state.is_not_distinct_from(c.customer_state)
        statement = select(
            s.customer_state, s.revenue, s.orders, func.coalesce(c.buying_customers, s.customers)
        ).select_from(SALES_BY_STATE.outerjoin(CUSTOMERS_BY_STATE, same_state))
    else:
        s, c = FACT_SALES.c, DIM_CUSTOMER.c
        statement = (
            select(
                c.customer_state,
                func.sum(s.allocated_payment),
                func.count(distinct(s.order_id)),
                func.count(distinct(c.customer_unique_key)),
            )
            .select_from(FACT_SALES.outerjoin(DIM_CUSTOMER, s.customer_key == c.customer_key))
            .where(*sales_conditions(f))
            .group_by(c.customer_state)
        )
    return sort_states(frame(engine, statement, STATES_SCHEMA))


def top_categories(engine: Engine, f: Filters, limit: int = 10) -> pl.DataFrame:
    """The best-selling categories by revenue, with their friendly Portuguese labels."""
    if not f.active:
        m = SALES_BY_CATEGORY.c
        statement = (
            select(m.category_label, m.revenue, m.orders, m["items"])
            .where(m.revenue_rank <= limit)
            .order_by(m.revenue_rank)
        )
    else:
        s, p = FACT_SALES.c, DIM_PRODUCT.c
        revenue = func.sum(s.allocated_payment)
        statement = (
            select(p.category_label, revenue, func.count(distinct(s.order_id)), func.count())
            .select_from(FACT_SALES.outerjoin(DIM_PRODUCT, s.product_key == p.product_key))
            .where(*sales_conditions(f))
            .group_by(p.category_label)
            .order_by(revenue.desc(), p.category_label)
            .limit(limit)
        )
    return frame(engine, statement, CATEGORIES_SCHEMA)


def monthly_revenue(engine: Engine, f: Filters) -> MonthlyRevenue:
    """Revenue per purchase month, nominal and deflated by IPCA to the reference month's
    prices (revenue × index(reference) / index(month)); without IPCA deflated = nominal."""
    reference, reference_index = ipca_reference(engine)
    if not f.active:
        m = SALES_MONTHLY.c
        schema = {"month": pl.Date, "revenue": pl.Float64, "revenue_deflated": pl.Float64}
        found = frame(engine, select(m.month, m.revenue, m.revenue_deflated), schema)
        return MonthlyRevenue(found.sort("month"), reference)
    s = FACT_SALES.c
    month_key = (s.date_key // 100).label("month_key")
    statement = (
        select(month_key, func.sum(s.allocated_payment))
        .where(*sales_conditions(f))
        .group_by(month_key)
    )
    by_month = frame(engine, statement, MONTH_KEYS)
    return MonthlyRevenue(deflate(by_month, ipca_by_month(engine), reference_index), reference)


def delivery_by_state(engine: Engine, f: Filters) -> pl.DataFrame:
    """Per state, delivered orders (with a delivery date): count, average days from purchase
    to delivery, on-time and late orders, the late share and the average review."""
    if not f.active:
        m = DELIVERY.c
        statement = select(
            m.customer_state, m.delivered_orders, m.average_delivery_days, m.on_time_orders,
            m.late_orders, m.average_review_score,
        )  # fmt: skip
    else:
        o, c = FACT_ORDERS.c, DIM_CUSTOMER.c
        statement = (
            select(
                c.customer_state,
                func.count(),
                _avg(o.delivery_days),
                _count_where(o.is_late, False),
                _count_where(o.is_late, True),
                _avg(o.review_score),
            )
            .select_from(FACT_ORDERS.outerjoin(DIM_CUSTOMER, o.customer_key == c.customer_key))
            .where(
                o.order_status == "delivered",
                o.delivery_days.is_not(None),
                o["items"] > 0,  # the mart is built from the items' fact
                *order_conditions(f),
            )
            .group_by(c.customer_state)
        )
    return finish_delivery(frame(engine, statement, DELIVERY_SCHEMA))


def average_review(engine: Engine, f: Filters) -> float | None:
    """The average review score of the orders in the filters (orders with a review)."""
    statement = select(_avg(FACT_ORDERS.c.review_score)).where(*order_conditions(f))
    with engine.connect() as conn:
        return conn.execute(statement).scalar()


def kpis(engine: Engine, f: Filters) -> Kpis:
    """Revenue, orders (with items), average ticket, average review, on-time delivery share."""
    states, delivery = sales_by_state(engine, f), delivery_by_state(engine, f)
    return kpis_from(states, delivery, average_review(engine, f))


def filter_options(engine: Engine) -> FilterOptions:
    """What the filters offer: states and categories present, first and last purchase day
    (of any order, with items or not)."""
    c, p = DIM_CUSTOMER.c, DIM_PRODUCT.c
    with engine.connect() as conn:
        states = conn.execute(
            select(c.customer_state).where(c.customer_state.is_not(None)).distinct()
        ).scalars()
        categories = conn.execute(
            select(p.category_label).where(p.category_label.is_not(None)).distinct()
        ).scalars()
        ranges = [
            conn.execute(select(func.min(t.c.date_key), func.max(t.c.date_key))).one()
            for t in (FACT_ORDERS, FACT_SALES)
        ]
        keys = [key for pair in ranges for key in pair if key is not None]
        return FilterOptions(
            states=sorted(states),
            categories=sorted(categories, key=str.casefold),
            first_day=key_to_date(min(keys)) if keys else None,
            last_day=key_to_date(max(keys)) if keys else None,
        )


# -- every view at once -------------------------------------------------------------------------
POOL = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cofre-dashboard-query")
VIEWS = {
    "status": order_status, "payments": fulfilled_payments, "states": sales_by_state,
    "categories": top_categories, "monthly": monthly_revenue, "delivery": delivery_by_state,
    "weather": sales_weather, "review": average_review,
}  # fmt: skip


def load_dashboard(engine: Engine, f: Filters, *, in_memory: bool = True) -> DashboardData:
    """Every view for one filter choice.

    No filter: the marts. Filters: the in-memory facts when they fit (`in_memory`), else the
    fact queries; the 8 queries run side by side, one pooled connection each.
    """
    started = time.perf_counter()
    facts = snapshot.current(engine) if f.active and in_memory else None
    if facts is not None:
        weather = POOL.submit(sales_weather, engine, f)
        results = snapshot.views(facts, f) | {"weather": weather.result()}
        source = "memory"
    else:
        jobs = {name: POOL.submit(view, engine, f) for name, view in VIEWS.items()}
        results = {name: job.result() for name, job in jobs.items()}
        source = "sql" if f.active else "marts"
    review = results.pop("review")
    return DashboardData(
        filters=f,
        kpis=kpis_from(results["states"], results["delivery"], review),
        seconds=time.perf_counter() - started,
        source=source,
        **results,
    )
