"""Anchors that authenticate themselves, a lake mirror checked record by record, a wrong key
that never writes, and owner-only modes from `cofre keys init` (issue 27, items 5, 6, 7)."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from typer.testing import CliRunner

from blocks import audit
from blocks.audit.anchor import AuditHead, anchor_audit_head
from blocks.audit.head import authentic
from blocks.audit.server_head import variable_name
from blocks.errors import AuditIntegrityError, KeyringError
from blocks.lake import Lake
from blocks.secrets.keyring import load_keyring
from blocks.settings import load_settings
from flows.cli import app
from tests.prefect_rest import api_call

runner = CliRunner()


def trail(home: Path) -> Path:
    return home / "audit" / "audit.jsonl"


def mirror(home: Path) -> Path:
    return home / "lake" / "audit"


def audited_run(count: int, run_id: str = "run-1") -> AuditHead:
    for n in range(count):
        audit.record(audit.Action.LAKE_WRITE, f"file://lake/bronze/{run_id}/{n}")
    return anchor_audit_head(Lake.from_settings(load_settings()), run_id=run_id, reason="run end")


def cli(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def incidents() -> list[dict]:
    return [r for r in audit.read_records() if r["action"] == "SECURITY_INCIDENT"]


def forge(head: dict, how: str) -> dict:
    if how == "seq 500":
        return {**head, "seq": 500}  # the MAC no longer matches
    if how == "no MAC":
        return {key: value for key, value in head.items() if key != "mac"} | {"seq": 500}
    return {**head, "trail_id": "0123456789abcdef", "seq": 500}


# -- a forged Prefect variable: an incident, not a broken trail --------------------------------
@pytest.mark.parametrize("how", ["seq 500", "no MAC", "another trail id"])
def test_a_forged_prefect_variable_is_an_incident_not_a_broken_trail(prefect_api, cofre_home,
                                                                      how):  # fmt: skip
    head = audited_run(4).as_dict()
    name = variable_name(head["home"], head["trail_id"])
    patched = api_call("patch", f"{prefect_api.url}/variables/name/{name}",
                       json={"value": forge(head, how)})  # fmt: skip
    assert patched.status_code == 204, patched.text

    result = cli("audit", "verify")

    assert result.exit_code == 1
    assert f"Anchor FORGED: Prefect variable {name} is not this trail's anchor" in result.output
    assert "claims seq 500" in result.output and "the trail is not blamed" in result.output
    assert "are missing" not in result.output and "BROKEN" not in result.output
    assert "The trail itself is intact: 4 record(s) verify" in result.output
    (incident,) = incidents()
    assert incident["details"]["where"] == f"Prefect variable {name}"
    assert incident["details"]["event"] == "audit_anchor_forged"
    assert "(SECURITY_INCIDENT, audit seq 5)" in result.output

    again = cli("audit", "verify")  # the same forgery is recorded once
    assert again.exit_code == 1 and "audit seq 5" in again.output
    assert len(incidents()) == 1

    # The next anchor (a run's end) is not refused: it writes a genuine head over the forgery.
    anew = anchor_audit_head(Lake.from_settings(load_settings()), run_id="run-2", reason="end")
    assert anew.seq == 5 and authentic(anew, load_keyring().audit_key)
    assert cli("audit", "verify").exit_code == 0


def test_a_new_home_at_an_old_path_starts_clean(prefect_api, cofre_home):
    audited_run(3)
    shutil.rmtree(cofre_home)  # the home is gone; its Prefect variable is still on the server

    head = audited_run(2, run_id="run-2")

    assert head.seq == 2
    result = cli("audit", "verify")
    assert result.exit_code == 0, result.output
    assert "Prefect variable cofre-audit-head-" in result.output


# -- the lake mirror: its copy is checked record by record -------------------------------------
@pytest.mark.parametrize("damage", ["cut", "emptied", "deleted", "edited", "another trail's"])
def test_a_damaged_mirror_copy_never_verifies_ok(cofre_home, tmp_path, damage):
    audited_run(4)
    copy = mirror(cofre_home) / "audit.jsonl"
    lines = copy.read_bytes().splitlines(keepends=True)
    if damage == "cut":
        copy.write_bytes(b"".join(lines[:2]))
    elif damage == "emptied":
        copy.write_bytes(b"")
    elif damage == "deleted":
        copy.unlink()
    elif damage == "edited":
        copy.write_bytes(copy.read_bytes().replace(b"bronze/run-1/1", b"bronze/run-1/X"))
    else:
        other = audit.AuditTrail(tmp_path / "other", b"another home's audit key")
        for n in range(4):
            other.append("LAKE_WRITE", f"file://elsewhere/{n}")
        copy.write_bytes(other.path.read_bytes())

    result = cli("audit", "verify", "--no-prefect")

    assert result.exit_code == 1
    why = {
        "cut": "ends at seq 2 but the mirror's head says seq 4: the copy was cut",
        "emptied": "is empty but the mirror's head says seq 4: the copy was cut",
        "deleted": "is missing, though the mirror's head says seq 4: it was deleted",
        "edited": "fails at line 2: record seq 2 was edited",
        "another trail's": "is another trail's: no record of the lake mirror's copy",
    }[damage]
    damaged = f"Lake mirror DAMAGED: the lake mirror's copy of the trail file://{copy}"
    assert damaged in result.output
    assert why in result.output
    assert "Audit trail BROKEN" not in result.output
    assert incidents()[-1]["details"]["event"] == "audit_mirror_damaged"

    assert cli("audit", "anchor").exit_code == 0  # writes the local trail's copy again
    assert cli("audit", "verify", "--no-prefect").exit_code == 0


def test_a_local_trail_behind_the_mirror_copy_is_broken_even_without_any_head(cofre_home):
    audited_run(5)
    (mirror(cofre_home) / "_head.json").unlink()
    lines = trail(cofre_home).read_bytes().splitlines(keepends=True)
    trail(cofre_home).write_bytes(b"".join(lines[:3]))

    result = cli("audit", "verify", "--no-prefect")

    assert result.exit_code == 1
    assert "Audit trail BROKEN: the trail ends at seq 3 but the lake mirror's copy" in result.output
    assert "holds records 4..5, which verify with this key" in result.output


@pytest.mark.parametrize("how", ["seq 500", "another trail id"])
def test_a_forged_mirror_head_over_an_intact_copy_is_forged_not_a_cut(cofre_home, how):
    audited_run(4)
    head_file = mirror(cofre_home) / "_head.json"
    head_file.write_text(json.dumps(forge(json.loads(head_file.read_text()), how)))

    result = cli("audit", "verify", "--no-prefect")

    assert result.exit_code == 1
    assert f"Anchor FORGED: lake mirror file://{head_file} is not this trail's" in result.output
    assert "BROKEN" not in result.output and "another home's" not in result.output


def test_a_forged_run_summary_head_is_an_incident(cofre_home):
    from tasks.run_summary import RunSummary, write_run_summary

    head = audited_run(3)
    lake = Lake.from_settings(load_settings())
    write_run_summary(lake, RunSummary("run-9", audit_head=forge(head.as_dict(), "seq 500")))

    result = cli("audit", "verify", "--no-prefect")

    assert result.exit_code == 1
    assert "Anchor FORGED: run summary file://" in result.output and "BROKEN" not in result.output


def test_anchors_are_signed_and_the_mac_covers_every_field(cofre_home):
    head = audited_run(2)
    key = load_keyring().audit_key
    assert authentic(head, key)
    written = json.loads((mirror(cofre_home) / "_head.json").read_text())
    assert authentic(AuditHead.from_dict(written), key)
    for field, value in [("seq", 3), ("hash", "0" * 64), ("home", "x"), ("run_id", "other")]:
        assert not authentic(AuditHead.from_dict({**written, field: value}), key)
    assert not authentic(head, Fernet.generate_key())


# -- a wrong key never writes --------------------------------------------------------------------
def test_a_wrong_key_never_writes_and_the_good_trail_still_verifies(cofre_home, monkeypatch):
    right, wrong = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv("COFRE_FERNET_KEYS", right)  # no keyring file: the audit key is derived
    audited_run(3)
    before = trail(cofre_home).read_bytes()
    monkeypatch.setenv("COFRE_FERNET_KEYS", wrong)

    with pytest.raises(KeyringError, match="does not verify the audit trail") as raised:
        audit.record(audit.Action.LAKE_WRITE, "file://lake/bronze/next")
    result = cli("audit", "anchor")

    assert "The audit key from COFRE_FERNET_KEYS does not verify" in str(raised.value)
    assert wrong not in str(raised.value) and wrong not in result.output
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1].startswith("Cofre stopped: KeyringError: ")
    assert trail(cofre_home).read_bytes() == before
    monkeypatch.setenv("COFRE_FERNET_KEYS", right)
    assert cli("audit", "verify", "--no-prefect").exit_code == 0


def test_a_forged_tail_is_refused_not_extended(cofre_home):
    audited_run(2)
    record = audit.read_records()[-1]
    forged = {**record, "seq": 3, "prev_hash": record["hash"], "target": "forged"}
    forged["hash"] = audit.AuditTrail("/nowhere", b"not the key").digest(forged)
    with trail(cofre_home).open("a") as handle:
        handle.write(json.dumps(forged, separators=(",", ":")) + "\n")
    before = trail(cofre_home).read_bytes()

    with pytest.raises(AuditIntegrityError, match=r"last record \(seq 3\) does not verify"):
        audit.record(audit.Action.LAKE_WRITE, "file://lake/bronze/next")
    assert trail(cofre_home).read_bytes() == before


# -- owner-only from the first command -----------------------------------------------------------
def test_keys_init_on_a_fresh_home_leaves_everything_owner_only(cofre_home):
    previous = os.umask(0o022)  # a login shell's umask
    try:
        result = cli("keys", "init")
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    modes = {
        path.relative_to(cofre_home).as_posix() or ".": stat.S_IMODE(path.stat().st_mode)
        for path in [cofre_home, *cofre_home.rglob("*")]
    }
    assert modes["."] == modes["lake"] == modes["lake/audit"] == 0o700, modes
    assert modes["lake/audit/audit.jsonl"] == modes["lake/audit/_head.json"] == 0o600, modes
    assert modes["keyring.json"] == 0o600
    assert all(mode & 0o077 == 0 for mode in modes.values()), modes
