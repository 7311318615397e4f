"""`python -m flows.full_pipeline --engine duckdb` and `--engine spark` publish the same gold
and load the same warehouse (the flow, end to end, on each engine)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

from flows.full_pipeline import full_pipeline
from tasks.warehouse.schema import TABLES
from validation.catalog import GOLD_TABLES

ROOT = Path(__file__).resolve().parents[2]


def _run(home: Path, monkeypatch, engine: str) -> dict:
    monkeypatch.setenv("COFRE_HOME", str(home))
    return full_pipeline(synthetic_orders=400, seed=23, sources="snapshot", engine=engine)


def _gold_files(home: Path) -> dict[str, bytes]:
    gold = home / "lake" / "gold"
    version = json.loads((gold / "_current.json").read_text())["version"]
    return {t: (gold / "_versions" / version / t / "part-00000.parquet").read_bytes()
            for t in GOLD_TABLES}  # fmt: skip


def _warehouse(home: Path) -> dict[str, list]:
    with sqlite3.connect(home / "warehouse.db") as conn:
        return {
            table: sorted(map(repr, conn.execute(f"SELECT * FROM {table}").fetchall()))
            for table in TABLES
        }


def test_both_engines_publish_the_same_gold_and_warehouse(prefect_api, tmp_path, monkeypatch):
    # One key for both homes: silver's pseudonyms (keyed hashes) then agree, so any
    # difference in gold is the engines'.
    monkeypatch.setenv("COFRE_FERNET_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("COFRE_AUDIT_KEY", "a-test-audit-key-not-a-secret-000")
    duckdb_home, spark_home = tmp_path / "duckdb", tmp_path / "spark"
    on_duckdb = _run(duckdb_home, monkeypatch, "duckdb")
    on_spark = _run(spark_home, monkeypatch, "spark")
    for result in (on_duckdb, on_spark):
        assert {s["status"] for s in result["stages"]} == {"completed"}
    summaries = [
        json.loads((home / "lake" / "gold" / "_runs" / f"{r['run_id']}.json").read_text())
        for home, r in ((duckdb_home, on_duckdb), (spark_home, on_spark))
    ]
    assert [s["gold_engine"] for s in summaries] == ["duckdb", "spark"]
    assert summaries[0]["spark_startup_seconds"] == 0.0
    assert _gold_files(duckdb_home) == _gold_files(spark_home)  # byte for byte
    assert _warehouse(duckdb_home) == _warehouse(spark_home)


def test_the_default_run_needs_no_java(prefect_api, tmp_path):
    """The quick start on DuckDB: no `java` on PATH, no JAVA_HOME, and the run completes
    without a JVM. (pandera imports pyspark's Python modules when pyspark is installed; no
    gateway, the JVM, is ever launched.)"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "JAVA_"))}
    no_java = tmp_path / "bin"  # an empty PATH: `java` cannot be found
    no_java.mkdir()
    env |= {"PATH": str(no_java), "COFRE_HOME": str(tmp_path / "home"),
            "PREFECT_API_URL": prefect_api.url, "PYTHONPATH": str(ROOT)}  # fmt: skip
    code = (
        "import sys; from flows.full_pipeline import full_pipeline; "
        "result = full_pipeline(synthetic_orders=300, sources='snapshot'); "
        "assert {s['status'] for s in result['stages']} == {'completed'}, result; "
        "from pyspark import SparkContext; assert SparkContext._gateway is None"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
