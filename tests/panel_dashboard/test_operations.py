"""The operations tab's facts: runs (Prefect API or lake), gates, quarantine, audit, layers."""

from __future__ import annotations

import io
import json

import polars as pl
import pytest

from blocks import audit
from blocks.errors import LakeError
from blocks.lake import Lake
from blocks.settings import load_settings
from panel_dashboard import operations as ops
from panel_dashboard import operations_view
from tests.panel_dashboard.dashboard_origin import lineage_record


def _summary(run_id: str, started: str, quality: dict | None = None) -> dict:
    return {"run_id": run_id, "flow_run_name": f"name-{run_id}", "state": "completed",
            "started_at": started, "finished_at": started.replace("10:00", "10:02"),
            "stages": [{"stage": "silver", "status": "completed"}], "sources": [],
            "quality": quality or {}}  # fmt: skip


@pytest.fixture
def home(cofre_home):
    settings = load_settings()
    # First, as a run does: its first audit record creates the keyring of a fresh home (a home
    # with run summaries but no keyring is refused as a lost keyring).
    audit.record(audit.Action.PIPELINE_RUN, "operations-test", settings=settings)
    lake = Lake.from_settings(settings)
    gate = {"geolocation": {"rows_in": 10, "rows_out": 8, "quarantined": 2,
                            "failures": {"lat_in_brazil": 2}}}  # fmt: skip
    runs = [("r1", "2026-11-20T10:00:00+00:00", gate), ("r2", "2026-11-21T10:00:00-03:00", None)]
    for run_id, started, quality in runs:
        lake.write_bytes(
            "gold", f"_runs/{run_id}.json", json.dumps(_summary(run_id, started, quality)).encode()
        )
    lake.write_bytes("gold", "_runs/broken.json", b"{not json")
    for run_id, rows in (("r0", 5), ("r1", 2)):
        buffer = io.BytesIO()
        pl.DataFrame({"_check": ["lat_in_brazil"] * rows}).write_parquet(buffer)
        lake.write_bytes(
            "quarantine", f"geolocation/run_id={run_id}/rows.parquet", buffer.getvalue()
        )
    return settings


def test_without_a_prefect_api_runs_come_from_the_lake_summaries(home, monkeypatch):
    monkeypatch.setattr(ops, "prefect_api_url", lambda: None)
    snapshot = ops.operations_snapshot(home)
    assert snapshot.runs.source == "lake"
    assert [r["name"] for r in snapshot.runs.rows] == ["name-r2", "name-r1"]  # newest first
    assert snapshot.runs.rows[0]["started"].isoformat() == "2026-11-21T13:00:00+00:00"  # UTC
    assert snapshot.runs.rows[0]["seconds"] == 120.0
    assert snapshot.errors == {}


def test_an_unreachable_prefect_api_falls_back_quickly(home, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # discard port: refused
    assert ops.prefect_runs() is None
    assert ops.operations_snapshot(home).runs.source == "lake"


def test_gates_quarantine_audit_and_layers(home):
    snapshot = ops.operations_snapshot(home)
    assert snapshot.quality_run == "r1"  # the newest run that recorded gate results
    assert snapshot.quality[0]["failures"] == {"lat_in_brazil": 2}
    assert snapshot.quarantine == [
        {"dataset": "geolocation", "objects": 2, "rows": 7, "latest_run_rows": 2}
    ]
    assert snapshot.audit["ok"] and snapshot.audit["records"] >= 1
    layers = {row["layer"]: row for row in snapshot.layers}
    assert layers["gold"]["objects"] == 3 and layers["quarantine"]["bytes"] > 0
    page = operations_view.operations(snapshot, "pt")
    assert "lat_in_brazil: 2" in page and "Íntegra" in page
    assert "8 de 10 aprovadas" in page  # the gate's bar
    assert 'title="geolocation · Em quarentena: 2"' in page


def test_rows_merged_away_by_a_gate_are_drawn_apart_from_rejected_ones(home):
    """Geolocation folds 20,116 rows into 385 zip prefixes: grey, not read as rejected."""
    snapshot = ops.operations_snapshot(home)
    snapshot.quality[0].update(rows_in=20_116, rows_out=385, quarantined=1)
    html = operations_view.quality_html(snapshot, "en")
    assert (
        'data-part="Duplicates or merged" title="geolocation · Duplicates or merged: 19,730"'
        in html
    )
    assert "385 of 20,116 passed" in html and "19,730 duplicates or merged" in html
    portuguese = operations_view.quality_html(snapshot, "pt")
    assert "19.730 duplicadas ou agregadas" in portuguese
    snapshot.quality[0].update(rows_in=10, rows_out=8, quarantined=2)
    assert "Duplicadas ou agregadas:" not in operations_view.quality_html(snapshot, "pt")


def test_a_tampered_audit_trail_shows_as_failed(home):
    trail = home.resolved_audit_dir / audit.TRAIL_FILE
    trail.write_text(trail.read_text().replace("operations-test", "operations-edit"))
    snapshot = ops.operations_snapshot(home)
    assert snapshot.audit["ok"] is False
    assert "FALHOU" in operations_view.operations(snapshot, "pt")


def test_a_lake_that_cannot_be_opened_leaves_the_rest_of_the_tab(home, monkeypatch):
    def unreachable(settings):
        raise LakeError("No lake at s3://nowhere: bucket missing.")

    monkeypatch.setattr(ops, "prefect_api_url", lambda: None)
    monkeypatch.setattr(ops.Lake, "from_settings", unreachable)
    snapshot = ops.operations_snapshot(home)
    assert snapshot.errors == {"lake": "LakeError: No lake at s3://nowhere: bucket missing."}
    assert snapshot.runs.rows == [] and snapshot.audit["ok"]
    assert "Indisponível (lake)" in operations_view.operations(snapshot, "pt")


@pytest.mark.integration
def test_runs_come_from_the_prefect_api_when_it_answers(prefect_api, home):
    from prefect import flow

    @flow(name="dashboard-ops-probe")
    def probe() -> int:
        return 1

    probe()
    view = ops.prefect_runs()
    assert view is not None and view.source == "prefect"
    newest = view.rows[0]
    assert newest["flow"] == "dashboard-ops-probe" and newest["state"] == "Completed"
    assert ops.operations_snapshot(home).runs.source == "prefect"


def test_stage_durations_are_one_stacked_bar_per_run_newest_on_top(home):
    snapshot = ops.operations_snapshot(home)
    assert [run["name"] for run in snapshot.stage_times] == ["name-r2", "name-r1"]
    snapshot.stage_times[0]["stages"] = [("silver", "completed", 4.25), ("gold", "failed", 1.0)]
    html = operations_view.stage_chart(snapshot, "pt")
    assert 'title="21/11/2026 13:00 · name-r2 · silver: 4,3 s"' in html
    assert 'title="21/11/2026 13:00 · name-r2 · gold: 1,0 s (falhou)"' in html
    assert '5,3 s <span class="extra">· concluída</span>' in html  # the run's state, in pt
    english = operations_view.stage_chart(snapshot, "en")
    assert 'gold: 1.0 s (failed)"' in english and "· completed</span>" in english
    assert html.index("name-r2") < html.index("name-r1")
    assert "5,3 s" in html  # the run's total
    snapshot.stage_times[0]["stages"] = [("silver", "completed", 3720.0)]
    english = operations_view.stage_chart(snapshot, "en")
    assert 'title="21/11/2026 13:00 · name-r2 · silver: 3,720.0 s"' in english
    assert "3.720,0 s" in operations_view.stage_chart(snapshot, "pt")


def test_the_runs_table_writes_durations_in_the_pages_language(home, monkeypatch):
    monkeypatch.setattr(ops, "prefect_api_url", lambda: None)
    snapshot = ops.operations_snapshot(home)
    snapshot.runs.rows[0]["seconds"] = 3720.0
    assert '<td class="n">3,720.0 s</td>' in operations_view.runs_html(snapshot, "en")
    portuguese = operations_view.runs_html(snapshot, "pt")
    assert '<td class="n">3.720,0 s</td>' in portuguese
    assert '<td class="">concluída</td>' in portuguese
    assert '<td class="">silver: concluída</td>' in portuguese


def test_counts_on_the_operations_tab_are_singular_for_one(home):
    snapshot = ops.operations_snapshot(home)
    snapshot.quality[0].update(rows_in=1, rows_out=1, quarantined=0)
    snapshot.quarantine[0]["objects"] = 1
    assert "1 de 1 aprovada" in operations_view.quality_html(snapshot, "pt")
    assert "1 of 1 passed" in operations_view.quality_html(snapshot, "en")
    assert "1 objeto ·" in operations_view.quarantine_html(snapshot, "pt")
    assert "1 object ·" in operations_view.quarantine_html(snapshot, "en")


def test_the_lineage_is_a_graph_first_and_its_hashes_are_collapsed():
    html = operations_view.lineage(lineage_record(), "en")
    graph, details = html.split('<details class="cofre-details"', 1)
    assert "olist: 2 files, 31.6 MiB" in graph and "sales · 112,650" in graph
    assert "v20261204T150000Z" in graph and "04/12/2026 15:01 (UTC)" in graph
    assert "cd" * 32 not in graph and "cd" * 32 in details  # sha256 only behind the toggle
    assert " open>" not in details.split(">", 1)[0] + ">"  # closed until clicked
    assert '<td class="n">189,751</td>' in details  # the Bytes column, a number cell
    # One IPCA file, one gold table: singular; the summary counts rows and tables too.
    assert "bcb_sgs: 1 file, 2.3 KiB" in graph and "1 table<" in graph
    assert "13 rows in 1 table." in html and "(4 bronze files)" in details.split("</summary>")[0]
    portuguese = operations_view.lineage(lineage_record(), "pt")
    assert "bcb_sgs: 1 arquivo, 2,3 KiB" in portuguese and "olist: 2 arquivos" in portuguese
    assert "13 linhas em 1 tabela." in portuguese and "(4 arquivos bronze)" in portuguese


def test_who_asked_and_the_inputs_of_each_run_show_with_undeclared_parameters_named(home):
    lake = Lake.from_settings(home)
    summary = _summary("r3", "2026-11-22T10:00:00+00:00")
    summary["provenance"] = {
        "olist": {"dir": "/data/olist"}, "files": {"olist_orders_dataset.csv": "ab" * 32},
        "sources": {"ipca": "live", "open_meteo": "snapshot", "openweather": "skipped"},
        "requested_by": "deployment full-pipeline/full-pipeline-daily, flow run f1",
        "declared": False, "undeclared": ["olist_dir", "sources"],
    }  # fmt: skip
    lake.write_bytes("gold", "_runs/r3.json", json.dumps(summary).encode())
    snapshot = ops.operations_snapshot(home)
    assert [r["name"] for r in snapshot.inputs] == ["name-r3"]  # r1, r2 recorded none
    html = operations_view.runs_html(snapshot, "en")
    cells = html[html.index('data-testid="inputs-table"') :]
    for text in ("deployment full-pipeline/full-pipeline-daily, flow run f1", "/data/olist",
                 "NO: olist_dir, sources", "ipca: live, open_meteo: snapshot"):  # fmt: skip
        assert text in cells, cells
