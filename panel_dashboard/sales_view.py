"""The sales tab's HTML for one answer: every section, in the reader's language.

`views_html` turns a `DashboardData` (panel_dashboard/queries.py) into the panes' new content;
`origin_html` says what the numbers are (synthetic or real sales, when they were loaded,
where IPCA and weather came from). Plain functions of their inputs: no Panel, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from html import escape

import polars as pl

from panel_dashboard import charts, render, timeline
from panel_dashboard import formatting as fmt
from panel_dashboard.labels import TEXT, counted, payment_label, state_label
from panel_dashboard.model import DashboardData, WeatherView
from panel_dashboard.provenance import DataOrigin, snapshot_through


@dataclass(frozen=True)
class Period:
    """The purchase days the page shows (the data's own range when no date filter is set)."""

    first_day: date
    last_day: date
    thin_months: frozenset[date] = frozenset()  # the data's thin edge months (timeline.py)


def period_text(first_day: date, last_day: date) -> str:
    """`04/09/2016 – 17/10/2018`, in full."""
    return f"{fmt.day(first_day)} – {fmt.day(last_day)}"


def monthly_html(data: DashboardData, period: Period, language: str) -> str:
    """The monthly line on every month of the period, partial months marked and named."""
    t = TEXT[language]
    months = timeline.monthly_timeline(
        data.monthly.frame, period.first_day, period.last_day, set(period.thin_months)
    )
    labels = [fmt.month(m, language) for m in months["month"]]
    partial = months["partial"].to_list()
    line = charts.line_chart(
        labels,
        [charts.Series(t["nominal"], charts.BLUE, months["revenue"].to_list()),
         charts.Series(t["deflated"], charts.ORANGE, months["revenue_deflated"].to_list())],
        "chart-monthly", partial=partial, partial_word=t["partial"], language=language,
    )  # fmt: skip
    reference = data.monthly.reference_month
    notes = [
        render.note(t["reference"].format(month=fmt.month(reference, language)))
        if reference
        else render.note(t["no_ipca"], "warning")
    ]
    named = [label for label, cut in zip(labels, partial, strict=True) if cut]
    if named:
        text = t["partial_months"].format(months=", ".join(named))
        notes.append(render.note(text, testid="monthly-partial"))
    return render.section(t["monthly_title"], line + "".join(notes))


def views_html(data: DashboardData, language: str, period: Period) -> dict[str, str]:
    """Every section's HTML for one answer (the panes' new content)."""
    t, lang = TEXT[language], language
    payments = [
        charts.Bar(payment_label(r["payment_type"], lang), r["value"], fmt.brl(r["value"], lang),
                   render.orders_text(r["orders"], lang))
        for r in data.payments.iter_rows(named=True)
    ]  # fmt: skip
    payments_note = t["payments_note_facts"] if data.filters.active else t["payments_note_mart"]
    categories = [
        charts.Bar(r["category_label"], r["revenue"], fmt.brl(r["revenue"], lang),
                   render.orders_text(r["orders"], lang))
        for r in data.categories.iter_rows(named=True)
    ]  # fmt: skip
    side = render.section(
        t["payments_title"], charts.bars(payments, "chart-payments") + render.note(payments_note)
    ) + render.section(t["categories_title"], charts.bars(categories, "chart-categories"))
    return {
        "kpis": render.kpi_cards(data.kpis, lang),
        "status": render.section(
            t["status_title"],
            render.status_cards(data.status, lang) + render.note(t["status_note"]),
        ),
        "trends": render.grid(monthly_html(data, period, lang), side, testid="trends"),
        "states": render.section(t["states_title"], _states_html(data.states, lang)),
        "delivery": render.section(t["delivery_title"], render.delivery_table(data.delivery, lang)),
        "weather": render.section(t["weather_title"], _weather_html(data.weather, lang)),
    }


def _states_html(states: pl.DataFrame, language: str) -> str:
    t = TEXT[language]
    rows = list(states.iter_rows(named=True))
    names = [state_label(r["customer_state"], language) for r in rows]
    revenue = [charts.Bar(n, r["revenue"], fmt.brl(r["revenue"], language),
                          render.orders_text(r["orders"], language))
               for n, r in zip(names, rows, strict=True)]  # fmt: skip
    customers = [charts.Bar(n, r["customers"], fmt.integer(r["customers"], language))
                 for n, r in zip(names, rows, strict=True)]  # fmt: skip
    return render.columns(
        (t["revenue"], charts.bars(revenue, "chart-states")),
        (t["customers"], charts.bars(customers, "chart-customers", charts.GREEN)),
    )


def _weather_html(weather: WeatherView, language: str) -> str:
    t, lang = TEXT[language], language
    blocks = []
    for title, frame, names, testid in (
        (t["weather_rain"], weather.rain, t["rain_bands"], "chart-rain"),
        (t["weather_temperature"], weather.temperature, t["temperature_bands"], "chart-temp"),
    ):
        bands = names.split("|")
        items = [charts.Bar(bands[r["band"]], r["average_revenue"],
                            fmt.brl(r["average_revenue"], lang),
                            counted(r["state_days"], "day", lang))
                 for r in frame.iter_rows(named=True)]  # fmt: skip
        blocks.append((title, charts.bars(items, testid, charts.ORANGE, t["weather_none"])))
    days = t["weather_days"].format(
        days=counted(weather.state_days, "state_day", lang),
        weather=fmt.integer(weather.weather_days, lang),
    )
    notes = [render.note(days)]
    if weather.synthetic_days:
        text = t["weather_synthetic"].format(days=counted(weather.synthetic_days, "day", lang))
        notes.append(render.note(text, "warning", testid="weather-synthetic"))
    if weather.category_ignored:
        notes.append(render.note(t["weather_category"], "warning", testid="weather-category"))
    return render.columns(*blocks) + "".join(notes)


# -- what the data is -------------------------------------------------------------------------
def _source_text(kind: str, mode: str | None, language: str) -> str:
    t = TEXT[language]
    if mode == "snapshot":
        through = snapshot_through(kind)
        day = fmt.month(through, language) if kind == "ipca" else fmt.day(through)
        return t[f"{kind}_snapshot"].format(through=day)
    return t[f"source_{mode}"] if mode in ("live", "skipped") else t["source_unknown"]


def origin_html(origin: DataOrigin, language: str) -> str:
    """A banner when the sales are synthetic; when the data was loaded and where IPCA and
    weather came from (each said only as far as the run recorded it)."""
    t, lang = TEXT[language], language
    parts = []
    if origin.synthetic:
        text = t["synthetic_banner"].format(
            seed=origin.synthetic.get("seed", "?"),
            orders=counted(origin.synthetic.get("orders"), "order", lang),
        )
        banner = f'<div class="cofre-banner" data-testid="synthetic-banner">{escape(text)}</div>'
        parts.append(banner)
    facts = []
    if origin.loaded_at is not None:
        facts.append(t["loaded_at"].format(at=fmt.timestamp(origin.loaded_at)))
    if origin.olist_dir:
        facts.append(t["sales_real"])
    for kind in ("ipca", "weather"):
        source = _source_text(kind, origin.sources.get(kind), lang)
        facts.append(t[f"source_{kind}"].format(source=source))
    parts.append(render.note(" · ".join(facts), testid="data-origin"))
    return "".join(parts)
