"""Stage reports, the options model and the flows' signatures (no Prefect server needed)."""

from __future__ import annotations

import argparse
import inspect
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from prefect.utilities.callables import parameter_schema_from_entrypoint

from blocks.audit.anchor import RUN_SUMMARIES
from flows.full_pipeline import full_pipeline
from flows.gold import gold
from flows.ingestion import ingestion
from flows.lifecycle import lifecycle
from flows.options import OPTION_NAMES, STAGE_OPTIONS, PipelineOptions, add_arguments
from flows.silver import silver
from flows.warehouse import warehouse
from tasks.gold.run import GoldSummary
from tasks.reports import StageReport
from tasks.run_summary import RUNS_PREFIX, RunSummary, StageResult
from tasks.silver.run import CONSOLIDATED, SilverSummary
from tasks.sources.external import SourceResult
from tasks.sources.report import ingestion_report
from tasks.warehouse.run import WarehouseSummary

ROOT = Path(__file__).resolve().parents[2]
FLOWS = {
    "ingestion": ingestion,
    "silver": silver,
    "gold": gold,
    "warehouse": warehouse,
    "lifecycle": lifecycle,
    "full_pipeline": full_pipeline,
}


@pytest.mark.parametrize("stage", sorted(FLOWS))
def test_each_flow_signature_spells_out_its_options_as_the_model_declares_them(stage):
    hints = typing.get_type_hints(PipelineOptions)
    parameters = inspect.signature(FLOWS[stage].fn).parameters
    options = [name for name in parameters if name in OPTION_NAMES]
    assert options == list(STAGE_OPTIONS[stage])
    for name in options:
        assert parameters[name].annotation == hints[name], name
        assert parameters[name].default is None, name


@pytest.mark.parametrize("stage", sorted(FLOWS))
def test_deployments_see_the_flat_parameters_in_the_source(stage):
    """`prefect deploy` builds the schema from the entrypoint's source text."""
    schema = parameter_schema_from_entrypoint(f"{ROOT}/flows/{stage}.py:{FLOWS[stage].fn.__name__}")
    assert set(STAGE_OPTIONS[stage]) <= set(schema.properties)


def test_the_cli_is_built_from_the_model():
    parser = argparse.ArgumentParser()
    add_arguments(parser, "full_pipeline")
    argv = ["--olist-dir", "/data/olist", "--spark-master", "spark://h:7077",
            "--warehouse", "sqlite:///x.db", "--weather-start", "2016-09-01"]  # fmt: skip
    args = parser.parse_args(argv)
    options = PipelineOptions.from_args(args)
    assert options.olist_dir == "/data/olist" and options.master == "spark://h:7077"
    assert options.warehouse_url == "sqlite:///x.db" and str(options.weather_start) == "2016-09-01"
    assert options.for_stage("gold") == {"lake": None, "engine": None, "master": "spark://h:7077"}
    with pytest.raises(SystemExit):  # one Olist source at a time
        parser.parse_args(["--olist-dir", "d", "--synthetic-orders", "5"])


def test_options_become_settings_flags():
    settings = PipelineOptions(master="spark://h:7077", max_quarantine_share=0.2).settings()
    assert settings.spark_master == "spark://h:7077" and settings.max_quarantine_share == 0.2


def test_a_stage_report_round_trips_through_its_flow_result():
    report = GoldSummary("r1", version="r1", rows={"a": 2, "b": 3}, objects=["x"]).stage_report()
    result = report.as_flow_result()
    assert {"version", "rows", "objects", "staging", "spark_startup_seconds"} <= set(result)
    assert StageReport.from_flow_result(result) == report
    assert (report.rows_out, report.objects) == (5, ["x"])


def test_silver_counts_rows_in_over_the_gated_datasets_only():
    rows = {
        "orders": {"rows_in": 10, "rows_out": 9, "quarantined": 1},
        "ipca": {"rows_in": 5, "rows_out": 5, "quarantined": 0},
        CONSOLIDATED: {"rows_in": 7, "rows_out": 7},
    }
    report = SilverSummary("r1", rows=rows, objects=["s"]).stage_report()
    assert (report.rows_in, report.rows_out, report.quarantined) == (15, 21, 1)
    assert report.run_facts == {"quality": rows}


def test_ingestion_reports_what_was_written_and_what_fell_back():
    bronze = [
        {"source": "olist", "object": "o1", "rows": 3, "written": True},
        {"source": "bcb_sgs", "object": "o2", "rows": None, "written": False},
    ]
    results = [
        SourceResult("bcb_sgs/ipca_433", "auto", "snapshot", fell_back=True),
        SourceResult("open_meteo/daily", "auto", "live"),
    ]
    report = ingestion_report(bronze, results)
    assert (report.rows_in, report.rows_out, report.objects) == (3, 3, ["o1"])
    assert report.note == "from bundled snapshots: bcb_sgs/ipca_433"
    assert report.payload["bronze"] == bronze and len(report.run_facts["sources"]) == 2


def test_the_run_summary_reads_the_report_fields():
    summary = RunSummary("r1")
    with summary.stage("warehouse") as stage:
        stage.record(WarehouseSummary("sqlite", rows={"a": 4}, gold_version="g1").stage_report())
    (row,) = summary.table_rows()
    assert (row["rows in"], row["rows out"], row["note"]) == (4, 4, "sqlite (gold version g1)")
    assert summary.gold_version == "g1"
    with pytest.raises(ValueError, match="unknown run fact 'typo'"):
        summary.record(StageResult("x"), StageReport("x", run_facts={"typo": 1}))


def test_stored_stage_rows_read_back_tolerantly():
    assert StageResult.from_dict({"stage": "silver", "status": "failed", "extra": 1}).status == (
        "failed"
    )
    assert StageResult.from_dict({}).stage == ""


def test_the_run_summaries_prefix_is_the_one_the_anchor_reads():
    assert RUN_SUMMARIES == ("gold", RUNS_PREFIX)


def test_the_dashboard_reads_run_summaries_without_importing_prefect():
    code = "import sys, panel_dashboard.operations; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr[-2000:]


def test_a_stage_note_is_one_line_even_without_a_message():
    """Ctrl-C (an empty message) once ended a run in `IndexError: list index out of range`."""
    from tasks.run_summary import stage_note

    assert stage_note(KeyboardInterrupt()) == "interrupted (Ctrl-C)"
    assert stage_note(RuntimeError("")) == "RuntimeError: (no message)"
    assert stage_note(ValueError("first line\nsecond")) == "ValueError: first line"
