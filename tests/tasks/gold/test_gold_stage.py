"""The gold stage: the gold job, gold gate, then publishing to a local or S3 lake, audited.

One real run per engine (the S3 lake through the `gold` flow, staged locally: DuckDB reads
local files, and this install has no S3A connector for Spark); the publishing and gate
behaviours run on a stand-in job that writes the hand-computed gold, so they need neither.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import tasks.gold.run as gold_stage
from blocks import audit
from blocks.errors import ConfigurationError, InvalidSourceData, QualityGateFailed
from blocks.lake import Lake
from tasks.layers.gold import read_current_gold
from tasks.silver.olist import write_silver_dataset
from tests.spark.gold_fixture import expected_gold, silver_frames
from validation.catalog import GOLD_INPUTS, GOLD_TABLES

ROOT = Path(__file__).resolve().parents[3]


def _with_silver(lake: Lake) -> Lake:
    lake.ensure_buckets()
    for name, frame in silver_frames().items():
        write_silver_dataset(lake, name, frame, "silver-run")
    return lake


def _stand_in_job(gold: dict[str, pl.DataFrame]):
    """A `run_gold` that writes `gold` as Spark would (part files under <gold>/<table>/)."""

    def run_gold(spark, silver_url, gold_url, log=None):
        for table, frame in gold.items():
            directory = Path(gold_url.removeprefix("file://")) / table
            directory.mkdir(parents=True)
            frame.write_parquet(directory / "part-00000-0a1b-c000.zstd.parquet")
            (directory / "_SUCCESS").touch()
        return {table: frame.height for table, frame in gold.items()}

    return run_gold


@pytest.fixture
def stand_in(monkeypatch):
    """Install a stand-in job producing the given gold; no Spark session is started."""
    monkeypatch.setattr(gold_stage, "get_spark", lambda master=None: None)

    def install(gold: dict[str, pl.DataFrame]) -> None:
        monkeypatch.setattr(gold_stage, "run_gold", _stand_in_job(gold))

    return install


def _actions(run_id: str) -> list[tuple[str, str]]:
    return [
        (r["action"], r["target"].rsplit("/", 1)[-1])
        for r in audit.read_records()
        if r["details"].get("run_id") == run_id
    ]


STAGED_BECAUSE = {
    "duckdb": "because DuckDB reads local files",
    "spark": "because the S3A connector is not on the classpath",
}


@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_s3_lake_is_staged_through_a_local_directory(
    prefect_api, s3_bucket, moto_endpoint, monkeypatch, caplog, engine
):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.gold import gold

    monkeypatch.setenv("COFRE_LAKE_URL", f"s3://{s3_bucket}/{engine}")
    monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("COFRE_GOLD_ENGINE", engine)
    lake = _with_silver(Lake.from_url(f"s3://{s3_bucket}/{engine}", endpoint_url=moto_endpoint))
    with caplog.at_level(logging.INFO):
        state = gold(run_id="gold-s3", return_state=True)
    result = state.result()
    assert result["rows"] == {t: f.height for t, f in expected_gold().items()}
    assert result["engine"] == engine
    assert STAGED_BECAUSE[engine] in caplog.text
    assert result["staging"] and not Path(result["staging"]).exists()  # cleaned up
    assert result["version"] == "gold-s3"
    for table in GOLD_TABLES:  # uploaded into the version, then the pointer PUT
        assert lake.keys("gold", f"_versions/gold-s3/{table}") == [
            f"_versions/gold-s3/{table}/part-00000.parquet"
        ]
    assert json.loads(lake.read_bytes("gold", "_current.json"))["version"] == "gold-s3"
    manifest, published = read_current_gold(lake)
    assert_frame_equal(published["fact_sales"], expected_gold()["fact_sales"], check_exact=True)
    assert (manifest["tables"]["sales_monthly"]["rows"], manifest["run_id"]) == (3, "gold-s3")
    with get_client(sync_client=True) as client:
        flow_run = FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id]))
        artifacts = client.read_artifacts(flow_run_filter=flow_run)
    assert any("| fact_sales | 9 |" in str(a.data) for a in artifacts)


def test_local_lake_publishes_each_run_as_one_version_and_audits_it(tmp_path, stand_in):
    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    stand_in(expected_gold())
    first = gold_stage.run_gold_stage(lake, "gold-1")
    second = gold_stage.run_gold_stage(lake, "gold-2")  # beside the first, then the pointer
    assert first.rows == second.rows == {t: f.height for t, f in expected_gold().items()}
    for table in GOLD_TABLES:  # Spark's _SUCCESS and part names tidied away
        directory = Path(lake.path("gold", f"_versions/gold-2/{table}"))
        assert [p.name for p in directory.iterdir()] == ["part-00000.parquet"]
    manifest, _ = read_current_gold(lake)
    assert (manifest["version"], manifest["run_id"]) == ("gold-2", "gold-2")
    assert not (tmp_path / "lake" / ".staging").exists()
    assert not list(Path(lake.path("gold")).rglob("_staging"))
    assert _actions("gold-2") == [
        ("LAKE_WRITE", "gold-2"),  # the sealed version
        ("VALIDATION_PASSED", "gold"),
        ("LAKE_WRITE", "_current.json"),  # the one atomic step
    ]
    assert "| dim_date | 90 |" in second.report_markdown
    # the summary's gold row counts what gold read: every silver input it found
    read = sum(f.height for n, f in silver_frames().items() if n in GOLD_INPUTS)
    assert second.stage_report().rows_in == read > 0


def test_a_failed_gate_publishes_nothing_and_keeps_the_previous_gold(tmp_path, stand_in):
    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    stand_in(expected_gold())
    gold_stage.run_gold_stage(lake, "good")
    before = {key: lake.read_bytes("gold", key) for key in lake.keys("gold")}
    tampered = expected_gold()
    tampered["fact_sales"] = tampered["fact_sales"].with_columns(
        pl.when(pl.col("order_id") == "o2").then(81.0).otherwise(pl.col("price")).alias("price")
    )
    stand_in(tampered)
    with pytest.raises(QualityGateFailed, match=r"Σ fact_sales\.price"):
        gold_stage.run_gold_stage(lake, "bad")
    assert {key: lake.read_bytes("gold", key) for key in lake.keys("gold")} == before
    # sealed, refused by the gate, removed: the pointer never moved
    assert _actions("bad") == [("LAKE_WRITE", "bad"), ("VALIDATION_FAILED", "gold")]
    assert json.loads(lake.read_bytes("gold", "_current.json"))["version"] == "good"
    assert not (tmp_path / "lake" / ".staging").exists()


def test_missing_silver_is_invalid_source_data_naming_the_dataset(tmp_path):
    lake = Lake.from_url(str(tmp_path / "empty-lake"))
    with pytest.raises(InvalidSourceData, match=r"'orders' is missing .*python -m flows.silver"):
        gold_stage.run_gold_stage(lake, "no-silver")
    assert lake.keys("gold") == []


def test_a_cluster_cannot_read_an_s3_lake_staged_on_this_machine(
    s3_bucket, moto_endpoint, monkeypatch
):
    spark = gold_stage.get_spark()  # the test session's one local session
    monkeypatch.setattr(gold_stage, "get_spark", lambda master=None: spark)
    lake = Lake.from_url(f"s3://{s3_bucket}", endpoint_url=moto_endpoint)
    with pytest.raises(ConfigurationError, match="S3A connector is not on the classpath"):
        gold_stage.run_gold_stage(lake, "cluster", master="spark://cluster:7077")


def test_one_spark_session_per_process():
    assert gold_stage.get_spark() is gold_stage.get_spark()


def test_cli_help_lists_the_options():
    out = subprocess.run(
        [sys.executable, "-m", "flows.gold", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for option in ("--lake", "--engine", "--master"):
        assert option in out


def test_cofre_spark_master_reaches_the_gold_stage(
    prefect_api, s3_bucket, moto_endpoint, monkeypatch
):
    """COFRE_SPARK_MASTER is the gold flow's master when --master is not given: a cluster
    master meets the S3A check (the local session stands in for the cluster)."""
    from flows.gold import gold

    spark = gold_stage.get_spark()
    seen: list = []
    monkeypatch.setattr(gold_stage, "get_spark", lambda master=None: seen.append(master) or spark)
    monkeypatch.setenv("COFRE_SPARK_MASTER", "spark://cluster:7077")
    monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", moto_endpoint)
    with pytest.raises(ConfigurationError, match="'spark://cluster:7077' cannot read this S3"):
        gold(lake=f"s3://{s3_bucket}")
    with pytest.raises(ConfigurationError, match="'spark://flag:7077' cannot read"):
        gold(lake=f"s3://{s3_bucket}", master="spark://flag:7077")  # the flag wins
    assert seen == ["spark://cluster:7077", "spark://flag:7077"]
    seen.clear()
    monkeypatch.setenv("COFRE_GOLD_ENGINE", "duckdb")  # an explicit engine beats the master
    with pytest.raises(InvalidSourceData, match="'orders' is missing"):
        gold(lake=f"s3://{s3_bucket}/nothing-here")
    assert seen == []  # no Spark session asked for


def test_an_unknown_engine_is_a_configuration_error_naming_the_setting():
    with pytest.raises(
        ConfigurationError, match=r"Unknown gold engine 'polars'.*COFRE_GOLD_ENGINE"
    ):
        gold_stage.gold_engine_name("polars", None)


def test_the_engine_is_closed_before_the_gate_reads_gold_and_silver_back(tmp_path, monkeypatch):
    """The job's tables (DuckDB's live in this process: about 1 GiB at 10x) are freed before
    the gate holds the whole gold version and silver in memory beside them."""
    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    real_gate, engine_closed = gold_stage.gold_gate, []

    def gate(silver, gold):
        engine_closed.append(gold_stage._duckdb.interrupt() is False)  # closed: nothing to stop
        real_gate(silver, gold)

    monkeypatch.setattr(gold_stage, "gold_gate", gate)
    summary = gold_stage.run_gold_stage(lake, "closed-early", engine="duckdb")
    assert engine_closed == [True]
    assert summary.rows == {table: frame.height for table, frame in expected_gold().items()}
    gold_stage.cancel_gold_work()  # after the stage: nothing to interrupt, no error
