"""Prefect's API authentication, as compose.yaml and docs/operations.md turn it on.

A real `prefect server` started with PREFECT_SERVER_API_AUTH_STRING (once for the module:
startup is slow): a REST write without the string, or with a wrong one, is refused with 401 and
changes nothing; the same write with it succeeds; a Prefect client configured with
PREFECT_API_AUTH_STRING (as the worker and the CLI are) works.
"""

from __future__ import annotations

import base64
import subprocess
import uuid

import httpx
import pytest

from tests.services import _prefect, start_prefect_server, stop_process_group

AUTH = f"cofre-admin:{uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    started = start_prefect_server(
        tmp_path_factory.mktemp("auth") / "prefect-home",
        extra_env={"PREFECT_SERVER_API_AUTH_STRING": AUTH},
    )
    yield started
    stop_process_group(started.process)


def _basic(value: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(value.encode()).decode()}


def _variables(server, headers: dict[str, str]) -> list[str]:
    response = httpx.post(f"{server.url}/variables/filter", json={}, headers=headers, timeout=30)
    response.raise_for_status()
    return [v["name"] for v in response.json()]


def test_an_unauthenticated_write_is_refused_and_an_authenticated_one_accepted(server):
    write = {"name": "cofre-auth-probe", "value": "x"}
    for headers in ({}, _basic("cofre-admin:wrong"), {"Authorization": "Bearer " + AUTH}):
        refused = httpx.post(f"{server.url}/variables/", json=write, headers=headers, timeout=30)
        assert refused.status_code == 401, refused.text
    assert "cofre-auth-probe" not in _variables(server, _basic(AUTH))
    accepted = httpx.post(f"{server.url}/variables/", json=write, headers=_basic(AUTH), timeout=30)
    assert accepted.status_code == 201, accepted.text
    assert "cofre-auth-probe" in _variables(server, _basic(AUTH))


def test_the_cli_needs_the_auth_string(server):
    def pool(auth: str | None) -> subprocess.CompletedProcess:
        env = server.env()
        env.pop("PREFECT_API_AUTH_STRING", None)
        if auth is not None:
            env["PREFECT_API_AUTH_STRING"] = auth
        return subprocess.run(
            [_prefect(), "work-pool", "create", "cofre-auth-pool", "--type", "process"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    assert pool(None).returncode != 0
    created = pool(AUTH)
    assert created.returncode == 0, created.stdout + created.stderr
    assert AUTH not in created.stdout + created.stderr
