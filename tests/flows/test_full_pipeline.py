"""`full_pipeline` end to end on a small synthetic set, in-process and through its CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from flows.full_pipeline import full_pipeline
from tasks.sources.olist.contract import OLIST_FILES
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]


def _bronze_data_files(lake_root: Path) -> list[Path]:
    bronze = lake_root / "bronze"
    return [
        p
        for p in bronze.rglob("*.csv")
        if "_sha256" not in p.parts and (p.parent / "_manifest.json").exists()
    ]


def _olist_rows(result: dict) -> list[dict]:
    return [row for row in result["bronze"] if row["source"] == "olist"]


def test_flow_lands_nine_bronze_objects_with_manifests(prefect_api, cofre_home):
    result = full_pipeline(synthetic_orders=2000, seed=11, sources="snapshot")
    files = _bronze_data_files(cofre_home / "lake")
    assert sorted(p.name for p in files) == sorted(OLIST_FILES)
    assert len(_olist_rows(result)) == 9
    assert {row["written"] for row in _olist_rows(result)} == {True}
    assert {(s["source"], s["mode"]) for s in result["sources"]} == {
        ("bcb_sgs/ipca_433", "snapshot"),
        ("openweather/current", "snapshot"),
        ("open_meteo/daily", "snapshot"),
    }
    for path in files:
        manifest = json.loads((path.parent / "_manifest.json").read_text())
        assert manifest["run_id"] == result["run_id"]
        assert manifest["bytes"] == path.stat().st_size
    orders = next(p for p in files if p.name == "olist_orders_dataset.csv")
    assert json.loads((orders.parent / "_manifest.json").read_text())["rows"] == 2000
    # Every stage ran, and the warehouse holds exactly the source's items and payments.
    assert [s["stage"] for s in result["stages"]] == ["ingestion", "silver", "gold", "warehouse"]
    assert {s["status"] for s in result["stages"]} == {"completed"}
    # The warehouse's load began while gold ran (tasks/warehouse/early.py): a new file here.
    assert "begun while gold ran" in result["stages"][-1]["note"]
    # Spark's JVM ended after gold: the warehouse load ran without it beside it.
    from pyspark import SparkContext

    assert SparkContext._gateway is None
    items = next(p for p in files if p.name == "olist_order_items_dataset.csv")
    payments = next(p for p in files if p.name == "olist_order_payments_dataset.csv")
    _assert_warehouse_matches(cofre_home / "warehouse.db", items, payments)
    # gold was published as this run's version; the run summary names what the warehouse loaded
    gold = cofre_home / "lake" / "gold"
    run_summary = json.loads((gold / "_runs" / f"{result['run_id']}.json").read_text())
    current = json.loads((gold / "_current.json").read_text())["version"]
    assert run_summary["gold_version"] == current == result["run_id"]
    # A second run finds every object already landed and writes nothing new.
    again = full_pipeline(synthetic_orders=2000, seed=11, sources="snapshot")
    assert {row["written"] for row in again["bronze"]} == {False}
    assert "begun while gold ran" in again["stages"][-1]["note"]  # in place, this time
    _assert_warehouse_matches(cofre_home / "warehouse.db", items, payments)
    assert len(_bronze_data_files(cofre_home / "lake")) == 9


def _assert_warehouse_matches(database: Path, items_csv: Path, payments_csv: Path) -> None:
    import sqlite3

    import polars as pl

    items = pl.read_csv(items_csv)
    payments = pl.read_csv(payments_csv)
    with sqlite3.connect(database) as conn:
        rows, price = conn.execute(
            "select count(*), round(sum(price), 2) from fact_sales"
        ).fetchone()
        paid = conn.execute("select round(sum(paid_value), 2) from fact_orders").fetchone()[0]
        status_total = conn.execute(
            "select orders, round(value, 2) from order_status_summary where bucket = 'total'"
        ).fetchone()
    assert rows == items.height
    assert price == round(items["price"].sum(), 2)
    assert paid == round(payments["payment_value"].sum(), 2)
    assert status_total == (2000, round(payments["payment_value"].sum(), 2))


def test_cli_help_lists_the_options():
    out = subprocess.run(
        [sys.executable, "-m", "flows.full_pipeline", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in ("--olist-dir", "--synthetic-orders", "--lake", "--seed", "--sources"):
        assert option in out


def test_cli_runs_the_pipeline_and_says_the_data_is_synthetic(prefect_api, cofre_home, tmp_path):
    """Offline (every API on a closed port), the default auto mode lands all sources from
    snapshots and says so."""
    lake = tmp_path / "cli-lake"
    unreachable = f"http://127.0.0.1:{free_port()}/api"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api.url,
        "COFRE_SGS_BASE_URL": unreachable,
        "COFRE_OPENWEATHER_BASE_URL": unreachable,
        "COFRE_OPEN_METEO_BASE_URL": unreachable,
        "COFRE_HTTP_RETRIES": "1",
        "COFRE_HTTP_BACKOFF_SECONDS": "0.01",
    }
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.full_pipeline",
            "--synthetic-orders",
            "300",
            "--lake",
            str(lake),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    output = run.stdout + run.stderr
    assert "USING SYNTHETIC OLIST DATA" in output
    assert "--olist-dir" in output
    assert len(_bronze_data_files(lake)) == 9
    assert "Served from bundled snapshots, not live APIs: bcb_sgs/ipca_433" in output
    assert "fell back to the bundled snapshot: network unreachable" in output
    assert "cofre secrets set api-key openweather" in output  # no key block saved
    for source in ("bcb_sgs/ipca_433", "openweather/current", "open_meteo/daily"):
        assert list((lake / "bronze" / source).rglob("_manifest.json")), source


def test_cli_with_a_bad_directory_fails_with_the_reason(prefect_api, tmp_path):
    bad = tmp_path / "olist"
    bad.mkdir()
    env = {**os.environ, "PREFECT_API_URL": prefect_api.url}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.full_pipeline",
            "--olist-dir",
            str(bad),
            "--sources",
            "snapshot",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode != 0
    assert "olist_orders_dataset.csv: missing from" in run.stdout + run.stderr
