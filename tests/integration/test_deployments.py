"""Deployments for real: `prefect server`, a process worker, `prefect deploy --all`, a run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from blocks.runtime import events
from tests.alerting import WebhookReceiver, stored_events
from tests.services import start_prefect_server, start_worker, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
POOL = "cofre-local"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A Prefect server, the pool, every deployment of prefect.yaml and one worker."""
    base = tmp_path_factory.mktemp("deployments")
    server = start_prefect_server(base / "prefect-home")
    home = base / "cofre-home"
    env = server.env(COFRE_HOME=str(home), PWD=str(ROOT))
    try:
        _cli(env, "work-pool", "create", POOL, "--type", "process",
             "--base-job-template", str(ROOT / "deploy" / "cofre-local-pool.json"),
             "--overwrite")  # fmt: skip
        deployed = _cli(env, "--no-prompt", "deploy", "--all")
        assert deployed.returncode == 0, deployed.stdout + deployed.stderr
        worker = start_worker(server, POOL, ROOT, base / "worker.log", env=env)
        yield {"server": server, "env": env, "home": home, "worker_log": base / "worker.log"}
    finally:
        if "worker" in locals():
            stop_process_group(worker)
        stop_process_group(server.process)


def _cli(env: dict, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    from tests.services import _prefect

    return subprocess.run(
        [_prefect(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _api(stack, method: str, path: str, **body) -> dict | list:
    response = httpx.request(method, f"{stack['server'].url}{path}", json=body or None, timeout=30)
    response.raise_for_status()
    return response.json()


def test_every_deployment_is_registered_with_its_schedule(stack):
    deployments = _api(stack, "POST", "/deployments/filter")
    by_name = {d["name"]: d for d in deployments}
    expected = {"full-pipeline-daily", "ipca-monthly", "weather-snapshot-hourly",
                "weather-history-daily", "silver", "lifecycle-daily"}  # fmt: skip
    assert expected <= set(by_name)
    crons = {d["name"]: [s["schedule"].get("cron") for s in d["schedules"]] for d in deployments}
    assert crons["full-pipeline-daily"] == ["0 2 * * *"]
    assert crons["weather-snapshot-hourly"] == ["0 * * * *"]
    assert by_name["ipca-monthly"]["parameters"] == {"only": ["ipca"], "sources": "live"}
    assert by_name["full-pipeline-daily"]["work_pool_name"] == POOL
    assert by_name["silver"]["job_variables"]["working_dir"] == str(ROOT)


def test_full_pipeline_deployment_runs_to_completion_on_the_worker(stack):
    run = _cli(
        stack["env"], "deployment", "run", "full-pipeline/full-pipeline-daily",
        "--param", "synthetic_orders=400", "--param", "sources=snapshot",
        "--watch", "--watch-timeout", "900",
    )  # fmt: skip
    log = stack["worker_log"].read_text(errors="replace")[-4000:]
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:] + log
    runs = _api(stack, "POST", "/flow_runs/filter")
    pipeline = next(r for r in runs if r["deployment_id"] and r["name"] in run.stdout)
    assert pipeline["state_type"] == "COMPLETED"
    artifacts = _api(stack, "POST", "/artifacts/filter")
    keys = {a["key"] for a in artifacts}
    assert "silver-quality-report" in keys
    manifests = list((stack["home"] / "lake" / "bronze" / "olist").rglob("_manifest.json"))
    assert len(manifests) == 9
    assert json.loads(manifests[0].read_text())["run_id"] == pipeline["id"]
    # Its parameters are not the deployment's (`sources: live`): visible as such, with who asked.
    summary = json.loads((stack["home"] / "lake" / "gold" / "_runs" / f"{pipeline['id']}.json")
                         .read_text())  # fmt: skip
    provenance = summary["provenance"]
    assert provenance["declared"] is False
    assert provenance["undeclared"] == ["sources", "synthetic_orders"]
    assert provenance["requested_by"] == (
        f"deployment full-pipeline/full-pipeline-daily, flow run {pipeline['id']}"
    )
    assert provenance["olist"] == {"synthetic": {"seed": 42, "orders": 400}}
    assert len(provenance["files"]) == 9 and set(provenance["sources"].values()) == {"snapshot"}
    printed = stack["worker_log"].read_text(errors="replace")  # the flow's printed summary
    assert "parameters NOT as declared: sources, synthetic_orders." in printed
    # Its completion is a Cofre event with the summary's figures, about the flow run.
    [completed] = [
        e
        for e in stored_events(
            stack["server"].url,
            events.RUN_COMPLETED,
            lambda e: e["payload"]["run_id"] == pipeline["id"],
        )
        if e["payload"]["run_id"] == pipeline["id"]
    ]
    figures = completed["payload"]
    assert figures["gold_version"] == pipeline["id"] and figures["state"] == "completed"
    assert [row["stage"] for row in figures["stages"]] == [
        "ingestion", "silver", "gold", "warehouse"
    ]  # fmt: skip
    related = {r["prefect.resource.id"] for r in completed["related"]}
    assert f"prefect.flow-run.{pipeline['id']}" in related


def test_a_failed_gate_in_a_deployment_run_notifies_through_an_automation(stack, monkeypatch):
    """`cofre automations install` on the server; the silver deployment on bronze whose
    geolocation file has one row outside Brazil, with no quarantine allowed: the gate fails and
    the webhook hears of it once (the gate's automation, naming the run), not again as a failed
    run."""
    from blocks.lake import Lake
    from blocks.settings import load_settings
    from tasks.sources.olist.ingest import check_olist_dir, land_olist_file
    from tasks.sources.olist.synthetic import generate_olist

    monkeypatch.setenv("COFRE_HOME", str(stack["home"]))  # this test's bronze, in the stack's home
    olist = stack["home"].parent / "olist-alerts"
    generate_olist(olist, orders=60, seed=5)
    lake = Lake.from_settings(load_settings())
    for file in check_olist_dir(olist):
        land_olist_file(lake, file, "alerts-bronze")
    with WebhookReceiver() as receiver:
        token = "hook-TOKEN-2b77e1"
        installed = subprocess.run(
            [sys.executable, "-m", "flows.cli", "automations", "install",
             "--webhook-url", receiver.url(f"/hook/{token}")],
            cwd=ROOT, env=stack["env"], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert "created  cofre-quality-gate-failed" in installed.stdout
        assert token not in installed.stdout + installed.stderr
        run = _cli(
            stack["env"], "deployment", "run", "silver/silver",
            "--param", "max_quarantine_share=0", "--watch", "--watch-timeout", "600",
        )  # fmt: skip
        runs = _api(stack, "POST", "/flow_runs/filter")
        silver = next(r for r in runs if r["deployment_id"] and r["name"] in run.stdout)
        assert silver["state_type"] == "FAILED", run.stdout[-3000:] + run.stderr[-3000:]
        gate = receiver.wait_for(lambda r: "quality gate failed" in r["json"]["subject"])
        assert gate["path"] == f"/hook/{token}"
        assert gate["json"]["subject"] == "Cofre: quality gate failed: silver geolocation"
        assert "geolocation: 1 of " in gate["json"]["body"]
        assert f"Flow run: {silver['name']} ({silver['id']})" in gate["json"]["body"]
        time.sleep(20)  # time for a second notification of the same failure, were it sent
        about_it = [r for r in receiver.received if silver["name"] in r["json"]["body"]]
        assert about_it == [gate], receiver.received
