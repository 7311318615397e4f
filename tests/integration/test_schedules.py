"""Schedules fire: a `prefect.yaml` deployment with a short interval schedule, deployed to a
real `prefect server` (not the session's test API: Prefect runs no scheduler in a temporary
server), makes the scheduler create runs, and a process worker completes one.

This is the check that would have caught issue 28: with SQLAlchemy 2.1 under Prefect 3.9 the
scheduler fails on every loop ("Can't evaluate bulk DML statement") and creates no run, so no
auto-scheduled run ever exists, let alone completes. New deployments are scheduled by the
"recent deployments" loop (every 5 s by default), so the server needs no special settings."""

from __future__ import annotations

import subprocess
import time
from importlib.metadata import version
from pathlib import Path

import httpx

from tests.services import _prefect, start_prefect_server, start_worker, stop_process_group

POOL = "schedule-probe"
FLOW = """from prefect import flow


@flow(name="schedule-probe")
def probe() -> str:
    return "ran"
"""
PROJECT = """name: schedule-probe
prefect-version: {prefect}
pull:
  - prefect.deployments.steps.set_working_directory:
      directory: "{{{{ $PWD }}}}"
deployments:
  - name: every-ten-seconds
    entrypoint: probe.py:probe
    work_pool:
      name: {pool}
      job_variables:
        working_dir: "{{{{ $PWD }}}}"
    schedules:
      - interval: 10
"""


def test_an_interval_schedule_makes_runs_and_a_worker_completes_one(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "probe.py").write_text(FLOW)
    (project / "prefect.yaml").write_text(PROJECT.format(prefect=version("prefect"), pool=POOL))
    server = start_prefect_server(tmp_path / "prefect-home")
    env = server.env(PWD=str(project))
    worker = None
    try:
        for args in (
            ("work-pool", "create", POOL, "--type", "process", "--overwrite"),
            ("--no-prompt", "deploy", "--all"),
        ):
            done = subprocess.run(
                [_prefect(), *args], cwd=project, env=env, capture_output=True, text=True,
                timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
        worker = start_worker(server, POOL, project, tmp_path / "worker.log", env=env)
        completed = _first_completed_run(server.url, timeout=300)
        log = (server.home / "server.log").read_text(errors="replace")
        assert completed, _story(server.url, log, tmp_path / "worker.log")
        assert "Can't evaluate bulk DML" not in log
        states = httpx.get(
            f"{server.url}/flow_run_states/", params={"flow_run_id": completed["id"]}, timeout=30
        ).json()
        first = min(states, key=lambda state: state["timestamp"])
        assert first["type"] == "SCHEDULED"  # made by the scheduler, not `deployment run`
        assert completed["deployment_id"] and completed["auto_scheduled"] is True
    finally:
        if worker is not None:
            stop_process_group(worker)
        stop_process_group(server.process)


def _runs(api: str) -> list[dict]:
    response = httpx.post(f"{api}/flow_runs/filter", json={}, timeout=30)
    response.raise_for_status()
    return response.json()


def _first_completed_run(api: str, timeout: float) -> dict | None:
    """The first auto-scheduled run of the deployment that reached Completed, else None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for run in _runs(api):
            if run["auto_scheduled"] and run["state_type"] == "COMPLETED":
                return run
        time.sleep(2)
    return None


def _story(api: str, server_log: str, worker_log: Path) -> str:
    runs = [(r["name"], r["auto_scheduled"], r["state_name"]) for r in _runs(api)]
    return (
        f"no auto-scheduled run completed; runs: {runs}\nserver log: {server_log[-3000:]}\n"
        f"worker log: {worker_log.read_text(errors='replace')[-3000:]}"
    )
