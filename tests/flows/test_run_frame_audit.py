"""A run checks its key and its anchors before any work (issue 27, items 5 and 6): a wrong key
or a cut trail stops it before its body and writes nothing; a forged anchor does not stop it
(an incident is recorded and a genuine anchor written over it); a new home at an old path runs.
Real flow runs against the session's Prefect server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from prefect import flow

from blocks import audit
from blocks.audit.head import AuditHead, authentic, home_fingerprint
from blocks.audit.server_head import variable_name
from blocks.errors import AuditIntegrityError, KeyringError, SecretNotFound
from blocks.secrets.keyring import load_keyring
from blocks.settings import load_settings
from flows.run_frame import cofre_run
from tests.prefect_rest import api_call

BODIES: list[str] = []  # what the flow body did, in this process


@flow(name="audit-frame-probe")
@cofre_run
def probe(lake: str | None = None, label: str = "work") -> str:
    BODIES.append(label)
    audit.record(audit.Action.LAKE_WRITE, f"file://probe/{label}")
    return label


@pytest.fixture(autouse=True)
def fresh_bodies():
    BODIES.clear()


def trail(home: Path) -> Path:
    return home / "audit" / "audit.jsonl"


def variable() -> str:
    key = load_keyring().audit_key
    from blocks.audit.head import trail_id

    return variable_name(home_fingerprint(load_settings()), trail_id(key))


def test_a_wrong_key_stops_the_run_before_its_body_and_writes_nothing(prefect_api, cofre_home,
                                                                       monkeypatch):  # fmt: skip
    right, wrong = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("COFRE_FERNET_KEYS", right)
    assert probe(label="first") == "first"
    before = trail(cofre_home).read_bytes()
    monkeypatch.setenv("COFRE_FERNET_KEYS", wrong)

    with pytest.raises(KeyringError, match="does not verify the audit trail"):
        probe(label="second")

    assert BODIES == ["first"]
    assert trail(cofre_home).read_bytes() == before


def test_a_wrong_key_is_refused_before_the_lake_credentials_are_read(prefect_api, cofre_home,
                                                                      monkeypatch):  # fmt: skip
    monkeypatch.setenv("COFRE_FERNET_KEYS", Fernet.generate_key().decode())
    audit.record(audit.Action.LAKE_WRITE, "file://somewhere")
    monkeypatch.setenv("COFRE_S3_CREDENTIALS_BLOCK", "no-such-block")
    s3 = "s3://cofre-never-reached"
    with pytest.raises(SecretNotFound):  # the right key goes on to read the block
        probe(lake=s3)
    monkeypatch.setenv("COFRE_FERNET_KEYS", Fernet.generate_key().decode())

    with pytest.raises(KeyringError):  # the wrong key stops first: no block is read
        probe(lake=s3)


def test_a_cut_trail_stops_the_run_before_its_body_not_after_its_work(prefect_api, cofre_home):
    probe(label="first")
    lines = trail(cofre_home).read_bytes().splitlines(keepends=True)
    trail(cofre_home).write_bytes(b"".join(lines[:-1]))
    before = trail(cofre_home).read_bytes()

    with pytest.raises(AuditIntegrityError, match="This run stopped before any work") as raised:
        probe(label="second")

    assert f"records {len(lines)}..{len(lines)} are missing" in str(raised.value)
    assert BODIES == ["first"]
    assert trail(cofre_home).read_bytes() == before


def test_a_forged_prefect_variable_does_not_stop_the_run(prefect_api, cofre_home):
    probe(label="first")
    name = variable()
    from prefect.variables import Variable

    forged = {**Variable.get(name), "seq": 500}
    patched = api_call("patch", f"{prefect_api.url}/variables/name/{name}", json={"value": forged})
    assert patched.status_code == 204, patched.text

    assert probe(label="second") == "second"

    records = audit.read_records()
    (incident,) = [r for r in records if r["action"] == "SECURITY_INCIDENT"]
    assert incident["details"]["where"] == f"Prefect variable {name}"
    assert records.index(incident) < [r["target"] for r in records].index("file://probe/second")
    head = AuditHead.from_dict(Variable.get(name))
    assert head.seq == records[-1]["seq"] and authentic(head, load_keyring().audit_key)


def test_a_new_home_at_an_old_path_runs(prefect_api, cofre_home):
    probe(label="first")
    shutil.rmtree(cofre_home)

    assert probe(label="second") == "second"
    assert audit.verify().ok


def test_on_an_s3_lake_a_deleted_mirror_copy_is_recorded_and_written_again(
    prefect_api, cofre_home, moto_endpoint, s3_bucket, monkeypatch
):
    import boto3

    monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", moto_endpoint)
    lake = f"s3://{s3_bucket}/lake"
    probe(lake=lake, label="first")
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    s3.delete_object(Bucket=s3_bucket, Key="lake/audit/audit.jsonl")

    assert probe(lake=lake, label="second") == "second"

    (incident,) = [r for r in audit.read_records() if r["action"] == "SECURITY_INCIDENT"]
    assert incident["details"]["event"] == "audit_mirror_damaged"
    assert incident["target"] == f"s3://{s3_bucket}/lake/audit/audit.jsonl"
    copy = s3.get_object(Bucket=s3_bucket, Key="lake/audit/audit.jsonl")["Body"].read()
    assert copy == trail(cofre_home).read_bytes()


def test_a_stage_cli_with_a_wrong_key_stops_before_prefect_starts(cofre_home, tmp_path):
    right, wrong = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COFRE_FERNET_KEYS", right)
        audit.record(audit.Action.LAKE_WRITE, "file://somewhere")
    before = trail(cofre_home).read_bytes()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "PREFECT_API"))}
    env.pop("PREFECT_HOME", None)  # no server: past the check, Prefect's would start
    env |= {"COFRE_HOME": str(cofre_home), "COFRE_FERNET_KEYS": wrong, "DO_NOT_TRACK": "1"}

    result = subprocess.run(
        [sys.executable, "-m", "flows.lifecycle", "--days", "30", "--dry-run"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip

    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("Cofre stopped: KeyringError: The audit key from COFRE_FERNET_KEYS")
    assert "Traceback" not in result.stderr and "temporary server" not in result.stderr
    assert wrong not in result.stdout + result.stderr
    assert trail(cofre_home).read_bytes() == before
