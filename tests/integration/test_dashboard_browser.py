"""The dashboard in a real browser: `panel serve` on a free port, Playwright driving Chromium.

Two servers start side by side: one over a loaded warehouse (the consistent set from
tests/panel_dashboard/dashboard_gold.py, a run summary, a quarantine object and an audit
record in its lake), one over an empty COFRE_HOME. Screenshots land in test-artifacts/.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import func, select

from blocks import audit
from blocks.lake import Lake
from blocks.settings import load_settings
from panel_dashboard import formatting as fmt
from panel_dashboard import queries as q
from panel_dashboard.tables import DIM_CUSTOMER, DIM_PRODUCT, FACT_ORDERS, FACT_SALES
from tasks.warehouse.connection import connect_warehouse
from tests.panel_dashboard.dashboard_gold import load_dashboard_gold
from tests.services import free_port
from tests.tasks.warehouse.gold_frames import NASTY_CATEGORY

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
RUN_SUMMARY = {
    "run_id": "run-browser-1", "flow_run_name": "brave-otter", "state": "completed",
    "started_at": "2026-11-27T10:00:00+00:00", "finished_at": "2026-11-27T10:03:10+00:00",
    "stages": [{"stage": "silver", "status": "completed", "rows_in": 112, "rows_out": 109,
                "quarantined": 3, "seconds": 4.2, "note": ""}],
    "sources": [],
    "quality": {"geolocation": {"rows_in": 100, "rows_out": 97, "quarantined": 3,
                                "failures": {"lat_in_brazil": 3}}},
}  # fmt: skip


def _loaded_home(home: Path) -> dict:
    """A COFRE_HOME with a loaded warehouse and an operations trail; the expected KPIs."""
    settings = load_settings(home=str(home))
    # First, as a run does: the first record creates a fresh home's keyring.
    audit.record(audit.Action.PIPELINE_RUN, "browser-test", settings=settings)
    warehouse = connect_warehouse(settings)
    load_dashboard_gold(warehouse)
    lake = Lake.from_settings(settings)
    lake.write_bytes("gold", "_runs/run-browser-1.json", json.dumps(RUN_SUMMARY).encode())
    rows = io.BytesIO()
    pl.DataFrame({"_check": ["lat_in_brazil"] * 3}).write_parquet(rows)
    lake.write_bytes("quarantine", "geolocation/run_id=run-browser-1/rows.parquet", rows.getvalue())
    expected = {
        "all": _expected(warehouse, q.Filters()),
        "RJ": _expected(warehouse, q.Filters(state="RJ")),
        "nasty": _expected(warehouse, q.Filters(category=NASTY_CATEGORY)),
    }
    warehouse.dispose()
    return expected


def _expected(warehouse, filters: q.Filters) -> dict[str, str]:
    """The KPI texts, computed here from the warehouse with plain SQL (not the app's code)."""
    fs, fo, dc, dp = FACT_SALES.c, FACT_ORDERS.c, DIM_CUSTOMER.c, DIM_PRODUCT.c
    sales = select(func.sum(fs.allocated_payment), func.count(fs.order_id.distinct()))
    orders = select(func.count())
    if filters.state:
        sales = sales.join(DIM_CUSTOMER, fs.customer_key == dc.customer_key).where(
            dc.customer_state == filters.state
        )
        orders = (
            orders.select_from(FACT_ORDERS)
            .join(DIM_CUSTOMER, fo.customer_key == dc.customer_key)
            .where(dc.customer_state == filters.state)
        )
    elif filters.category:
        sales = sales.join(DIM_PRODUCT, fs.product_key == dp.product_key).where(
            dp.category_label == filters.category
        )
        having_item = (
            select(fs.order_id)
            .join(DIM_PRODUCT, fs.product_key == dp.product_key)
            .where(dp.category_label == filters.category)
        )
        orders = orders.select_from(FACT_ORDERS).where(fo.order_id.in_(having_item))
    else:
        sales, orders = sales.select_from(FACT_SALES), orders.select_from(FACT_ORDERS)
    with warehouse.engine.connect() as conn:
        revenue, count = conn.execute(sales).one()
        total_orders = conn.execute(orders).scalar()
    plural = "pedido" if total_orders == 1 else "pedidos"
    return {
        "kpi-revenue-main": fmt.brl(revenue),
        "kpi-orders-main": fmt.integer(count),
        "kpi-ticket-main": fmt.brl(revenue / count),
        "status-total-main": f"{fmt.integer(total_orders)} {plural}",
    }


@contextmanager
def _panel_serve(home: Path, log: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "PREFECT_"))}
    env.update(COFRE_HOME=str(home), DO_NOT_TRACK="1", PREFECT_HOME=str(home / "prefect"))
    command = [str(ROOT / ".venv/bin/panel"), "serve", "panel_dashboard/app.py",
               "--port", str(port), "--address", "127.0.0.1",
               "--allow-websocket-origin", f"127.0.0.1:{port}", "--liveness"]  # fmt: skip
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=output)
    try:
        yield f"http://127.0.0.1:{port}/app"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


def _wait_until_serving(url: str, log: Path, timeout: float = 40.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url.rsplit("/", 1)[0] + "/liveness", timeout=2):
                return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"panel serve did not answer in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    """(loaded url, empty url, expected KPI texts); both servers start at once."""
    base = tmp_path_factory.mktemp("dashboard-browser")
    loaded, empty = base / "loaded-home", base / "empty-home"
    expected = _loaded_home(loaded)
    empty.mkdir()
    with (
        _panel_serve(loaded, base / "loaded.log") as loaded_url,
        _panel_serve(empty, base / "empty.log") as empty_url,
    ):
        _wait_until_serving(loaded_url, base / "loaded.log")
        _wait_until_serving(empty_url, base / "empty.log")
        yield loaded_url, empty_url, expected


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (./dev test does).")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 2300}, locale="pt-BR")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def _kpis_equal(page, expected: dict[str, str]) -> None:
    from playwright.sync_api import expect

    for testid, text in expected.items():
        expect(page.get_by_test_id(testid)).to_have_text(text, timeout=15_000)


def test_kpis_match_the_warehouse_and_follow_the_filters(servers, page):
    from playwright.sync_api import expect

    loaded_url, _, expected = servers
    page.goto(loaded_url)
    _kpis_equal(page, expected["all"])
    assert expected["all"]["kpi-revenue-main"] == "R$ 1.970,00"  # the set's own total
    page.wait_for_timeout(500)  # let the charts draw for the picture
    page.screenshot(path=ARTIFACTS / "dashboard-overview.png")

    page.locator("select").filter(has_text="Todos os estados").select_option(label="RJ")
    _kpis_equal(page, expected["RJ"])
    assert expected["RJ"]["kpi-revenue-main"] != expected["all"]["kpi-revenue-main"]
    page.screenshot(path=ARTIFACTS / "dashboard-state-rj.png")

    page.locator("select").filter(has_text="Todos os estados").select_option(index=0)
    page.locator("select").filter(has_text="Todas as categorias").select_option(
        label=NASTY_CATEGORY
    )
    _kpis_equal(page, expected["nasty"])
    expect(page.get_by_test_id("weather-category")).to_contain_text("não se aplica")


def test_the_operations_tab_shows_runs_quality_audit_and_lake(servers, page):
    from playwright.sync_api import expect

    loaded_url, _, _ = servers
    page.goto(loaded_url)
    page.get_by_test_id("kpi-revenue-main").wait_for(timeout=30_000)
    page.get_by_text("Operações", exact=True).click()
    operations = page.get_by_test_id("operations")
    operations.wait_for(timeout=30_000)
    expect(page.get_by_test_id("runs-source")).to_contain_text("resumos das execuções no lake")
    expect(page.get_by_test_id("runs-table")).to_contain_text("brave-otter")
    expect(page.get_by_test_id("quality-table")).to_contain_text("lat_in_brazil: 3")
    expect(page.get_by_test_id("quarantine-table")).to_contain_text("geolocation")
    expect(page.get_by_test_id("audit-status")).to_contain_text("Íntegra")
    expect(page.get_by_test_id("layers-table")).to_contain_text("quarantine")
    page.screenshot(path=ARTIFACTS / "dashboard-operations.png")


def test_an_empty_warehouse_shows_how_to_run_the_pipeline(servers, page):
    _, empty_url, _ = servers
    page.goto(empty_url)
    message = page.get_by_test_id("empty-warehouse")
    message.wait_for(timeout=30_000)
    assert "python -m flows.full_pipeline" in message.inner_text()
    assert "Traceback" not in page.content()
    page.screenshot(path=ARTIFACTS / "dashboard-empty-warehouse.png")
