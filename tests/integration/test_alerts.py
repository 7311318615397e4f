"""Cofre's events and automations on a real Prefect API (the session's; its event, trigger and
action services run): each event is read back from the server's events API, and the security
automation's notification must reach a real HTTP webhook. The deployment-run case, a failed
gate notifying through an automation, is in tests/integration/test_deployments.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blocks import audit
from blocks.errors import BlockSealBroken, QualityGateFailed
from blocks.lake import Lake
from blocks.runtime import alerts, events
from blocks.runtime.redaction import register_secret
from blocks.secrets.keyring import ensure_keyring
from blocks.settings import load_settings
from flows.cli import app
from tasks.warehouse.connection import connect_warehouse
from tests.alerting import automations_notifying, stored_events
from tests.prefect_rest import api_call, delete_all_cofre_blocks, patch_block

ROOT = Path(__file__).resolve().parents[2]
MARKER = "ALERT-marker-5c19d2"  # stands for every secret: it must reach no event
TOKEN = "hook-TOKEN-7f3a90"  # the webhook URL's token
runner = CliRunner()


@pytest.fixture
def alerting(prefect_api):
    """Cofre's automations on the session's API, notifying a local webhook."""
    with automations_notifying(prefect_api.url, f"/hook/{TOKEN}", "cofre-alerts-test") as receiver:
        yield receiver


def test_installing_twice_updates_by_name_and_never_shows_the_token(alerting, prefect_api):
    block_id = alerts.notification_block_id("custom-webhook/cofre-alerts-test")
    assert [what for _, what in alerts.install_automations(block_id)] == ["updated"] * len(
        alerts.ALERTS
    )
    names = [a.name for a in alerts.cofre_automations()]
    assert names == sorted(alert.name for alert in alerts.ALERTS)
    listed = runner.invoke(app, ["automations", "list"])
    assert listed.exit_code == 0 and "cofre-quality-gate-failed" in listed.output
    for path in ("/automations/filter", "/block_documents/filter"):
        assert TOKEN not in api_call("post", f"{prefect_api.url}{path}", json={}).text


def test_a_security_incident_is_an_event_and_a_notification(alerting, prefect_api, monkeypatch):
    delete_all_cofre_blocks()
    ensure_keyring()
    monkeypatch.setenv("COFRE_SECRET_PASSWORD", f"PW-{MARKER}")
    saved = runner.invoke(app, ["secrets", "set", "postgres", "pg-alerts", "--set", "host=db"])
    assert saved.exit_code == 0, saved.output
    patch_block(prefect_api.url, "cofre-postgres-credentials", "pg-alerts", {"host": "evil"})
    monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "pg-alerts")
    with pytest.raises(BlockSealBroken):
        connect_warehouse(load_settings())
    found = stored_events(
        prefect_api.url,
        events.SECURITY_INCIDENT,
        lambda e: e["payload"]["details"].get("block_name") == "pg-alerts",
    )
    assert MARKER not in json.dumps(found)
    seqs = {r["seq"] for r in audit.read_records() if r["action"] == "SECURITY_INCIDENT"}
    event = next(e for e in found if e["payload"]["audit_seq"] in seqs)
    assert event["resource"] == events.home_resource(load_settings().home)
    note = alerting.wait_for(lambda r: "pg-alerts" in r["json"]["subject"])
    assert note["path"] == f"/hook/{TOKEN}" and "SECURITY INCIDENT" in note["json"]["subject"]
    assert re.search(r"audit seq \d+", note["json"]["body"]), note
    assert MARKER not in json.dumps(alerting.received)
    delete_all_cofre_blocks()


def test_a_failed_gate_is_an_event_naming_the_dataset(prefect_api, tmp_path):
    from tasks.silver.run import run_silver
    from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
    from tasks.sources.olist.synthetic import generate_olist

    generate_olist(tmp_path / "olist", orders=60, seed=3)
    lake = Lake.from_url(str(tmp_path / "lake"))
    for file in check_olist_dir(tmp_path / "olist"):
        land_olist_file(lake, file, "run-gate")
    with pytest.raises(QualityGateFailed) as failed:
        run_silver(lake, load_settings(max_quarantine_share=0), "run-gate")
    assert failed.value.dataset == "geolocation"
    found = stored_events(
        prefect_api.url, events.GATE_FAILED, lambda e: e["payload"]["run_id"] == "run-gate"
    )
    [event] = [e for e in found if e["payload"]["run_id"] == "run-gate"]
    assert event["payload"]["dataset"] == "geolocation" and event["payload"]["layer"] == "silver"
    assert event["payload"]["reason"].startswith("geolocation: 1 of ")
    assert {"prefect.resource.id": "cofre.dataset.silver.geolocation"}.items() <= (
        event["related"][0].items()
    )


def test_a_fallback_to_the_snapshot_is_an_event(prefect_api, tmp_path):
    from tasks.sources.ipca.ingest import ingest_ipca
    from tests.tasks.sources.fake_apis import closed_port_url

    settings = load_settings(sgs_base_url=closed_port_url(), http_retries=1)
    lake = Lake.from_url(str(tmp_path / "lake"))
    result = ingest_ipca(lake, settings, "run-fallback", "auto", today=date(2026, 11, 27))
    assert result.fell_back
    [record] = [r for r in audit.read_records() if r["action"] == "SOURCE_FALLBACK"]
    found = stored_events(
        prefect_api.url,
        events.SOURCE_FALLBACK,
        lambda e: (
            e["payload"]["audit_seq"] == record["seq"]
            and e["resource"] == events.home_resource(settings.home)
        ),
    )
    event = next(e for e in found if e["resource"] == events.home_resource(settings.home))
    assert event["payload"]["source"] == "bcb_sgs/ipca_433"
    assert event["payload"]["served_by"] == "snapshot"
    assert "unreachable" in event["payload"]["reason"]


def test_a_payload_with_a_secret_is_refused_and_secret_values_are_redacted(prefect_api):
    with pytest.raises(ValueError, match="named like a secret") as refused:
        events.emit(events.GATE_FAILED, {"password": f"PW-{MARKER}"})
    assert MARKER not in str(refused.value)
    with pytest.raises(ValueError, match="Unknown Cofre event"):
        events.emit("cofre.something-else", {})
    register_secret(f"SECRET-{MARKER}")
    run_id = f"redact-{time.time_ns()}"
    assert events.emit(
        events.GATE_FAILED,
        {"dataset": "d", "layer": "silver", "run_id": run_id, "reason": f"x SECRET-{MARKER} y"},
    )
    [event] = [
        e
        for e in stored_events(
            prefect_api.url, events.GATE_FAILED, lambda e: e["payload"]["run_id"] == run_id
        )
        if e["payload"]["run_id"] == run_id
    ]
    assert event["payload"]["reason"] == "x *** y"


def test_without_a_server_or_a_run_nothing_is_sent_and_prefect_is_not_imported(tmp_path):
    code = (
        "import sys; from blocks import audit; from blocks.runtime import events; "
        "audit.record('SECURITY_INCIDENT', 'x', details={'check': 'seal'}, outcome='failure'); "
        "print(events.emit(events.RUN_COMPLETED, {'run_id': 'r'}), 'prefect' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "COFRE_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect"), "COFRE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]


def test_the_run_failed_automation_names_every_cofre_flow():
    declared = {
        name
        for path in (ROOT / "flows").glob("*.py")
        for name in re.findall(r'@flow\(name="([^"]+)"', path.read_text(encoding="utf-8"))
    }
    assert set(alerts.COFRE_FLOWS) == declared
