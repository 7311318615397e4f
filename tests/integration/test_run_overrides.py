"""A Prefect API writer's per-run overrides, against a real server and real process workers.

One `prefect server`, prefect.yaml deployed on the locked pool (deploy/cofre-local-pool.json)
and one of its deployments copied onto an open pool (plain `--type process`), a worker on
each. The attacker only speaks REST. A marker file and a plain TCP listener on 127.0.0.1 (given
as the S3 endpoint and as PGHOST/PGPORT) must see nothing: a per-run command never runs on the
locked pool, a per-run env never reaches the flow there, and on the open pool the flow frame
refuses undeclared env before any setting or secret is read, with a SECURITY_INCIDENT.
"""

from __future__ import annotations

import subprocess
import time
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from blocks import audit
from blocks.env_settings import EnvOnlySettings
from tests.listeners import Listener
from tests.prefect_rest import api_call
from tests.services import _prefect, start_prefect_server, start_worker, stop_process_group

ROOT = Path(__file__).resolve().parents[2]
LOCKED = "cofre-local"
OPEN = "cofre-open"
TEMPLATE = ROOT / "deploy" / "cofre-local-pool.json"
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """A server; prefect.yaml on the locked pool; ipca-monthly copied onto an open pool."""
    base = tmp_path_factory.mktemp("overrides")
    server = start_prefect_server(base / "prefect-home")
    home = base / "cofre-home"
    env = {
        **{k: v for k, v in server.env().items() if not k.startswith("COFRE_")},
        "COFRE_HOME": str(home),
        "PWD": str(ROOT),
        "PREFECT_WORKER_QUERY_SECONDS": "2",
    }
    workers = []
    try:
        _cli(env, "work-pool", "create", LOCKED, "--type", "process",
             "--base-job-template", str(TEMPLATE), "--overwrite")  # fmt: skip
        _cli(env, "--no-prompt", "deploy", "--all")
        _cli(env, "work-pool", "create", OPEN, "--type", "process", "--overwrite")
        locked = _deployment(server.url, "ipca-monthly")
        copied = {k: locked[k] for k in ("flow_id", "entrypoint", "path", "pull_steps",
                                          "job_variables", "parameter_openapi_schema")}  # fmt: skip
        response = api_call("post", f"{server.url}/deployments/", json={
            **copied, "name": "ipca-open", "work_pool_name": OPEN, "work_queue_name": "default",
            "parameters": {"only": ["ipca"], "sources": "snapshot"},
        })  # fmt: skip
        response.raise_for_status()
        for pool in (LOCKED, OPEN):
            workers.append(start_worker(server, pool, ROOT, base / f"{pool}.log", env=env))
        yield {"url": server.url, "home": home, "base": base, "open": response.json(),
               "locked": locked}  # fmt: skip
    finally:
        for worker in workers:
            stop_process_group(worker)
        stop_process_group(server.process)


def _cli(env: dict, *args: str) -> None:
    done = subprocess.run(
        [_prefect(), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _deployment(url: str, name: str) -> dict:
    found = api_call("post", f"{url}/deployments/filter", json={}).json()
    return next(d for d in found if d["name"] == name)


def _wait(url: str, flow_run_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            run = api_call("get", f"{url}/flow_runs/{flow_run_id}").json()
        except httpx.TimeoutException:  # the server's SQLite busy under a loaded CI machine
            continue  # (measured once: a 30 s stall); the run's state is what is tested
        if run["state_type"] in FINAL:
            return run
        time.sleep(1)
    raise AssertionError(f"flow run {flow_run_id} did not finish in {timeout} s")


def _incidents(home: Path, flow_run_id: str) -> list[dict]:
    return [
        r
        for r in audit.read_records(EnvOnlySettings(home=home))
        if r["action"] == "SECURITY_INCIDENT"
        and r["details"].get("check") == "run_override"
        and r["details"].get("flow_run_id") == flow_run_id
    ]


def _attack_env(listener: Listener) -> dict[str, str]:
    """Everything a run would need to send the S3 keys or a PG password to the listener."""
    return {
        "COFRE_LAKE_URL": "s3://stolen",
        "COFRE_S3_ENDPOINT_URL": listener.url,
        "AWS_ENDPOINT_URL": listener.url,
        "PGHOST": "127.0.0.1",
        "PGPORT": str(listener.port),
    }


def test_a_plain_run_of_a_deployment_on_the_locked_pool_completes(stack):
    """The lock and the frame's check leave a run without overrides alone (parameters may
    narrow a run), in the project directory the deployment declares."""
    run = api_call("post",
        f"{stack['url']}/deployments/{stack['locked']['id']}/create_flow_run",
        json={"parameters": {"only": ["ipca"], "sources": "snapshot"}},
    )  # fmt: skip
    assert run.status_code == 201, run.text
    finished = _wait(stack["url"], run.json()["id"])
    assert finished["state_type"] == "COMPLETED", finished["state"]["message"]
    assert _incidents(stack["home"], finished["id"]) == []


def test_the_locked_pool_refuses_a_per_run_command_or_env(stack, tmp_path):
    marker = tmp_path / "MARKER"
    with closing(Listener()) as listener:
        for job_variables in (
            {"command": f"sh -c 'touch {marker}'"},
            {"env": _attack_env(listener)},
            {"env.PGHOST": "127.0.0.1"},
        ):
            response = api_call("post",
                f"{stack['url']}/deployments/{stack['locked']['id']}/create_flow_run",
                json={"job_variables": job_variables},
            )  # fmt: skip
            assert response.status_code == 422, response.text
            assert "Additional properties are not allowed" in response.text
            assert f"'{next(iter(job_variables))}' was unexpected" in response.text
        time.sleep(5)  # what a worker would have picked up meanwhile
        assert not marker.exists()
        assert listener.connections == 0


def test_a_command_and_env_that_reach_the_locked_pool_are_ignored_and_refused(stack, tmp_path):
    """`POST /flow_runs/` stores job variables unvalidated: the worker still runs its own
    command without the run's env (`in_effect` is empty), and the frame refuses the run."""
    marker = tmp_path / "MARKER"
    locked = stack["locked"]
    with closing(Listener()) as listener:
        response = api_call("post", f"{stack['url']}/flow_runs/", json={
            "flow_id": locked["flow_id"], "deployment_id": locked["id"],
            "work_pool_name": LOCKED, "work_queue_name": "default",
            "parameters": {"only": ["ipca"], "sources": "snapshot"},
            "job_variables": {"command": f"sh -c 'touch {marker}'",
                              "env": _attack_env(listener)},
            "state": {"type": "SCHEDULED"},
        })  # fmt: skip
        assert response.status_code == 201, response.text
        finished = _wait(stack["url"], response.json()["id"])
        assert not marker.exists()
        assert listener.connections == 0 and listener.received == b""
    message = finished["state"]["message"]
    assert finished["state_type"] == "FAILED", message
    assert "job variable command, env.AWS_ENDPOINT_URL, env.COFRE_LAKE_URL" in message
    assert "SECURITY_INCIDENT" in message and "--base-job-template" in message
    [incident] = _incidents(stack["home"], finished["id"])
    assert incident["target"] == "prefect-deployment/ingestion/ipca-monthly"
    assert "command" in incident["details"]["job_variables"]
    assert incident["details"]["in_effect"] == []  # the locked pool's worker dropped them


def test_on_an_open_pool_undeclared_env_is_refused_before_any_secret_is_read(stack):
    """Without the frame's check, this run would open the S3 lake at the listener with the
    worker's AWS keys (the listener would see a signed request)."""
    with closing(Listener()) as listener:
        response = api_call("post",
            f"{stack['url']}/deployments/{stack['open']['id']}/create_flow_run",
            json={"job_variables": {"env": _attack_env(listener)}},
        )  # fmt: skip
        assert response.status_code == 201, response.text  # an open pool takes any env
        finished = _wait(stack["url"], response.json()["id"])
        assert listener.connections == 0 and listener.received == b""
    message = finished["state"]["message"]
    assert finished["state_type"] == "FAILED", message
    assert "RunOverrideRefused" in message
    assert "of deployment ingestion/ipca-open was created with job variable env." in message
    [incident] = _incidents(stack["home"], finished["id"])
    assert incident["outcome"] == "failure"
    names = {f"env.{name}" for name in _attack_env(listener)}
    assert set(incident["details"]["job_variables"]) == names
    assert set(incident["details"]["in_effect"]) == names  # they reached the process
    assert str(listener.port) not in str(incident)  # names only, never a value


def test_on_an_open_pool_a_per_run_command_runs_on_the_worker(stack, tmp_path):
    """What the threat model says an open pool allows: code on the worker, before any flow
    code (so no check inside Cofre's flows can stop it). The locked pool is the answer."""
    marker = tmp_path / "MARKER"
    response = api_call("post",
        f"{stack['url']}/deployments/{stack['open']['id']}/create_flow_run",
        json={"job_variables": {"command": f"sh -c 'touch {marker}'"}},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    deadline = time.monotonic() + 120
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(1)
    assert marker.exists()
    api_call("post",
        f"{stack['url']}/flow_runs/{response.json()['id']}/set_state",
        json={"state": {"type": "CANCELLED"}, "force": True},
    )  # fmt: skip
