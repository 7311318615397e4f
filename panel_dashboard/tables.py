"""The warehouse tables the dashboard reads, and the reads its SQL and in-memory paths share.

The tables come from the warehouse's schema (`tasks.warehouse.schema`), the read side only:
nothing here loads, migrates or imports Prefect.
"""

from __future__ import annotations

from datetime import date

import polars as pl
from sqlalchemy import Engine, func, select

from panel_dashboard.model import MONTH_INDEX, Filters, date_key
from tasks.warehouse.schema import METADATA

_T = {table.name: table for table in METADATA.tables.values()}  # without the schema
FACT_SALES, FACT_ORDERS = _T["fact_sales"], _T["fact_orders"]
DIM_CUSTOMER, DIM_PRODUCT, DIM_DATE = _T["dim_customer"], _T["dim_product"], _T["dim_date"]
SALES_MONTHLY, SALES_BY_STATE = _T["sales_monthly"], _T["sales_by_state"]
CUSTOMERS_BY_STATE, SALES_BY_CATEGORY = _T["customers_by_state"], _T["sales_by_category"]
ORDER_STATUS, PAYMENT_TYPES = _T["order_status_summary"], _T["payment_type_summary"]
DELIVERY, SALES_WEATHER = _T["delivery_performance"], _T["sales_weather_daily"]


def frame(engine: Engine, statement, schema: dict) -> pl.DataFrame:
    """The statement's rows as a frame with `schema` (names and types, in column order)."""
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


def date_conditions(column, f: Filters) -> list:
    """WHERE clauses keeping `column` (a `yyyymmdd` date key) inside the filters' date range."""
    conditions = []
    if f.start is not None:
        conditions.append(column >= date_key(f.start))
    if f.end is not None:
        conditions.append(column <= date_key(f.end))
    return conditions


def ipca_reference(engine: Engine) -> tuple[date | None, float | None]:
    """The mart's reference month (latest sales month with an index) and its index."""
    m = SALES_MONTHLY.c
    statement = select(m.month, m.ipca_index).where(m.month == m.reference_month).limit(1)
    with engine.connect() as conn:
        row = conn.execute(statement).first()
    return (row[0], row[1]) if row else (None, None)


def ipca_by_month(engine: Engine) -> pl.DataFrame:
    """The IPCA index of every month in the date dimension (`month_start`, `ipca_index`)."""
    d = DIM_DATE.c
    return frame(engine, select(d.month_start, func.max(d.ipca_index)).group_by(d.month_start),
                 MONTH_INDEX)  # fmt: skip
