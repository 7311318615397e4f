"""How fast the dashboard answers a filter change on a real-size warehouse.

    python benchmarks/dashboard_benchmark.py                     # builds ./data/bench-dashboard
    python benchmarks/dashboard_benchmark.py --home /tmp/bench --postgres

Builds (once, reused afterwards) a warehouse the size of the real Olist set: the synthetic
generator's 99,441 orders landed in bronze, IPCA and weather from the bundled snapshots,
silver, Spark gold (one gold version, read back through its current pointer), then the
warehouse load.

Then it times `load_dashboard` (the 8 view queries, side by side) for 10 filter changes and
prints a Markdown table; it also checks that the fact queries over the whole period give the
marts' numbers. `--postgres` loads the same gold into a throwaway PostgreSQL 15 started from
the installed binaries (tests/services.py) and times that too.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DO_NOT_TRACK", "1")

from blocks.lake import Lake
from blocks.settings import load_settings
from panel_dashboard import queries as q
from tasks.warehouse.connection import Warehouse, connect_warehouse
from tasks.warehouse.load import load_tables
from tasks.warehouse.schema import METADATA, TABLES, migrate
from validation.catalog import GOLD_TABLES, Layer

RUN_ID = "benchmark"


# -- building the warehouse -------------------------------------------------------------------
def build_lake(home: Path, orders: int) -> Lake:
    from tasks.silver.run import run_silver
    from tasks.sources.ipca.ingest import ingest_ipca
    from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
    from tasks.sources.olist.synthetic import generate_olist
    from tasks.sources.open_meteo.ingest import ingest_open_meteo

    settings = load_settings(home=str(home), synthetic_orders=orders)
    lake = Lake.from_settings(settings)
    started = time.perf_counter()
    source = home / "olist"
    generate_olist(source, orders=orders, seed=42)
    for file in check_olist_dir(source):
        land_olist_file(lake, file, RUN_ID)
    ingest_ipca(lake, settings, RUN_ID, "snapshot")
    ingest_open_meteo(lake, settings, RUN_ID, "snapshot")
    print(f"bronze: {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    run_silver(lake, settings, RUN_ID)
    print(f"silver: {time.perf_counter() - started:.1f} s")
    return lake


def gold_frames(lake: Lake, rebuild: bool) -> dict[str, pl.DataFrame]:
    """The current gold version's tables (built first with Spark if there is none)."""
    from tasks.gold.run import run_gold_stage
    from tasks.layers.gold import read_current_gold, read_pointer

    if rebuild or read_pointer(lake) is None:
        started = time.perf_counter()
        run_gold_stage(lake, f"{RUN_ID}-{int(time.time())}")  # a version is never rewritten
        print(f"gold (Spark): {time.perf_counter() - started:.1f} s")
    manifest, frames = read_current_gold(lake)
    print(f"gold version {manifest['version']}")
    return {table: frames[table] for table in GOLD_TABLES}


def load(warehouse: Warehouse, frames: dict[str, pl.DataFrame]) -> None:
    started = time.perf_counter()
    migrate(warehouse)
    load_tables(warehouse, METADATA, frames)
    print(f"warehouse load ({warehouse.dialect}): {time.perf_counter() - started:.1f} s")


def ready(warehouse: Warehouse) -> bool:
    return q.warehouse_state(warehouse).ready


# -- timing -----------------------------------------------------------------------------------
def filter_changes(options: q.FilterOptions) -> list[tuple[str, q.Filters]]:
    first, last = options.first_day, options.last_day
    top = options.categories
    category = next((c for c in top if c.startswith("Cama")), top[0])
    return [
        ("no filter (marts)", q.Filters()),
        ("state SP", q.Filters(state="SP")),
        ("state RJ", q.Filters(state="RJ")),
        ("state AC (small)", q.Filters(state="AC")),
        (f"category {category}", q.Filters(category=category)),
        ("category + state SP", q.Filters(category=category, state="SP")),
        ("year 2017", q.Filters(start=date(2017, 1, 1), end=date(2017, 12, 31))),
        ("Nov 2017 + MG", q.Filters(start=date(2017, 11, 1), end=date(2017, 11, 30), state="MG")),
        ("whole period (facts)", q.Filters(start=first, end=last)),
        ("2018 + RJ + category", q.Filters(start=date(2018, 1, 1), state="RJ", category=category)),
    ]


def time_changes(warehouse: Warehouse, repeat: int, in_memory: bool) -> list[dict]:
    engine = warehouse.engine
    q.load_dashboard(engine, q.Filters(state="SP"), in_memory=in_memory)  # warm caches, pool
    rows = []
    for name, filters in filter_changes(q.filter_options(engine)):
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            data = q.load_dashboard(engine, filters, in_memory=in_memory)
            runs.append((time.perf_counter() - started) * 1000)
        rows.append({"change": name, "median_ms": statistics.median(runs), "max_ms": max(runs),
                     "source": data.source, "revenue": data.kpis.revenue,
                     "orders": data.kpis.orders})  # fmt: skip
    return rows


def check_consistency(warehouse: Warehouse) -> list[str]:
    """The facts over the whole period (SQL and in memory) must give the marts' numbers."""
    engine = warehouse.engine
    options = q.filter_options(engine)
    whole = q.Filters(start=options.first_day, end=options.last_day)
    marts = q.load_dashboard(engine, q.Filters())
    problems = []
    for label, facts in (("sql", q.load_dashboard(engine, whole, in_memory=False)),
                         ("memory", q.load_dashboard(engine, whole))):  # fmt: skip
        problems += [f"{label}: {p}" for p in _differences(marts, facts)]
    return problems


def _differences(marts: q.DashboardData, facts: q.DashboardData) -> list[str]:
    problems = []
    for field in ("revenue", "orders", "average_ticket", "average_review", "on_time_share"):
        a, b = getattr(marts.kpis, field), getattr(facts.kpis, field)
        if a is None or b is None or abs(a - b) > 0.01 + 1e-9 * abs(a):
            problems.append(f"kpi {field}: marts {a} vs facts {b}")
    views = {view: (getattr(marts, view), getattr(facts, view))
             for view in ("status", "states", "categories", "delivery")}  # fmt: skip
    views["monthly"] = (marts.monthly.frame, facts.monthly.frame)
    for view, (a, b) in views.items():
        try:  # money to the cent, averages to their 2 published decimals
            assert_frame_equal(a, b, check_exact=False, abs_tol=0.011, rel_tol=1e-9)
        except AssertionError as exc:
            problems.append(f"view {view}: {str(exc).splitlines()[0]}")
    # Payments: the mart splits an order's payments by type, the facts group each order under
    # its main type; only the fulfilled total must agree.
    a, b = marts.payments["value"].sum(), facts.payments["value"].sum()
    if abs(a - b) > 0.011:
        problems.append(f"fulfilled payments total: marts {a} vs facts {b}")
    return problems


def report(title: str, rows: list[dict], repeat: int) -> str:
    lines = [f"### {title}", "", f"`load_dashboard` per filter change, median of {repeat}", "",
             "| filter change | answered from | median ms | max ms | revenue | orders |",
             "|---|---|---:|---:|---:|---:|"]  # fmt: skip
    lines += [
        f"| {r['change']} | {r['source']} | {r['median_ms']:.0f} | {r['max_ms']:.0f} "
        f"| {r['revenue']:,.2f} | {r['orders']:,} |"
        for r in rows
    ]
    medians = [r["median_ms"] for r in rows]
    lines += ["", f"Median over the 10 changes: {statistics.median(medians):.0f} ms; "
              f"slowest: {max(medians):.0f} ms (target < 300 ms)."]  # fmt: skip
    return "\n".join(lines)


def time_warehouse(title: str, warehouse: Warehouse, repeat: int) -> None:
    from panel_dashboard import snapshot

    started = time.perf_counter()
    snapshot.read_snapshot(warehouse.engine)
    print(f"\n{title}: facts read into memory in {time.perf_counter() - started:.2f} s "
          "(once per process and load)\n")  # fmt: skip
    print(report(f"{title}, in-memory facts (what the app uses)",
                 time_changes(warehouse, repeat, in_memory=True), repeat))  # fmt: skip
    print()
    print(report(f"{title}, fact queries in SQL (no in-memory copy)",
                 time_changes(warehouse, max(1, repeat // 3), in_memory=False),
                 max(1, repeat // 3)))  # fmt: skip


# -- the whole loop in a browser ------------------------------------------------------------------
# In the page: pick an option, wait until the revenue KPI changes, then two animation frames
# (the browser has painted). Elements live in shadow roots, hence the deep search.
REPAINT_JS = """
async ([marker, label]) => {
  const all = (root, sel, out = []) => {
    root.querySelectorAll(sel).forEach(e => out.push(e));
    root.querySelectorAll('*').forEach(e => { if (e.shadowRoot) all(e.shadowRoot, sel, out); });
    return out;
  };
  const select = all(document, 'select').find(s => [...s.options].some(o => o.text === marker));
  const root = all(document, '[data-testid="kpi-revenue-main"]')[0].getRootNode();
  const kpi = () => (root.querySelector('[data-testid="kpi-revenue-main"]') || {}).textContent;
  const before = kpi(), started = performance.now();
  select.value = [...select.options].find(o => o.text === label).value;
  select.dispatchEvent(new Event('change', {bubbles: true}));
  while (kpi() === before && performance.now() - started < 10000) {
    await new Promise(r => setTimeout(r, 2));
  }
  const shown = performance.now();
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  return [shown - started, performance.now() - started];
}
"""
BROWSER_CHANGES = [
    ("Todos os estados", "SP"), ("Todos os estados", "RJ"), ("Todos os estados", "MG"),
    ("Todas as categorias", "Cama/Mesa/Banho"), ("Todos os estados", "SP"),
    ("Todos os estados", "BA"), ("Todos os estados", "Todos os estados"),
    ("Todas as categorias", "Todas as categorias"), ("Todos os estados", "AC"),
    ("Todos os estados", "RJ"),
]  # fmt: skip


def time_browser(home: Path) -> None:
    """`panel serve` over the benchmark warehouse, Chromium driving 10 filter changes."""
    import subprocess

    from playwright.sync_api import sync_playwright

    from tests.services import free_port

    root = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "PREFECT_"))}
    env.update(COFRE_HOME=str(home), DO_NOT_TRACK="1")
    server = subprocess.Popen(
        [str(root / ".venv/bin/panel"), "serve", "panel_dashboard/app.py", "--port", str(port),
         "--address", "127.0.0.1", "--allow-websocket-origin", f"127.0.0.1:{port}"],
        cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium",
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run"],
            )  # fmt: skip
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            for _ in range(120):  # the server starts in a few seconds
                try:
                    started = time.perf_counter()
                    page.goto(f"http://127.0.0.1:{port}/app")
                    break
                except Exception:
                    time.sleep(0.5)
            page.get_by_test_id("kpi-revenue-main").wait_for(timeout=60_000)
            print(f"\nBrowser: first page with numbers in {time.perf_counter() - started:.1f} s")
            page.wait_for_timeout(8_000)  # the in-memory copy is read in the background
            rows = []
            for marker, label in BROWSER_CHANGES:
                shown, painted = page.evaluate(REPAINT_JS, [marker, label])
                rows.append((label, shown, painted))
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    lines = ["", "### Browser: filter change to repainted page (headless Chromium, no GPU)", "",
             "| change | KPI shown ms | painted ms |", "|---|---:|---:|"]  # fmt: skip
    lines += [f"| {label} | {shown:.0f} | {painted:.0f} |" for label, shown, painted in rows]
    painted = [p for _, _, p in rows]
    lines += ["", f"Median {statistics.median(painted):.0f} ms, slowest {max(painted):.0f} ms."]
    print("\n".join(lines))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=Path("data/bench-dashboard"))
    parser.add_argument("--orders", type=int, default=99_441)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true", help="rebuild even if loaded")
    parser.add_argument("--postgres", action="store_true", help="also time PostgreSQL 15")
    parser.add_argument("--browser", action="store_true", help="also time Chromium repaints")
    args = parser.parse_args(argv)
    home = args.home.resolve()
    sqlite = connect_warehouse(load_settings(home=str(home)))
    frames = None
    if args.rebuild or not ready(sqlite):
        lake = Lake.from_url(str(home / "lake"))
        if args.rebuild or not lake.keys(Layer.SILVER, "sales_consolidated/"):
            lake = build_lake(home, args.orders)
        frames = gold_frames(lake, args.rebuild)
        load(sqlite, frames)
    from tests.tasks.warehouse.table_checks import table_counts

    counts = table_counts(sqlite, METADATA)
    print(f"\nWarehouse {sqlite.description}: {counts['fact_sales']:,} fact_sales rows, "
          f"{counts['fact_orders']:,} fact_orders rows\n")  # fmt: skip
    problems = check_consistency(sqlite)
    print("Facts over the whole period (SQL and in memory) = marts:", problems or "yes")
    time_warehouse("SQLite", sqlite, args.repeat)
    if args.browser:
        time_browser(home)
    if args.postgres:
        time_postgres(home, frames, args.repeat)


def time_postgres(home: Path, frames: dict | None, repeat: int) -> None:
    from tests.services import start_postgres, stop_postgres

    if frames is None:  # reuse what SQLite holds: read it back table by table
        sqlite = connect_warehouse(load_settings(home=str(home)))
        frames = {t: read_table(sqlite, t) for t in TABLES}
    server = start_postgres()
    try:
        os.environ["PGPASSWORD"] = server.password
        pg = connect_warehouse(load_settings(), server.url(with_password=False))
        load(pg, frames)
        problems = check_consistency(pg)
        print("PostgreSQL: facts over the whole period = marts:", problems or "yes")
        time_warehouse("PostgreSQL 15", pg, repeat)
        pg.dispose()
    finally:
        stop_postgres(server)


def read_table(warehouse: Warehouse, table: str) -> pl.DataFrame:
    from tests.tasks.warehouse.gold_frames import POLARS

    columns = TABLES[table][0]
    with warehouse.engine.connect() as conn:
        rows = conn.execute(METADATA.tables[f"dw.{table}"].select()).all()
    schema = {name: POLARS[kind] for name, kind in columns.items()}
    return pl.DataFrame([tuple(r) for r in rows], schema=schema, orient="row")


if __name__ == "__main__":
    main()
