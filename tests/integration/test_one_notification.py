"""One happening, one notification, on a real Prefect API with Cofre's automations and a real
webhook counting what arrives: a failed gate (inside the full pipeline: its silver subflow and
the pipeline fail too), a failed run (a stage's subflow and the pipeline), a security incident
that fails a run, and a run refused because its home is busy (its own notification, not a
failure). Each case has its own COFRE_HOME, and every notification names its home, so the
count is of this case's notifications only."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blocks.secrets.keyring import ensure_keyring
from tests.alerting import WebhookReceiver, automations_notifying
from tests.prefect_rest import api_call, delete_all_cofre_blocks, patch_block

ROOT = Path(__file__).resolve().parents[2]
SETTLE_SECONDS = 20  # after the first notification, time for any duplicate to arrive
HOLDER = ROOT / "tests" / "blocks" / "lock_holder.py"


@pytest.fixture
def webhook(prefect_api):
    """Every Cofre automation on the session's API, notifying a local webhook."""
    with automations_notifying(prefect_api.url, "/hook", "cofre-alerts-counting") as receiver:
        yield receiver


def notifications_about(receiver: WebhookReceiver, home: Path) -> list[dict]:
    """This home's notifications: once the first came, whatever else comes in the next
    SETTLE_SECONDS too."""
    mine = str(home.resolve())
    receiver.wait_for(lambda r: mine in r["json"]["body"], timeout=120)
    time.sleep(SETTLE_SECONDS)
    return [r["json"] for r in receiver.received if mine in r["json"]["body"]]


def _flow_name_of_run(api: str, body: str) -> str:
    run_id = body.split("Flow run: ", 1)[1].split("(", 1)[1].split(")", 1)[0]
    run = api_call("get", f"{api}/flow_runs/{run_id}").json()
    return api_call("get", f"{api}/flows/{run['flow_id']}").json()["name"]


def test_a_failed_gate_in_the_pipeline_notifies_once_naming_the_silver_run(
    webhook, prefect_api, tmp_path, cofre_home
):
    from flows.full_pipeline import full_pipeline
    from tasks.sources.olist.synthetic import generate_olist

    generate_olist(tmp_path / "olist", orders=60, seed=3)  # one geolocation row off Brazil
    state = full_pipeline(
        olist_dir=str(tmp_path / "olist"), sources="snapshot", max_quarantine_share=0,
        return_state=True,
    )  # fmt: skip
    assert state.is_failed()
    [note] = notifications_about(webhook, cofre_home)
    assert note["subject"] == "Cofre: quality gate failed: silver geolocation"
    assert _flow_name_of_run(prefect_api.url, note["body"]) == "silver"


def test_a_failed_stage_notifies_once_for_the_pipeline_naming_the_stage(
    webhook, prefect_api, tmp_path, cofre_home
):
    from flows.full_pipeline import full_pipeline
    from tasks.sources.olist.synthetic import generate_olist

    generate_olist(tmp_path / "olist", orders=60, seed=3)
    (tmp_path / "olist" / "olist_sellers_dataset.csv").unlink()  # ingestion fails
    state = full_pipeline(olist_dir=str(tmp_path / "olist"), sources="snapshot", return_state=True)
    assert state.is_failed()
    [note] = notifications_about(webhook, cofre_home)
    assert note["subject"].startswith("Cofre: full-pipeline run ") and note["subject"].endswith(
        " failed"
    )
    assert "PipelineStageFailed: Stage 'ingestion' failed" in note["body"]
    assert "olist_sellers_dataset.csv" in note["body"]


def test_an_incident_that_fails_a_run_notifies_once(
    webhook, prefect_api, moto_endpoint, s3_bucket, cofre_home, monkeypatch
):
    from flows.cli import app
    from flows.lifecycle import lifecycle

    delete_all_cofre_blocks()
    ensure_keyring()
    monkeypatch.setenv("COFRE_SECRET_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("COFRE_SECRET_SECRET_ACCESS_KEY", "testing")
    saved = CliRunner().invoke(
        app, ["secrets", "set", "s3", "s3-counting", "--set", f"endpoint_url={moto_endpoint}"]
    )
    assert saved.exit_code == 0, saved.output
    patch_block(prefect_api.url, "cofre-s3-credentials", "s3-counting", {"region": "us-west-2"})
    monkeypatch.setenv("COFRE_S3_CREDENTIALS_BLOCK", "s3-counting")
    monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", moto_endpoint)
    state = lifecycle(days=30, dry_run=True, lake=f"s3://{s3_bucket}", return_state=True)
    assert state.is_failed()
    [note] = notifications_about(webhook, cofre_home)
    assert note["subject"] == "Cofre: SECURITY INCIDENT on cofre-s3-credentials/s3-counting"
    assert _flow_name_of_run(prefect_api.url, note["body"]) == "lifecycle"
    delete_all_cofre_blocks()


def test_a_run_refused_because_the_home_is_busy_is_its_own_notification_not_a_failure(
    webhook, prefect_api, cofre_home, monkeypatch
):
    from flows.lifecycle import lifecycle

    env = {**os.environ, "COFRE_HOME": str(cofre_home)}
    holder = subprocess.Popen(
        [sys.executable, str(HOLDER), "holder-run", "120"], env=env, stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("COFRE_LOCK_WAIT_SECONDS", "1")
        state = lifecycle(days=30, dry_run=True, return_state=True)
        assert state.is_failed()
        [note] = notifications_about(webhook, cofre_home)
    finally:
        holder.kill()
        holder.wait()
    assert note["subject"].startswith("Cofre: lifecycle run ")
    assert note["subject"].endswith(" refused: home busy")
    assert "holder-run" in note["body"] and "failed" not in note["subject"]
