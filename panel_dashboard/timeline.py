"""The monthly series as a reader should see it: every month of the period, partial ones marked.

The views return only the months that had sales; drawn as they are, a filter that leaves a
month empty joins points a year apart, and the last months of the data (where the collection
tails off) look like sales stopped. So the chart gets:

- every calendar month from the period's first day to its last, zero where there truly were
  no sales (`fill_months`);
- the months that are *partial*: the period's first or last month when the period cuts it
  (data from the 4th, or a filter ending on the 15th), and the runs of months at either edge
  of the data whose orders are under `THIN_SHARE` of the median month (the dataset's own
  edges: Olist has 4 orders in Sep 2016, 16 in Sep 2018, 4 in Oct 2018). They stay on the
  axis, drawn dashed and hollow, and the page names them.
"""

from __future__ import annotations

import calendar
from datetime import date

import polars as pl
from sqlalchemy import Engine, select

from panel_dashboard.tables import SALES_MONTHLY, frame

THIN_SHARE = 0.05  # an edge month with fewer orders than 5% of the median month is partial
SERIES = {"month": pl.Date, "revenue": pl.Float64, "revenue_deflated": pl.Float64}


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def months_between(first: date, last: date) -> list[date]:
    """The first day of every calendar month from `first`'s to `last`'s, both included."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def fill_months(found: pl.DataFrame, first_day: date, last_day: date) -> pl.DataFrame:
    """`found` (month, revenue, revenue_deflated) on the grid of every month of the period:
    a month without sales is a zero, not a missing point."""
    grid = pl.DataFrame({"month": months_between(first_day, last_day)}, schema={"month": pl.Date})
    return (
        grid.join(found.cast(SERIES), on="month", how="left")
        .with_columns(pl.col("revenue", "revenue_deflated").fill_null(0.0))
        .select(list(SERIES))
    )


def cut_months(first_day: date, last_day: date) -> set[date]:
    """The period's edge months it does not cover whole (a period inside one month: that one)."""
    cut = set()
    if first_day.day != 1:
        cut.add(month_start(first_day))
    if last_day != month_end(last_day):
        cut.add(month_start(last_day))
    return cut


def thin_edge_months(orders: pl.DataFrame, share: float = THIN_SHARE) -> set[date]:
    """The runs of months at either edge of the data (month, orders; every month of the data)
    with fewer orders than `share` of the median month: where the collection tails off."""
    if orders.is_empty():
        return set()
    ordered = orders.sort("month")
    limit = share * float(ordered["orders"].median())
    thin: set[date] = set()
    for rows in (ordered.iter_rows(named=True), reversed(list(ordered.iter_rows(named=True)))):
        for row in rows:
            if row["orders"] >= limit:
                break
            thin.add(row["month"])
    return thin


def data_months(engine: Engine) -> pl.DataFrame:
    """Orders per month of the whole data (the `sales_monthly` mart), on every month's grid."""
    m = SALES_MONTHLY.c
    found = frame(engine, select(m.month, m.orders), {"month": pl.Date, "orders": pl.Int64})
    if found.is_empty():
        return found
    grid = pl.DataFrame({"month": months_between(found["month"].min(), found["month"].max())})
    return grid.join(found, on="month", how="left").with_columns(pl.col("orders").fill_null(0))


def monthly_timeline(
    found: pl.DataFrame, first_day: date, last_day: date, thin: set[date]
) -> pl.DataFrame:
    """Every month of the period (month, revenue, revenue_deflated, partial)."""
    partial = cut_months(first_day, last_day) | thin
    return fill_months(found, first_day, last_day).with_columns(
        pl.col("month").is_in(pl.Series(sorted(partial), dtype=pl.Date)).alias("partial")
    )
