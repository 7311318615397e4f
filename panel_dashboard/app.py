"""Cofre's BI dashboard over the warehouse marts.

    panel serve panel_dashboard/app.py                   # http://localhost:5006/app
    panel serve panel_dashboard/app.py --address 0.0.0.0 --allow-websocket-origin HOST:5006

It reads the warehouse the pipeline loaded: `$COFRE_HOME/warehouse.db` by default, or
PostgreSQL through `COFRE_WAREHOUSE_BLOCK` (the encrypted credentials block) or
`COFRE_WAREHOUSE_URL` (no password in it). `?lang=en` switches the labels to English.

Views follow three filters (purchase period, customer state, category); with none set they
read the gold marts, otherwise the facts (see panel_dashboard/queries.py). The operations
tab shows recent runs, quality gates, quarantine, the audit trail, the lake's size and the
lineage of the loaded data (bronze files -> silver -> gold version -> load).
"""

from __future__ import annotations

import time
from datetime import date, datetime

import panel as pn

from blocks.settings import CofreSettings, load_settings
from panel_dashboard import charts, queries, render, snapshot
from panel_dashboard import formatting as fmt
from panel_dashboard.labels import TEXT, language_of, payment_label, state_label
from panel_dashboard.operations import operations_snapshot
from tasks.warehouse.connection import Warehouse

pn.extension(sizing_mode="stretch_width")

HEADER_COLOR = "#1f5f8b"


def _html(**options) -> pn.pane.HTML:
    return pn.pane.HTML("", stylesheets=[render.CSS, charts.CSS], **options)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


SECTIONS = ("kpis", "status", "monthly", "payments", "states", "categories", "delivery",
            "weather", "updated")  # fmt: skip


class SalesDashboard:
    """The filters, the sales views and the operations tab of one browser session."""

    def __init__(self, warehouse: Warehouse, settings: CofreSettings, language: str) -> None:
        self.engine, self.settings, self.language = warehouse.engine, settings, language
        self.t = TEXT[language]
        self.options = queries.filter_options(self.engine)
        snapshot.warm_up(self.engine)  # the first filter change is then fast too
        self._build_filters()
        self.panes = {name: _html() for name in SECTIONS}
        self.alert = _html(visible=False)
        self.operations = _html()
        self.operations_loaded = False
        self.refresh()

    # -- filters ----------------------------------------------------------------------------
    def _build_filters(self) -> None:
        t, o = self.t, self.options
        self.period = pn.widgets.DateRangeSlider(
            name=t["period"], start=o.first_day, end=o.last_day,
            value=(o.first_day, o.last_day), format="%d/%m/%Y",
        )  # fmt: skip
        self.state = pn.widgets.Select(
            name=t["state"], options={t["all_states"]: "", **{s: s for s in o.states}}
        )
        self.category = pn.widgets.Select(
            name=t["category"], options={t["all_categories"]: "", **{c: c for c in o.categories}}
        )
        self.clear = pn.widgets.Button(name=t["clear"], button_type="light")
        self.period.param.watch(self.refresh, "value_throttled")
        self.state.param.watch(self.refresh, "value")
        self.category.param.watch(self.refresh, "value")
        self.clear.on_click(self._clear)

    def _clear(self, _event=None) -> None:
        with pn.io.hold():
            self.period.value = (self.options.first_day, self.options.last_day)
            self.state.value = self.category.value = ""
        self.refresh()

    def filters(self) -> queries.Filters:
        """The widgets' choice; the full period counts as no date filter (the marts answer)."""
        start, end = (_as_date(v) for v in self.period.value)
        return queries.Filters(
            start=start if start > self.options.first_day else None,
            end=end if end < self.options.last_day else None,
            state=self.state.value or None,
            category=self.category.value or None,
        )

    # -- rendering --------------------------------------------------------------------------
    def refresh(self, *_events) -> None:
        started = time.perf_counter()
        try:
            data = queries.load_dashboard(self.engine, self.filters())
        except Exception as exc:  # show it on the page; the session stays usable
            self.alert.object = render.note(self.t["error"].format(error=exc), "error")
            self.alert.visible = True
            return
        html = views_html(data, self.language)
        elapsed = round((time.perf_counter() - started) * 1000)
        html["updated"] = render.note(self.t["updated"].format(ms=elapsed), testid="updated")
        with pn.io.hold():  # one message to the browser
            self.alert.visible = False
            for name, content in html.items():
                self.panes[name].object = content

    # -- operations -------------------------------------------------------------------------
    def load_operations(self, *_events) -> None:
        snapshot = operations_snapshot(self.settings, engine=self.engine)
        self.operations.object = render.operations(snapshot, self.language)
        self.operations_loaded = True

    def _on_tab(self, event) -> None:
        if event.new == 1 and not self.operations_loaded:
            self.load_operations()

    # -- layout -----------------------------------------------------------------------------
    def sales_view(self) -> pn.Column:
        p = self.panes
        return pn.Column(
            self.alert, p["kpis"], p["status"],
            pn.Row(p["monthly"], p["payments"]), p["states"],
            pn.Row(p["categories"], p["delivery"]), p["weather"], p["updated"],
        )  # fmt: skip

    def layout(self) -> pn.template.BaseTemplate:
        t = self.t
        refresh = pn.widgets.Button(name=t["refresh"], button_type="light", width=120)
        refresh.on_click(self.load_operations)
        tabs = pn.Tabs(
            (t["tab_sales"], self.sales_view()),
            (t["tab_operations"], pn.Column(refresh, self.operations)),
        )
        tabs.param.watch(self._on_tab, "active")
        return _template(
            t, self.language,
            sidebar=[pn.pane.Markdown(f"### {t['filters']}"), self.period, self.state,
                     self.category, self.clear],
            main=[tabs],
        )  # fmt: skip


def views_html(data: queries.DashboardData, language: str) -> dict[str, str]:
    """Every section's HTML for one answer (the panes' new content)."""
    t, lang = TEXT[language], language
    reference = data.monthly.reference_month
    monthly_note = (
        render.note(t["reference"].format(month=fmt.month(reference, lang)))
        if reference
        else render.note(t["no_ipca"], "warning")
    )
    monthly = data.monthly.frame
    line = charts.line_chart(
        [fmt.month(m, lang) for m in monthly["month"]],
        [charts.Series(t["nominal"], charts.BLUE, monthly["revenue"].to_list()),
         charts.Series(t["deflated"], charts.ORANGE, monthly["revenue_deflated"].to_list())],
        "chart-monthly",
    )  # fmt: skip
    payments = [
        charts.Bar(payment_label(r["payment_type"], lang), r["value"], fmt.brl(r["value"]),
                   render.orders_text(r["orders"], lang))
        for r in data.payments.iter_rows(named=True)
    ]  # fmt: skip
    payments_note = t["payments_note_facts"] if data.filters.active else t["payments_note_mart"]
    categories = [
        charts.Bar(r["category_label"], r["revenue"], fmt.brl(r["revenue"]),
                   render.orders_text(r["orders"], lang))
        for r in data.categories.iter_rows(named=True)
    ]  # fmt: skip
    return {
        "kpis": render.kpi_cards(data.kpis, lang),
        "status": render.section(
            t["status_title"],
            render.status_cards(data.status, lang) + render.note(t["status_note"]),
        ),
        "monthly": render.section(t["monthly_title"], line + monthly_note),
        "payments": render.section(
            t["payments_title"],
            charts.bars(payments, "chart-payments") + render.note(payments_note),
        ),
        "states": render.section(t["states_title"], _states_html(data.states, lang)),
        "categories": render.section(
            t["categories_title"], charts.bars(categories, "chart-categories")
        ),
        "delivery": render.section(t["delivery_title"], render.delivery_table(data.delivery, lang)),
        "weather": render.section(t["weather_title"], _weather_html(data.weather, lang)),
    }


def _states_html(states, language: str) -> str:
    t = TEXT[language]
    rows = list(states.iter_rows(named=True))
    names = [state_label(r["customer_state"], language) for r in rows]
    revenue = [charts.Bar(n, r["revenue"], fmt.brl(r["revenue"]),
                          render.orders_text(r["orders"], language))
               for n, r in zip(names, rows, strict=True)]  # fmt: skip
    customers = [charts.Bar(n, r["customers"], fmt.integer(r["customers"]))
                 for n, r in zip(names, rows, strict=True)]  # fmt: skip
    return render.columns(
        (t["revenue"], charts.bars(revenue, "chart-states")),
        (t["customers"], charts.bars(customers, "chart-customers", charts.GREEN)),
    )


def _weather_html(weather: queries.WeatherView, language: str) -> str:
    t = TEXT[language]
    blocks = []
    for title, frame, names, testid in (
        (t["weather_rain"], weather.rain, t["rain_bands"], "chart-rain"),
        (t["weather_temperature"], weather.temperature, t["temperature_bands"], "chart-temp"),
    ):
        bands = names.split("|")
        items = [charts.Bar(bands[r["band"]], r["average_revenue"], fmt.brl(r["average_revenue"]),
                            t["day" if r["state_days"] == 1 else "days"].format(
                                days=fmt.integer(r["state_days"])))
                 for r in frame.iter_rows(named=True)]  # fmt: skip
        blocks.append((title, charts.bars(items, testid, charts.ORANGE, t["weather_none"])))
    days = t["weather_days"].format(
        days=fmt.integer(weather.state_days), weather=fmt.integer(weather.weather_days)
    )
    notes = [render.note(days)]
    if weather.synthetic_days:
        text = t["weather_synthetic"].format(days=fmt.integer(weather.synthetic_days))
        notes.append(render.note(text, "warning", testid="weather-synthetic"))
    if weather.category_ignored:
        notes.append(render.note(t["weather_category"], "warning", testid="weather-category"))
    return render.columns(*blocks) + "".join(notes)


def _template(t: dict[str, str], language: str, sidebar: list, main: list):
    other = "en" if language == "pt" else "pt"
    switch = pn.pane.HTML(
        f'<a href="?lang={other}" style="color:white">{t["other_language"]}</a>',
        sizing_mode="fixed", width=120,
    )  # fmt: skip
    return pn.template.BootstrapTemplate(
        title=t["title"], sidebar=sidebar, main=main, header=[switch],
        header_background=HEADER_COLOR, sidebar_width=300,
    )  # fmt: skip


def empty_page(state: queries.WarehouseState, target: str, language: str = "pt"):
    """The friendly page for a missing, empty or unreachable warehouse."""
    t = TEXT[language]
    body = pn.pane.HTML(
        render.empty_page(state.kind, target, state.detail, language), stylesheets=[render.CSS]
    )
    return _template(t, language, sidebar=[], main=[body])


def build_app(
    warehouse: Warehouse, settings: CofreSettings | None = None, language: str = "pt"
) -> pn.template.BaseTemplate:
    """The dashboard for one session, or the friendly page when there is nothing to show."""
    language = language_of(language)
    state = queries.warehouse_state(warehouse)
    if not state.ready:
        return empty_page(state, warehouse.description, language)
    try:
        return SalesDashboard(warehouse, settings or load_settings(), language).layout()
    except Exception as exc:  # e.g. the server went away between the check and the queries
        failed = queries.WarehouseState("unreachable", f"{type(exc).__name__}: {exc}"[:300])
        return empty_page(failed, warehouse.description, language)


def serve_page() -> pn.template.BaseTemplate:
    """What `panel serve` shows: the configured warehouse, or why it cannot be opened."""
    from blocks.errors import CofreError
    from panel_dashboard.connection import shared_warehouse

    args = pn.state.session_args or {}
    language = language_of((args.get("lang") or [b"pt"])[0].decode())
    settings = load_settings()
    try:
        warehouse = shared_warehouse(settings)
    except CofreError as exc:  # e.g. a password in the URL, a missing credentials block
        state = queries.WarehouseState("unreachable", str(exc))
        return empty_page(state, settings.warehouse_url or "PostgreSQL", language)
    return build_app(warehouse, settings, language)


if pn.state.served:  # under `panel serve` only: importing this module serves nothing
    serve_page().servable()
