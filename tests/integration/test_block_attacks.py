"""A writer of the Prefect API (no Cofre key) attacks saved blocks and flow parameters.

The attacker only uses Prefect's REST API: it patches a Postgres block's host/port or an S3
block's endpoint to a TCP listener it controls, or moves ciphertext between blocks and
fields. Cofre's real load paths must refuse (naming the block, auditing SECURITY_INCIDENT)
before anything connects: the listener must see no connection. Secrets given as flags must
be refused before a flow run exists: the Prefect database and REST API never hold them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from blocks import audit
from blocks.errors import BlockSealBroken, ConfigurationError
from blocks.runtime.parameter_guard import refuse_secret_parameters
from blocks.secrets.credentials import S3Credentials
from blocks.secrets.keyring import ensure_keyring
from blocks.settings import load_settings
from flows.cli import app
from tasks.warehouse.connection import connect_warehouse
from tests.conftest import files_containing
from tests.prefect_rest import api_call, block_document, delete_all_cofre_blocks, patch_block

ROOT = Path(__file__).resolve().parents[2]
MARKER = "ATTACK-marker-8e41b7"
runner = CliRunner()


@pytest.fixture
def server(prefect_api, monkeypatch):
    """A server holding only this test's Cofre blocks; secrets from the environment."""
    delete_all_cofre_blocks()
    ensure_keyring()
    monkeypatch.setenv("COFRE_SECRET_PASSWORD", f"PW-{MARKER}")
    monkeypatch.setenv("COFRE_SECRET_ACCESS_KEY_ID", f"AK-{MARKER}")
    monkeypatch.setenv("COFRE_SECRET_SECRET_ACCESS_KEY", f"SK-{MARKER}")
    yield prefect_api
    delete_all_cofre_blocks()


def _secrets_set(kind: str, name: str, *assignments: str) -> None:
    args = ["secrets", "set", kind, name, *[x for a in assignments for x in ("--set", a)]]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output


def _incidents_for(label: str) -> list[dict]:
    return [
        r
        for r in audit.read_records()
        if r["action"] == "SECURITY_INCIDENT" and r["target"] == label
    ]


def _assert_no_marker_in_audit() -> None:
    trail = load_settings().resolved_audit_dir / "audit.jsonl"
    assert MARKER not in trail.read_text()


def _cli(module: str, *args: str, env: dict[str, str], cwd: Path = ROOT):
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _assert_one_stop_line(result, *expected: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    stops = [line for line in result.stderr.splitlines() if line.startswith("Cofre stopped:")]
    assert len(stops) == 1, result.stderr
    for text in expected:
        assert text in stops[0], stops[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert MARKER not in result.stderr + result.stdout


# -- blocks ---------------------------------------------------------------------------------
def test_a_sealed_block_pointing_at_the_listener_does_connect(server, listener, monkeypatch):
    """The control: the listener sees what a real load path sends it."""
    _secrets_set("postgres", "pg-control", "host=127.0.0.1", f"port={listener.port}")
    monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "pg-control")
    # connect_warehouse connects once right away; the listener is not PostgreSQL, so that fails
    with pytest.raises(Exception):  # noqa: B017
        connect_warehouse(load_settings())
    assert listener.connections


def test_patched_postgres_host_and_port_connect_nowhere(server, listener, monkeypatch):
    _secrets_set("postgres", "pg-wh", "host=db.internal", "sslmode=require")
    patch_block(
        server.url,
        "cofre-postgres-credentials",
        "pg-wh",
        {"host": "127.0.0.1", "port": listener.port, "sslmode": "disable"},
    )
    monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "pg-wh")
    with pytest.raises(BlockSealBroken, match="cofre-postgres-credentials/pg-wh fails its seal"):
        connect_warehouse(load_settings())
    assert listener.connections == 0
    [incident] = _incidents_for("cofre-postgres-credentials/pg-wh")
    assert incident["outcome"] == "failure" and incident["details"]["check"] == "mismatch"
    _assert_no_marker_in_audit()


def test_ciphertext_moved_between_blocks_or_fields_connects_nowhere(server, listener, monkeypatch):
    _secrets_set("postgres", "pg-dest", "host=127.0.0.1", f"port={listener.port}")
    _secrets_set("s3", "s3-src", "endpoint_url=http://127.0.0.1:9")
    s3_doc = block_document(server.url, "cofre-s3-credentials", "s3-src")["data"]
    # The S3 secret's ciphertext into the Postgres password: the next run would send it.
    patch_block(
        server.url,
        "cofre-postgres-credentials",
        "pg-dest",
        {"password": s3_doc["secret_access_key"]},
    )
    # And the S3 block's two secrets swapped between fields.
    patch_block(
        server.url,
        "cofre-s3-credentials",
        "s3-src",
        {
            "access_key_id": s3_doc["secret_access_key"],
            "secret_access_key": s3_doc["access_key_id"],
        },
    )
    monkeypatch.setenv("COFRE_WAREHOUSE_BLOCK", "pg-dest")
    with pytest.raises(BlockSealBroken, match="pg-dest"):
        connect_warehouse(load_settings())
    with pytest.raises(BlockSealBroken, match="s3-src"):
        S3Credentials.require("s3-src").s3fs_options()
    assert listener.connections == 0
    assert _incidents_for("cofre-postgres-credentials/pg-dest")
    assert _incidents_for("cofre-s3-credentials/s3-src")
    verified = runner.invoke(app, ["secrets", "verify"])
    assert verified.exit_code == 1
    assert "BROKEN   cofre-postgres-credentials/pg-dest" in verified.output
    assert "BROKEN   cofre-s3-credentials/s3-src" in verified.output
    assert MARKER not in verified.output
    _assert_no_marker_in_audit()


def test_patched_s3_endpoint_stops_the_cli_with_one_line(server, listener, cofre_home):
    _secrets_set("s3", "s3-lake", "endpoint_url=http://127.0.0.1:9")
    patch_block(
        server.url,
        "cofre-s3-credentials",
        "s3-lake",
        {"endpoint_url": f"http://127.0.0.1:{listener.port}"},
    )
    env = {
        "PREFECT_API_URL": server.url,
        "COFRE_HOME": str(cofre_home),
        "COFRE_S3_CREDENTIALS_BLOCK": "s3-lake",
    }
    result = _cli("flows.lifecycle", "--lake", "s3://cofre-attack", "--dry-run", env=env)
    _assert_one_stop_line(
        result, "BlockSealBroken", "cofre-s3-credentials/s3-lake", "cofre secrets verify"
    )
    assert listener.connections == 0
    assert _incidents_for("cofre-s3-credentials/s3-lake")
    _assert_no_marker_in_audit()


# -- parameters -----------------------------------------------------------------------------
def _fernet_token() -> str:
    return ensure_keyring().encrypt(MARKER)


def test_secrets_in_flags_are_refused_before_a_flow_run_exists(prefect_api, cofre_home):
    env = {"PREFECT_API_URL": prefect_api.url, "COFRE_HOME": str(cofre_home)}
    before = api_call("post", f"{prefect_api.url}/flow_runs/count", json={}).json()
    cases = [
        ("flows.warehouse", "--warehouse", f"postgresql://u:{MARKER}@127.0.0.1/db"),
        ("flows.full_pipeline", "--warehouse", f"postgresql://u:{MARKER}@127.0.0.1/db"),
        ("flows.silver", "--lake", f"s3://AKIA:{MARKER}@bucket/lake"),
        ("flows.gold", "--lake", f"/tmp/{_fernet_token()}"),
    ]
    for module, flag, value in cases:
        result = _cli(module, flag, value, env=env)
        _assert_one_stop_line(result, "ConfigurationError", "nothing was started")
        assert "cofre secrets set" in result.stderr
    assert api_call("post", f"{prefect_api.url}/flow_runs/count", json={}).json() == before
    runs = api_call("post", f"{prefect_api.url}/flow_runs/filter", json={"limit": 200})
    runs.raise_for_status()
    assert MARKER not in runs.text
    assert files_containing(prefect_api.database_dir, MARKER) == []


def test_a_run_created_with_a_secret_parameter_fails_before_using_it(prefect_api, cofre_home):
    """The second line of defence (API or deployment runs): the flow body refuses."""
    from flows.warehouse import warehouse

    with pytest.raises(ConfigurationError, match="'warehouse_url' holds a password"):
        warehouse(
            lake=str(cofre_home / "lake"), warehouse_url="postgresql://u:api-made@127.0.0.1/db"
        )


def test_every_deployment_parameter_passes_the_guard():
    document = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    deployments = document["deployments"]
    assert len(deployments) >= 5
    for deployment in deployments:
        refuse_secret_parameters(deployment.get("parameters") or {}, what="Deployment parameter")
    with pytest.raises(ConfigurationError, match="'lake'"):  # the check itself can fail
        refuse_secret_parameters({"sources": "live", "lake": "s3://AKIAIOSFODNN7EXAMPLE@b"})
