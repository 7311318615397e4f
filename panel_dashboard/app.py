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
from contextlib import suppress
from datetime import date, datetime
from html import escape

import panel as pn

from blocks.lake import Lake
from blocks.settings import CofreSettings, load_settings
from panel_dashboard import (
    charts,
    operations_view,
    provenance,
    queries,
    render,
    sales_view,
    snapshot,
    timeline,
)
from panel_dashboard import formatting as fmt
from panel_dashboard.labels import TEXT, language_of
from panel_dashboard.operations import operations_snapshot
from tasks.warehouse.connection import Warehouse

pn.extension(sizing_mode="stretch_width")

HEADER_COLOR = "#1f5f8b"


def _html(**options) -> pn.pane.HTML:
    return pn.pane.HTML("", stylesheets=[render.CSS, charts.CSS, operations_view.CSS], **options)


def _as_date(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


SECTIONS = ("origin", "kpis", "status", "trends", "states", "delivery", "weather", "query")


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
        self.loaded: tuple | None = None  # the load the origin and thin months were read for
        self.refresh()

    # -- filters ----------------------------------------------------------------------------
    def _build_filters(self) -> None:
        t, o = self.t, self.options
        # The slider's own value text is clipped in a 300 px sidebar ("17/10/201"): the
        # period is shown in full underneath instead.
        self.period = pn.widgets.DateRangeSlider(
            name=t["period"], start=o.first_day, end=o.last_day,
            value=(o.first_day, o.last_day), format="%d/%m/%Y", show_value=False,
        )  # fmt: skip
        self.period_label = pn.pane.HTML(
            self._period_html(), stylesheets=[render.CSS], margin=(0, 10, 6, 10)
        )
        self.state = pn.widgets.Select(
            name=t["state"], options={t["all_states"]: "", **{s: s for s in o.states}}
        )
        self.category = pn.widgets.Select(
            name=t["category"], options={t["all_categories"]: "", **{c: c for c in o.categories}}
        )
        self.clear = pn.widgets.Button(name=t["clear"], button_type="light")
        self.period.param.watch(self._show_period, "value")
        self.period.param.watch(self.refresh, "value_throttled")
        self.state.param.watch(self.refresh, "value")
        self.category.param.watch(self.refresh, "value")
        self.clear.on_click(self._clear)
        self.filters_title = pn.pane.Markdown(f"### {t['filters']}")
        self.filters_note = pn.pane.Markdown(t["filters_sales_only"], visible=False)

    def _period_html(self) -> str:
        start, end = (_as_date(v) for v in self.period.value)
        text = sales_view.period_text(start, end)
        return f'<div class="cofre-note" data-testid="period-label">{escape(text)}</div>'

    def _show_period(self, _event=None) -> None:
        self.period_label.object = self._period_html()

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

    def _period(self) -> sales_view.Period:
        start, end = (_as_date(v) for v in self.period.value)
        return sales_view.Period(max(start, self.options.first_day),
                                 min(end, self.options.last_day), self.thin)  # fmt: skip

    # -- rendering --------------------------------------------------------------------------
    def _read_origin(self) -> None:
        """What the data is and its thin edge months, read again when a new load lands."""
        loaded = provenance.loaded_version(self.engine)
        if loaded == self.loaded:
            return
        lake = None
        with suppress(Exception):  # no lake: the origin is "not recorded", not an error
            lake = Lake.from_settings(self.settings)
        self.origin = provenance.data_origin(self.engine, lake)
        self.thin = frozenset(timeline.thin_edge_months(timeline.data_months(self.engine)))
        self.loaded = loaded

    def refresh(self, *_events) -> None:
        started = time.perf_counter()
        try:
            self._read_origin()
            data = queries.load_dashboard(self.engine, self.filters())
        except Exception as exc:  # show it on the page; the session stays usable
            self.alert.object = render.note(self.t["error"].format(error=exc), "error")
            self.alert.visible = True
            return
        html = sales_view.views_html(data, self.language, self._period())
        html["origin"] = sales_view.origin_html(self.origin, self.language)
        elapsed = round((time.perf_counter() - started) * 1000)
        took = self.t["query_time"].format(ms=fmt.integer(elapsed, self.language))
        html["query"] = render.note(took, testid="query-time")
        with pn.io.hold():  # one message to the browser
            self.alert.visible = False
            for name, content in html.items():
                self.panes[name].object = content

    # -- operations -------------------------------------------------------------------------
    def load_operations(self, *_events) -> None:
        found = operations_snapshot(self.settings, engine=self.engine)
        self.operations.object = operations_view.operations(found, self.language)
        self.operations_loaded = True

    def _on_tab(self, event) -> None:
        on_sales = event.new == 0
        with pn.io.hold():  # the sales filters mean nothing on the operations tab
            for widget in (self.filters_title, self.period, self.period_label, self.state,
                           self.category, self.clear):  # fmt: skip
                widget.visible = on_sales
            self.filters_note.visible = not on_sales
        if event.new == 1 and not self.operations_loaded:
            self.load_operations()

    # -- layout -----------------------------------------------------------------------------
    def sales_view(self) -> pn.Column:
        return pn.Column(self.alert, *(self.panes[name] for name in SECTIONS))

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
            sidebar=[self.filters_title, self.period, self.period_label, self.state,
                     self.category, self.clear, self.filters_note],
            main=[tabs],
        )  # fmt: skip


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
