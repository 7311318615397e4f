"""Sales vs weather: average revenue per state-day by the state capital's rain and temperature.

Read from the `sales_weather_daily` mart on every path (the in-memory facts hold no weather);
the date and state filters apply, the category filter cannot (the mart has no category, and
the page says so). Days of the bundled synthetic weather are counted, so the page labels them.
"""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine, case, func, select

from panel_dashboard.model import RAIN_BANDS, TEMPERATURE_BANDS, Filters, WeatherView
from panel_dashboard.tables import SALES_WEATHER, date_conditions, frame


def _band(column, bands: tuple[tuple[float, int], ...]):
    whens = [(column.is_(None), -1)] + [(column <= upper, code) for upper, code in bands]
    return case(*whens, else_=len(bands))


def sales_weather(engine: Engine, f: Filters) -> WeatherView:
    """Average revenue per state-day by the capital's rain and temperature that day, from
    `sales_weather_daily` (date and state filters; it has no category)."""
    w = SALES_WEATHER.c
    days = (
        select(
            _band(w.precipitation_sum, RAIN_BANDS).label("rain"),
            _band(w.temperature_mean, TEMPERATURE_BANDS).label("temp"),
            w.revenue,
            case((w.weather_synthetic.is_(True), 1), else_=0).label("synthetic"),
        )
        .where(*date_conditions(w.date_key, f))
        .where(*([w.customer_state == f.state] if f.state is not None else []))
        .subquery()
    )
    statement = select(
        days.c.rain, days.c.temp, func.count(), func.sum(days.c.revenue), func.sum(days.c.synthetic)
    ).group_by(days.c.rain, days.c.temp)
    schema = {"rain": pl.Int64, "temp": pl.Int64, "state_days": pl.Int64,
              "revenue": pl.Float64, "synthetic": pl.Int64}  # fmt: skip
    cells = frame(engine, statement, schema)
    measured = cells.filter(pl.col("rain") >= 0)
    return WeatherView(
        rain=_by_band(measured, "rain"),
        temperature=_by_band(cells.filter(pl.col("temp") >= 0), "temp"),
        state_days=int(cells["state_days"].sum()),
        weather_days=int(measured["state_days"].sum()),
        synthetic_days=int(cells["synthetic"].sum()),
        category_ignored=f.category is not None,
    )


def _by_band(cells: pl.DataFrame, column: str) -> pl.DataFrame:
    return (
        cells.group_by(pl.col(column).alias("band"))
        .agg(pl.col("state_days").sum(), pl.col("revenue").sum())
        .with_columns((pl.col("revenue") / pl.col("state_days")).alias("average_revenue"))
        .sort("band")
    )
