"""The gold job through spark-submit, as it runs on a cluster, writes the same gold files as
the DuckDB engine in process, byte for byte."""

from __future__ import annotations

from validation.catalog import GOLD_TABLES


def test_spark_submit_writes_identical_gold(submitted_gold, engine_gold, silver_dir):
    code, summary, log = submitted_gold.wait()
    assert code == 0, log[-3000:]
    duckdb_gold, rows = engine_gold("duckdb", silver_dir)
    assert summary["engine"] == "spark"  # spark-submit: auto chooses Spark
    assert summary["rows"] == rows
    assert summary["session_seconds"] > 0 and summary["compute_seconds"] > 0
    for name in GOLD_TABLES:
        submitted = (submitted_gold.gold / name / "part-00000.parquet").read_bytes()
        assert submitted == (duckdb_gold / name / "part-00000.parquet").read_bytes(), name
