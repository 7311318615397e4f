"""The monthly series on every month of the period, partial months marked (issue 30)."""

from __future__ import annotations

import re
from datetime import date

import polars as pl
import pytest

from blocks.settings import load_settings
from panel_dashboard import charts, sales_view, timeline
from panel_dashboard import formatting as fmt
from panel_dashboard import queries as q
from tasks.warehouse.connection import connect_warehouse
from tests.panel_dashboard.dashboard_gold import load_dashboard_gold

# Olist's own orders per month, 2016-09 .. 2018-10 (the synthetic generator copies them).
OLIST_MONTHS = (4, 324, 0, 1, 800, 1_780, 2_682, 2_404, 3_700, 3_245, 4_026, 4_331, 4_285,
                4_631, 7_544, 5_673, 7_269, 6_728, 7_211, 6_939, 6_873, 6_167, 6_292, 6_512,
                16, 4)  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    wh = connect_warehouse(load_settings(home=str(tmp_path_factory.mktemp("timeline"))))
    load_dashboard_gold(wh)
    yield wh
    wh.dispose()


def test_months_without_sales_are_zeros_on_the_axis_not_missing_points():
    found = pl.DataFrame({"month": [date(2017, 1, 1), date(2017, 4, 1)],
                          "revenue": [10.0, 40.0], "revenue_deflated": [11.0, 40.0]})  # fmt: skip
    filled = timeline.fill_months(found, date(2016, 12, 15), date(2017, 4, 30))
    assert filled["month"].to_list() == [date(2016, 12, 1), date(2017, 1, 1), date(2017, 2, 1),
                                         date(2017, 3, 1), date(2017, 4, 1)]  # fmt: skip
    assert filled["revenue"].to_list() == [0.0, 10.0, 0.0, 0.0, 40.0]
    assert filled["revenue_deflated"].to_list() == [0.0, 11.0, 0.0, 0.0, 40.0]


def test_a_period_cutting_a_month_makes_that_month_partial():
    assert timeline.cut_months(date(2016, 9, 4), date(2018, 10, 17)) == {
        date(2016, 9, 1), date(2018, 10, 1)}  # fmt: skip
    assert timeline.cut_months(date(2017, 1, 1), date(2017, 12, 31)) == set()
    assert timeline.cut_months(date(2017, 2, 1), date(2017, 2, 28)) == set()


def test_the_thin_edges_of_the_olist_data_are_partial_and_the_empty_middle_is_not():
    months = timeline.months_between(date(2016, 9, 1), date(2018, 10, 1))
    orders = pl.DataFrame({"month": months, "orders": OLIST_MONTHS})
    assert timeline.thin_edge_months(orders) == {
        date(2016, 9, 1), date(2018, 9, 1), date(2018, 10, 1)}  # fmt: skip


def _ticks(html: str, axis: str) -> list[str]:
    return re.findall(rf'class="{axis}-tick"[^>]*>([^<]*)<', html)


def test_a_filter_that_leaves_a_month_without_sales_keeps_it_on_the_axis_at_zero(warehouse):
    """'Sem categoria' sold in January and March only: February is a zero, not skipped."""
    options = q.filter_options(warehouse.engine)
    period = sales_view.Period(options.first_day, options.last_day)
    data = q.load_dashboard(warehouse.engine, q.Filters(category="Sem categoria"))
    assert data.monthly.frame["month"].to_list() == [date(2017, 1, 1), date(2017, 3, 1)]
    html = sales_view.monthly_html(data, period, "pt")
    # The data runs 05/01 .. 30/03: both edge months are cut, February is whole.
    assert _ticks(html, "x") == ["jan/2017*", "fev/2017", "mar/2017*"]
    points = re.findall(r"<title>([^<]*)</title>", html)
    assert "fev/2017 · Nominal: R$ 0,00" in points
    assert "fev/2017 · Deflacionada: R$ 0,00" in points
    assert "jan/2017 · Nominal: R$ 30,00 (mês parcial)" in points
    assert "registrados): jan/2017, mar/2017.</div>" in html  # the partial months, named


def test_the_axis_speaks_the_pages_language(warehouse):
    options = q.filter_options(warehouse.engine)
    period = sales_view.Period(options.first_day, options.last_day)
    data = q.load_dashboard(warehouse.engine, q.Filters())
    english, portuguese = (sales_view.monthly_html(data, period, lang) for lang in ("en", "pt"))
    assert _ticks(english, "y") == ["R$ 0", "R$ 500", "R$ 1.0k", "R$ 1.5k"]
    assert _ticks(portuguese, "y") == ["R$ 0", "R$ 500", "R$ 1,0 mil", "R$ 1,5 mil"]
    assert _ticks(english, "x") == ["Jan 2017*", "Feb 2017", "Mar 2017*"]
    assert "Feb 2017 · Nominal: R$ 1,334.55" in english


def test_every_month_of_an_olist_span_is_named_on_the_axis():
    months = [date(2016 + (8 + i) // 12, (8 + i) % 12 + 1, 1) for i in range(len(OLIST_MONTHS))]
    labels = [fmt.month(m) for m in months]
    series = [charts.Series("Nominal", charts.BLUE, [float(n) for n in OLIST_MONTHS])]
    html = charts.line_chart(labels, series, "chart-monthly")
    assert _ticks(html, "x") == labels  # 26 months: set/2016 .. out/2018, none skipped
    long = charts.line_chart(labels * 3, [charts.Series("x", charts.BLUE, [1.0] * 78)], "c")
    assert len(_ticks(long, "x")) == 26  # 78 months: every third named
