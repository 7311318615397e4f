"""The dashboard's query functions on a loaded SQLite and PostgreSQL warehouse."""

from __future__ import annotations

import uuid
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from sqlalchemy import func, select

from blocks.settings import load_settings
from panel_dashboard import queries as q
from panel_dashboard.tables import FACT_SALES
from panel_dashboard.weather import sales_weather
from tasks.warehouse.connection import connect_warehouse
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import METADATA, migrate
from tests.panel_dashboard.dashboard_gold import dashboard_gold, load_dashboard_gold
from tests.tasks.warehouse.gold_frames import NASTY_CATEGORY

FULL_RANGE = q.Filters(start=date(2017, 1, 1), end=date(2017, 3, 31))  # facts, every row


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(request, tmp_path_factory):
    """(warehouse, gold frames), loaded once per dialect for the module (read-only tests)."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "sqlite":
            home = tmp_path_factory.mktemp("dashboard-sqlite")
            wh = connect_warehouse(load_settings(home=str(home)))
        else:
            pg = request.getfixturevalue("postgres")
            database = pg.create_database(f"dash_{uuid.uuid4().hex[:8]}")
            patch.setenv("PGPASSWORD", pg.password)  # libpq reads it; never in the URL
            wh = connect_warehouse(load_settings(), pg.url(database, with_password=False))
        frames = load_dashboard_gold(wh)
        yield wh, frames
        wh.dispose()


def _money(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).round(2) for c in columns)


def test_unfiltered_kpis_equal_the_marts(loaded):
    wh, gold = loaded
    kpis = q.kpis(wh.engine, q.Filters())
    assert kpis.revenue == pytest.approx(gold["sales_monthly"]["revenue"].sum())
    assert kpis.revenue == pytest.approx(gold["sales_by_state"]["revenue"].sum())
    assert kpis.orders == gold["sales_monthly"]["orders"].sum() == 10
    assert kpis.average_ticket == pytest.approx(1970.0 / 10)
    delivery = gold["delivery_performance"]
    on_time, late = delivery["on_time_orders"].sum(), delivery["late_orders"].sum()
    assert kpis.on_time_share == pytest.approx(on_time / (on_time + late))
    assert kpis.average_review == pytest.approx(gold["fact_orders"]["review_score"].mean())


def test_unfiltered_views_are_the_marts_rows(loaded):
    wh, gold = loaded
    status = q.order_status(wh.engine, q.Filters())
    mart = gold["order_status_summary"].sort("panel_order")
    assert status["bucket"].to_list() == mart["bucket"].to_list()
    assert status["label"].to_list() == [
        "Total Pedidos", "Vendas Concretizadas", "Aguardando Liberação", "Vendas Perdidas",
    ]  # fmt: skip
    assert status["orders"].to_list() == mart["orders"].to_list() == [12, 7, 2, 3]
    assert status["value"].to_list() == pytest.approx(mart["value"].to_list())

    categories = q.top_categories(wh.engine, q.Filters())
    ranked = gold["sales_by_category"].sort("revenue_rank")
    assert categories["category_label"].to_list() == ranked["category_label"].to_list()
    assert categories["revenue"].to_list() == pytest.approx(ranked["revenue"].to_list())

    monthly = q.monthly_revenue(wh.engine, q.Filters())
    by_month = gold["sales_monthly"].sort("month")
    assert monthly.frame["revenue_deflated"].to_list() == by_month["revenue_deflated"].to_list()
    assert monthly.reference_month == date(2017, 3, 1)

    payments = q.fulfilled_payments(wh.engine, q.Filters())
    mart_payments = gold["payment_type_summary"].filter(pl.col("fulfilled_orders") > 0)
    assert dict(zip(payments["payment_type"], payments["value"], strict=True)) == pytest.approx(
        dict(zip(mart_payments["payment_type"], mart_payments["fulfilled_value"], strict=True))
    )


def _assert_same_views(left: q.DashboardData, right: q.DashboardData) -> None:
    for field in ("revenue", "orders", "average_ticket", "average_review", "on_time_share"):
        assert getattr(left.kpis, field) == pytest.approx(getattr(right.kpis, field)), field
    money = {"status": ("value",), "payments": ("value",), "states": ("revenue",),
             "categories": ("revenue",), "delivery": ()}  # fmt: skip
    for view, columns in money.items():
        assert_frame_equal(
            _money(getattr(left, view), *columns), _money(getattr(right, view), *columns)
        )
    assert_frame_equal(left.monthly.frame, right.monthly.frame)
    assert left.monthly.reference_month == right.monthly.reference_month
    assert_frame_equal(left.weather.rain, right.weather.rain)


def test_the_facts_over_the_full_range_give_the_marts_numbers(loaded):
    """Filtering by the whole period switches to the facts: nothing may move."""
    wh, _ = loaded
    marts = q.load_dashboard(wh.engine, q.Filters())
    in_sql = q.load_dashboard(wh.engine, FULL_RANGE, in_memory=False)
    in_memory = q.load_dashboard(wh.engine, FULL_RANGE)
    assert (marts.source, in_sql.source, in_memory.source) == ("marts", "sql", "memory")
    _assert_same_views(in_sql, marts)
    _assert_same_views(in_memory, marts)


@pytest.mark.parametrize(
    "filters",
    [
        q.Filters(state="SP"),
        q.Filters(state="RJ", start=date(2017, 2, 1)),
        q.Filters(category=NASTY_CATEGORY),
        q.Filters(category="Sem categoria", end=date(2017, 1, 31)),
        q.Filters(state="AC"),  # no sales at all
    ],
    ids=["state", "state+from", "nasty-category", "category+until", "empty"],
)
def test_the_in_memory_facts_answer_as_the_fact_queries(loaded, filters):
    wh, _ = loaded
    in_sql = q.load_dashboard(wh.engine, filters, in_memory=False)
    in_memory = q.load_dashboard(wh.engine, filters)
    assert in_memory.source == "memory"
    _assert_same_views(in_memory, in_sql)


def test_a_new_load_refreshes_the_in_memory_facts(tmp_path):
    wh = connect_warehouse(load_settings(home=str(tmp_path)))
    load_dashboard_gold(wh)
    rj = q.Filters(state="RJ")
    before = q.load_dashboard(wh.engine, rj).kpis.revenue
    gold = dashboard_gold()
    gold["fact_sales"] = gold["fact_sales"].with_columns(pl.col("allocated_payment") * 2)
    gold["sales_monthly"] = gold["sales_monthly"].with_columns(pl.col("revenue") * 2)
    load_tables(wh, METADATA, gold)
    assert q.load_dashboard(wh.engine, rj).kpis.revenue == pytest.approx(2 * before)
    wh.dispose()


def test_the_state_filter_narrows_every_view(loaded):
    wh, _ = loaded
    rj = q.load_dashboard(wh.engine, q.Filters(state="RJ"))
    assert rj.kpis.revenue == pytest.approx(30.0 + 80.0 + 11.0)  # o03, o06, o11
    assert rj.kpis.orders == 3
    assert rj.states["customer_state"].to_list() == ["RJ"]
    # Order level adds o12 (canceled, no items, R$ 0): total, fulfilled, awaiting, lost.
    assert rj.status["orders"].to_list() == [4, 1, 1, 2]
    assert rj.status["value"].to_list() == pytest.approx([121.0, 80.0, 11.0, 30.0])
    assert rj.delivery["customer_state"].to_list() == ["RJ"]
    assert rj.kpis.on_time_share == 0.0
    assert rj.weather.state_days == 3


def test_a_category_with_quotes_is_a_plain_value(loaded):
    wh, _ = loaded
    nasty = q.Filters(category=NASTY_CATEGORY)
    data = q.load_dashboard(wh.engine, nasty)
    assert data.categories["category_label"].to_list() == [NASTY_CATEGORY]
    assert data.kpis.revenue == pytest.approx(110.0 + 40.0 + 40.0 + 155.05)
    # Orders with at least one item of the category: o01, o06, o09 (all fulfilled).
    assert data.status["orders"].to_list() == [3, 3, 0, 0]
    assert data.status["value"][0] == pytest.approx(120.50 + 80.0 + 310.1)
    assert data.weather.category_ignored
    with wh.engine.connect() as conn:  # and nothing was dropped
        assert conn.execute(select(func.count()).select_from(FACT_SALES)).scalar() == 13
    assert q.filter_options(wh.engine).categories.count(NASTY_CATEGORY) == 1


def test_a_date_range_deflates_with_the_reference_month(loaded):
    wh, _ = loaded
    february = q.Filters(start=date(2017, 2, 1), end=date(2017, 2, 28))
    monthly = q.monthly_revenue(wh.engine, february)
    assert monthly.frame["month"].to_list() == [date(2017, 2, 1)]
    revenue = 1234.56 + 80.0 + 19.99
    assert monthly.frame["revenue"][0] == pytest.approx(revenue)
    assert monthly.frame["revenue_deflated"][0] == round(revenue * 101.18 / 100.71, 2)
    # o05, o06, o07 have items; o08 (unavailable, no items) counts only at order level.
    assert q.kpis(wh.engine, february).orders == 3
    assert q.order_status(wh.engine, february)["orders"][0] == 4


def test_weather_bands_flag_synthetic_readings(loaded):
    wh, _ = loaded
    weather = sales_weather(wh.engine, q.Filters(state="SP"))
    assert weather.state_days == 4  # SP purchase days: 5/1, 9/1, 2/2, 15/3
    assert weather.weather_days == weather.synthetic_days == 3  # 2/2 has no reading
    assert weather.rain["band"].to_list() == [0, 2]  # dry (5/1), 5-20 mm (9/1, 15/3)
    assert weather.rain["state_days"].to_list() == [1, 2]
    assert not weather.category_ignored


def test_filter_options_list_what_the_data_has(loaded):
    wh, _ = loaded
    options = q.filter_options(wh.engine)
    assert options.states == ["MG", "RJ", "SP"]
    assert "Sem categoria" in options.categories and len(options.categories) == 4
    assert (options.first_day, options.last_day) == (date(2017, 1, 5), date(2017, 3, 30))


def test_top_categories_stops_at_the_limit(loaded):
    wh, _ = loaded
    for filters in (q.Filters(), FULL_RANGE):
        top = q.top_categories(wh.engine, filters, limit=2)
        assert top["category_label"].to_list() == ["Informática e acessórios", NASTY_CATEGORY]


def test_without_ipca_deflated_revenue_is_nominal(tmp_path):
    wh = connect_warehouse(load_settings(home=str(tmp_path)))
    gold = dashboard_gold()
    gold["dim_date"] = gold["dim_date"].with_columns(pl.lit(None, pl.Float64).alias("ipca_index"))
    gold["sales_monthly"] = gold["sales_monthly"].with_columns(
        pl.lit(None, pl.Float64).alias("ipca_index"),
        pl.lit(None, pl.Date).alias("reference_month"),
        pl.col("revenue").alias("revenue_deflated"),
    )
    migrate(wh)
    load_tables(wh, METADATA, gold)
    for filters in (q.Filters(), FULL_RANGE):
        monthly = q.monthly_revenue(wh.engine, filters)
        assert monthly.reference_month is None
        assert monthly.frame["revenue_deflated"].to_list() == monthly.frame["revenue"].to_list()
    wh.dispose()


def test_the_warehouse_state_says_missing_empty_or_ready(tmp_path):
    wh = connect_warehouse(load_settings(home=str(tmp_path)))
    assert q.warehouse_state(wh).kind == "missing"
    assert not (tmp_path / "warehouse.db").exists()  # asking created nothing
    with wh.engine.connect():
        pass  # an empty file, as a first connection leaves it
    assert q.warehouse_state(wh).kind == "no_schema"
    migrate(wh)
    assert q.warehouse_state(wh).kind == "no_rows"
    load_dashboard_gold(wh)
    assert q.warehouse_state(wh).ready
    wh.dispose()


def test_an_unreachable_server_is_reported_not_raised():
    from sqlalchemy import create_engine

    from blocks.errors import WarehouseUnreachable
    from tasks.warehouse.connection import Warehouse

    url = "postgresql+psycopg://nobody@127.0.0.1:1/nothing"
    with pytest.raises(WarehouseUnreachable, match=r"127\.0\.0\.1:1"):  # the page says so
        connect_warehouse(load_settings(), url)
    # A server that goes away after the connection was made: the state says so, never raises.
    state = q.warehouse_state(Warehouse(create_engine(url), "gone"))
    assert state.kind == "unreachable" and "OperationalError" in state.detail
