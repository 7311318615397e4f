"""The anchored audit trail: a cut, emptied, deleted or swapped trail fails `cofre audit verify`;
the lake mirror restores it; a lost keyring is never silently recreated."""

from __future__ import annotations

import base64
import json
import shutil
import socket
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from blocks import audit
from blocks.audit import server_head as audit_prefect
from blocks.audit.anchor import (
    AuditHead,
    anchor_audit_head,
    home_fingerprint,
    verify_anchored,
)
from blocks.errors import AuditIntegrityError, KeyringError
from blocks.lake import Lake
from blocks.secrets.keyring import ensure_keyring, load_keyring
from blocks.settings import load_settings
from flows.cli import app

runner = CliRunner()


def trail(home: Path) -> Path:
    return home / "audit" / "audit.jsonl"


def lake() -> Lake:
    return Lake.from_settings(load_settings())


def audited_run(count: int, run_id: str = "run-1") -> AuditHead:
    """`count` records, then the end-of-run anchor (as full_pipeline does)."""
    for n in range(count):
        audit.record(audit.Action.LAKE_WRITE, f"file://lake/bronze/{run_id}/{n}")
    return anchor_audit_head(lake(), run_id=run_id, reason="run end")


def verify_cli(*args: str):
    result = runner.invoke(app, ["audit", "verify", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def cut_lines(home: Path, keep: int) -> None:
    lines = trail(home).read_bytes().splitlines(keepends=True)
    trail(home).write_bytes(b"".join(lines[:keep]))


# -- tamper cases through the real CLI ----------------------------------------------------------
def test_an_anchored_trail_verifies_and_names_its_anchor(cofre_home):
    audited_run(6)
    result = verify_cli()
    assert result.exit_code == 0, result.output
    assert "6 record(s) verify" in result.output and "_head.json (seq 6)" in result.output
    mirror = cofre_home / "lake" / "audit"
    assert (mirror / "audit.jsonl").read_bytes() == trail(cofre_home).read_bytes()
    assert json.loads((mirror / "_head.json").read_text())["seq"] == 6
    key = load_keyring().audit_key
    written = (mirror / "_head.json").read_bytes() + (mirror / "audit.jsonl").read_bytes()
    assert key.hex().encode() not in written and base64.urlsafe_b64encode(key) not in written


@pytest.mark.parametrize("cut", [1, 2, 3])
def test_a_cut_tail_fails_naming_the_missing_records(cofre_home, cut):
    audited_run(6)
    cut_lines(cofre_home, 6 - cut)
    assert audit.verify().ok  # the chain alone cannot see it: a shorter valid chain

    result = verify_cli()

    assert result.exit_code == 1
    assert f"the trail ends at seq {6 - cut} but the anchor written at" in result.output
    assert "by run run-1 (lake mirror" in result.output
    assert f"says seq 6: records {7 - cut}..6 are missing" in result.output


def test_an_emptied_trail_fails(cofre_home):
    audited_run(4)
    trail(cofre_home).write_bytes(b"")
    result = verify_cli()
    assert result.exit_code == 1
    assert "the trail is empty but the anchor" in result.output
    assert "records 1..4 are missing" in result.output


def test_a_deleted_trail_fails(cofre_home):
    audited_run(4)
    shutil.rmtree(cofre_home / "audit")
    result = verify_cli()
    assert result.exit_code == 1
    assert f"the trail file {trail(cofre_home)} is missing" in result.output
    assert "records 1..4 are missing" in result.output


@pytest.mark.parametrize("their_records", [3, 9])
def test_trail_and_keyring_swapped_for_another_homes_fail(cofre_home, tmp_path, monkeypatch,
                                                          their_records):  # fmt: skip
    audited_run(6)
    other = tmp_path / "other-home"
    monkeypatch.setenv("COFRE_HOME", str(other))
    for n in range(their_records):
        audit.record(audit.Action.LAKE_WRITE, f"file://elsewhere/{n}")
    monkeypatch.setenv("COFRE_HOME", str(cofre_home))
    shutil.copy2(trail(other), trail(cofre_home))
    shutil.copy2(other / "keyring.json", cofre_home / "keyring.json")
    assert audit.verify().ok  # a perfectly valid chain, under a perfectly valid key

    result = verify_cli()

    assert result.exit_code == 1
    assert "belongs to trail id" in result.output and "replaced by another home's" in result.output
    with pytest.raises(AuditIntegrityError, match="another home's"):
        anchor_audit_head(lake(), run_id="run-2", reason="run end")  # never blesses the swap


def test_a_run_summary_anchor_catches_a_cut_when_the_mirror_head_is_gone(cofre_home):
    from tasks.run_summary import RunSummary, write_run_summary

    head = audited_run(5)
    write_run_summary(lake(), RunSummary("run-1", audit_head=head.as_dict()))
    (cofre_home / "lake" / "audit" / "_head.json").unlink()
    cut_lines(cofre_home, 3)

    result = verify_cli("--no-prefect")

    assert result.exit_code == 1
    assert "(run summary file://" in result.output and "records 4..5 are missing" in result.output


def test_anchoring_refuses_a_trail_that_contradicts_the_last_anchor(cofre_home):
    audited_run(5)
    cut_lines(cofre_home, 2)
    with pytest.raises(AuditIntegrityError, match=r"records 3\.\.5 are missing"):
        anchor_audit_head(lake(), run_id="run-2", reason="run end")
    head = json.loads((cofre_home / "lake" / "audit" / "_head.json").read_text())
    assert head["seq"] == 5  # the anchor was not overwritten with the cut head


# -- restore from the lake mirror ------------------------------------------------------------
@pytest.mark.parametrize("damage", ["cut", "deleted"])
def test_restore_puts_the_mirror_back_then_verify_passes(cofre_home, damage):
    audited_run(6)
    if damage == "cut":
        cut_lines(cofre_home, 4)
    else:
        trail(cofre_home).unlink()
    assert verify_cli().exit_code == 1

    restored = runner.invoke(app, ["audit", "restore"])

    assert restored.exit_code == 0, restored.output
    assert "Restored 6 record(s)" in restored.output
    ok = verify_cli()
    assert ok.exit_code == 0, ok.output and "7 record(s) verify" in ok.output
    last = audit.read_records()[-1]
    assert last["action"] == "SECURITY_INCIDENT"
    assert last["details"]["event"] == "audit_trail_restored"
    kept = list((cofre_home / "audit").glob("audit.jsonl.before-restore-*"))
    assert len(kept) == (1 if damage == "cut" else 0)


def test_restore_refuses_a_diverging_trail_unless_forced(cofre_home):
    audited_run(4)
    lines = trail(cofre_home).read_bytes().splitlines(keepends=True)
    trail(cofre_home).write_bytes(b"".join([lines[0], lines[0]]))  # not a cut copy
    refused = runner.invoke(app, ["audit", "restore"])
    assert refused.exit_code == 1 and "differs from the lake mirror" in refused.output
    forced = runner.invoke(app, ["audit", "restore", "--force"])
    assert forced.exit_code == 0, forced.output
    assert verify_cli().exit_code == 0


def test_restore_refuses_a_mirror_that_does_not_verify(cofre_home):
    audited_run(3)
    mirrored = cofre_home / "lake" / "audit" / "audit.jsonl"
    mirrored.write_bytes(mirrored.read_bytes().replace(b"bronze/run-1/1", b"bronze/run-1/X"))
    trail(cofre_home).unlink()
    result = runner.invoke(app, ["audit", "restore"])
    assert result.exit_code == 1 and "does not verify" in result.output
    assert not trail(cofre_home).exists()


# -- the keyring ------------------------------------------------------------------------------
def test_a_lost_keyring_is_never_recreated_and_verify_says_how_to_restore(cofre_home):
    audited_run(3)
    (cofre_home / "keyring.json").unlink()

    with pytest.raises(KeyringError, match="refusing to create a new one"):
        audit.record(audit.Action.LAKE_WRITE, "file://lake/bronze/next")
    with pytest.raises(KeyringError, match="COFRE_FERNET_KEYS"):
        ensure_keyring()
    assert not (cofre_home / "keyring.json").exists()
    result = verify_cli()
    assert result.exit_code == 1
    assert "cannot verify the audit trail" in result.output
    assert "Restore the keyring file from backup" in result.output


def test_a_lost_keyring_with_the_trail_also_gone_is_caught_by_the_lake_evidence(cofre_home):
    audited_run(2)
    (cofre_home / "keyring.json").unlink()
    shutil.rmtree(cofre_home / "audit")
    with pytest.raises(KeyringError, match=r"lake/audit/_head.json"):
        ensure_keyring()


@pytest.mark.parametrize("content", ["not json", '{"keys": [], "audit_key": "AAAA"}', "[1, 2]"])
def test_verify_with_a_corrupt_keyring_is_one_clear_line(cofre_home, content):
    audited_run(2)
    (cofre_home / "keyring.json").write_text(content)
    result = verify_cli()
    assert result.exit_code == 1
    assert "cannot verify the audit trail" in result.output and "keyring" in result.output
    assert len(result.output.strip().splitlines()) <= 2  # the error, maybe a Prefect warning


def test_a_fresh_home_still_creates_its_keyring_even_after_bronze_and_warehouse(cofre_home):
    # A first run writes bronze and loads the warehouse before its first audit record.
    (cofre_home / "lake" / "bronze" / "olist").mkdir(parents=True)
    (cofre_home / "lake" / "bronze" / "olist" / "orders.csv").write_text("order_id\n1\n")
    (cofre_home / "warehouse.db").write_bytes(b"")
    audit.record(audit.Action.LAKE_WRITE, "file://lake/bronze/olist/orders.csv")
    assert (cofre_home / "keyring.json").exists()


def test_the_audit_key_comes_through_settings(monkeypatch):
    from cryptography.fernet import Fernet

    monkeypatch.setenv("COFRE_FERNET_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("COFRE_AUDIT_KEY", "an-audit-key-from-the-secret-manager")
    assert load_settings().audit_key.get_secret_value() == "an-audit-key-from-the-secret-manager"
    assert load_keyring().audit_key == b"an-audit-key-from-the-secret-manager"
    assert "an-audit-key" not in repr(load_settings())


def test_keys_init_anchors_the_new_trail(cofre_home):
    result = runner.invoke(app, ["keys", "init"])
    assert result.exit_code == 0, result.output
    head = json.loads((cofre_home / "lake" / "audit" / "_head.json").read_text())
    assert (head["seq"], head["reason"]) == (0, "keys init")


# -- where the mirror lives --------------------------------------------------------------------
def test_the_mirror_sits_beside_the_layers_or_in_the_gold_bucket():
    local = Lake.from_url("/tmp/cofre-lake")
    assert local.path("audit", "_head.json") == "/tmp/cofre-lake/audit/_head.json"
    prefixed = Lake.from_url("s3://lake/prod")
    assert prefixed.path("audit", "audit.jsonl") == "lake/prod/audit/audit.jsonl"
    buckets = {layer: f"{layer}-layer" for layer in ("bronze", "silver", "gold", "cold")}
    per_layer = Lake.from_url("s3://x", buckets={**buckets, "quarantine": "q-layer"})
    assert per_layer.path("audit", "_head.json") == "gold-layer/_audit/_head.json"
    named = Lake.from_url("s3://x", buckets={**buckets, "quarantine": "q", "audit": "audit-layer"})
    assert named.path("audit", "_head.json") == "audit-layer/_head.json"
    assert named.path("gold") == per_layer.path("gold")  # the data layers are untouched


# -- Prefect ----------------------------------------------------------------------------------
def test_the_head_round_trips_through_a_prefect_variable_and_artifact(prefect_api, cofre_home):
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.variables import Variable

    @flow
    def audited_flow() -> dict:
        return audited_run(4, run_id="flow-run").as_dict()

    head = audited_flow()
    name = audit_prefect.variable_name(home_fingerprint(load_settings()), head["trail_id"])
    assert Variable.get(name) == head
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["audit-head"]))
        )
    assert any(head["hash"] in (a.data or "") for a in artifacts)

    (cofre_home / "lake" / "audit" / "_head.json").unlink()  # only Prefect is left
    cut_lines(cofre_home, 1)
    report = verify_anchored()
    assert not report.ok
    assert any(f"(Prefect variable {name})" in p and "records 2..4" in p for p in report.problems)


def test_an_unanswering_prefect_api_is_a_warning_not_a_hang(cofre_home, monkeypatch):
    import prefect.settings

    monkeypatch.setattr(audit_prefect, "TIMEOUT_SECONDS", 1.0)
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api"
        with prefect.settings.temporary_settings({prefect.settings.PREFECT_API_URL: url}):
            started = time.monotonic()
            head = audited_run(2)
            report = verify_anchored()
            elapsed = time.monotonic() - started
    assert head.seq == 2 and report.ok
    assert any("Prefect variable: not checked" in note for note in report.unreached)
    assert elapsed < 20
