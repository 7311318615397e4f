"""The audit trail: hash chain, tamper detection, concurrency, secret hygiene."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import stat
import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from uuid import uuid4

import pytest
from cryptography.fernet import Fernet

from blocks import audit
from blocks.audit import FIELDS, Action, AuditTrail
from blocks.audit.trail_file import GENESIS_HASH
from blocks.errors import AuditIntegrityError
from blocks.secrets.keyring import ensure_keyring, init_keyring_file, load_keyring

REPO = Path(__file__).resolve().parents[2]
WRITER = Path(__file__).with_name("audit_writer.py")


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh COFRE_HOME with its own keyring (so its own audit key)."""
    for name in ("COFRE_FERNET_KEYS", "COFRE_AUDIT_KEY", "COFRE_AUDIT_DIR", "COFRE_KEYRING_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COFRE_HOME", str(tmp_path))
    ensure_keyring()
    return tmp_path


def trail_file(home: Path) -> Path:
    return home / "audit" / "audit.jsonl"


def write_records(count: int) -> list[dict]:
    return [
        audit.record(Action.LAKE_WRITE, f"bronze/bcb/ipca/part-{n}.json", details={"n": n})
        for n in range(1, count + 1)
    ]


def json_line(record: dict) -> bytes:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


# -- the chain ----------------------------------------------------------------------------------
def test_records_chain_from_genesis_and_verify(home):
    written = write_records(3)
    stored = audit.read_records()

    assert stored == written
    assert [r["seq"] for r in stored] == [1, 2, 3]
    assert stored[0]["prev_hash"] == GENESIS_HASH
    assert [r["prev_hash"] for r in stored[1:]] == [r["hash"] for r in stored[:-1]]
    report = audit.verify()
    assert (report.ok, report.records, report.first_bad_seq, report.first_bad_line) == (
        True,
        3,
        None,
        None,
    )


def test_a_record_has_exactly_the_documented_fields_with_their_types(home):
    record = audit.record(
        "MASKING_APPLIED",
        "silver/customers",
        details={"columns": ["cpf", "email"], "rows": 10},
        outcome="warning",
        compliance="LGPD_PSEUDONYMIZED",
    )

    assert tuple(record) == FIELDS
    assert record["action"] == "MASKING_APPLIED" and record["target"] == "silver/customers"
    assert record["details"] == {"columns": ["cpf", "email"], "rows": 10}
    assert (record["outcome"], record["compliance"]) == ("warning", "LGPD_PSEUDONYMIZED")
    assert datetime.fromisoformat(record["ts"]).utcoffset() == UTC.utcoffset(None)
    assert record["ts"].endswith(("Z", "+00:00"))
    for digest in (record["prev_hash"], record["hash"]):
        assert len(digest) == 64 and int(digest, 16) >= 0
    actor = record["actor"]
    assert isinstance(actor["host"], str) and actor["host"]
    assert isinstance(actor["user"], str) and actor["user"]
    assert actor["pid"] == os.getpid()
    assert actor["flow_run"] is None and actor["task_run"] is None  # outside Prefect


def test_hash_is_the_audit_key_hmac_of_prev_hash_and_the_canonical_record(home):
    write_records(1)
    record = audit.record(Action.QUARANTINE, "quarantine/orders", details={"motivo": "preço < 0"})

    body = {name: value for name, value in record.items() if name != "hash"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    message = (record["prev_hash"] + canonical).encode()
    expected = hmac.new(load_keyring().audit_key, message, hashlib.sha256).hexdigest()
    assert record["hash"] == expected


def test_actor_names_the_prefect_flow_and_task_run_when_inside_one(home, monkeypatch):
    from prefect.context import FlowRunContext, TaskRunContext

    flow_run = SimpleNamespace(id=uuid4(), name="brave-otter")
    task_run = SimpleNamespace(id=uuid4(), name="write_bronze-0", flow_run_id=flow_run.id)
    monkeypatch.setattr(
        FlowRunContext, "get", classmethod(lambda cls: SimpleNamespace(flow_run=flow_run))
    )
    monkeypatch.setattr(
        TaskRunContext, "get", classmethod(lambda cls: SimpleNamespace(task_run=task_run))
    )

    actor = audit.record(Action.PIPELINE_RUN, "full_pipeline")["actor"]

    assert actor["flow_run"] == {"id": str(flow_run.id), "name": "brave-otter"}
    assert actor["task_run"] == {"id": str(task_run.id), "name": "write_bronze-0"}
    assert audit.verify().ok


def test_details_keep_non_ascii_and_line_separators_and_still_verify(home):
    details = {"city": "São Paulo", "odd": "a\u2028b\u2029c", "when": datetime(2024, 1, 2)}
    record = audit.record(Action.SOURCE_FALLBACK, "openweather", details=details)

    assert record["details"] == {
        "city": "São Paulo",
        "odd": "a\u2028b\u2029c",
        "when": "2024-01-02T00:00:00",
    }
    assert audit.read_records() == [record]
    assert audit.verify().ok


def test_unknown_action_outcome_or_compliance_is_a_clear_value_error(home):
    with pytest.raises(ValueError, match=r"Unknown audit action 'LAKE_DELETE'.*LAKE_WRITE"):
        audit.record("LAKE_DELETE", "bronze/x")
    with pytest.raises(ValueError, match=r"Unknown audit compliance value 'GDPR_OK'.*LGPD_OK"):
        audit.record(Action.LAKE_WRITE, "bronze/x", compliance="GDPR_OK")
    with pytest.raises(ValueError, match=r"Unknown audit outcome 'ok'.*success"):
        audit.record(Action.LAKE_WRITE, "bronze/x", outcome="ok")
    assert not trail_file(home).exists()


def test_missing_or_empty_trail_verifies_ok_without_needing_a_keyring(tmp_path, monkeypatch):
    monkeypatch.setenv("COFRE_HOME", str(tmp_path))
    assert audit.verify() == audit.VerifyReport(
        True, 0, None, None, "the trail is empty", None, trail_file(tmp_path)
    )
    trail_file(tmp_path).parent.mkdir()
    trail_file(tmp_path).touch()
    assert audit.verify_or_raise().records == 0
    assert audit.read_records() == []
    assert not (tmp_path / "keyring.json").exists()


def test_trail_is_private_to_its_owner(home):
    audit.record(Action.SECRET_READ, "openweather-api")

    assert stat.S_IMODE(trail_file(home).stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "audit" / "audit.lock").stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "audit").stat().st_mode) == 0o700


def test_changing_cofre_home_switches_trail_and_key(home, tmp_path_factory, monkeypatch):
    write_records(2)
    other = tmp_path_factory.mktemp("other-home")
    monkeypatch.setenv("COFRE_HOME", str(other))

    assert audit.record(Action.LAKE_WRITE, "bronze/y")["seq"] == 1
    assert audit.verify().records == 1
    monkeypatch.setenv("COFRE_HOME", str(home))
    assert audit.verify().records == 2


# -- tampering ----------------------------------------------------------------------------------
def edit_record_3(lines: list[bytes]) -> list[bytes]:
    record = json.loads(lines[2])
    record["details"]["n"] = 99
    return [*lines[:2], json_line(record), *lines[3:]]


def forge_with_another_key(lines: list[bytes]) -> list[bytes]:
    last = json.loads(lines[-1])
    forged = {**last, "seq": 7, "target": "bronze/forged", "prev_hash": last["hash"]}
    forged["hash"] = AuditTrail("/nowhere", b"not the audit key").digest(forged)
    return [*lines, json_line(forged)]


def truncate_last_line(lines: list[bytes]) -> list[bytes]:
    return [*lines[:-1], lines[-1][: len(lines[-1]) // 2]]


def garble_line_4(lines: list[bytes]) -> list[bytes]:
    return [*lines[:3], b"not json {\n", *lines[4:]]


TAMPERING = {
    # name: (tamper, kind, first bad line, first bad seq, words in the reason)
    "edited": (edit_record_3, "edited", 3, 3, "edited"),
    "deleted": (lambda ls: ls[:2] + ls[3:], "deleted", 3, 3, "deleted"),
    "reordered": (lambda ls: [ls[0], ls[2], ls[1], *ls[3:]], "reordered", 2, 2, "out of order"),
    "forged": (forge_with_another_key, "forged", 7, 7, "without the key"),
    "truncated": (
        lambda ls: [*ls[:-1], ls[-1][: len(ls[-1]) // 2]],
        "truncated",
        6,
        6,
        "truncated",
    ),
    "invalid_json": (
        lambda ls: [*ls[:3], b"not json {\n", *ls[4:]],
        "invalid_json",
        4,
        4,
        "not a JSON",
    ),
    "replayed": (lambda ls: [*ls, ls[1]], "replayed", 7, 7, "replayed"),
}


@pytest.mark.parametrize("case", TAMPERING)
def test_tampering_is_reported_at_the_first_bad_record(home, case):
    tamper, kind, line, seq, words = TAMPERING[case]
    write_records(6)
    path = trail_file(home)
    path.write_bytes(b"".join(tamper(path.read_bytes().splitlines(keepends=True))))

    report = audit.verify()

    assert not report.ok
    assert (report.kind, report.first_bad_line, report.first_bad_seq) == (kind, line, seq)
    assert report.records == line - 1
    assert words in report.reason
    with pytest.raises(AuditIntegrityError) as raised:
        audit.verify_or_raise()
    message = str(raised.value)
    assert str(path) in message and f"line {line} (seq {seq})" in message
    assert "SECURITY_INCIDENT" in message and "restore" in message


def test_an_authentic_record_from_another_chain_is_out_of_chain(home, monkeypatch):
    write_records(6)
    monkeypatch.setenv("COFRE_AUDIT_DIR", str(home / "fork"))
    write_records(6)  # same key, different chain
    spliced = (home / "fork" / "audit.jsonl").read_bytes().splitlines(keepends=True)[3]
    monkeypatch.delenv("COFRE_AUDIT_DIR")
    lines = trail_file(home).read_bytes().splitlines(keepends=True)
    trail_file(home).write_bytes(b"".join([*lines[:3], spliced, *lines[4:]]))

    report = audit.verify()

    assert (report.kind, report.first_bad_line, report.first_bad_seq) == ("out_of_chain", 4, 4)
    assert "prev_hash" in report.reason


def test_verifying_with_another_audit_key_fails_at_record_1(home):
    write_records(3)
    (home / "keyring.json").unlink()
    init_keyring_file(home / "keyring.json")  # `cofre keys init`: a new audit key

    report = audit.verify()

    assert not report.ok
    assert (report.kind, report.first_bad_line, report.first_bad_seq) == ("wrong_key", 1, 1)
    assert report.records == 0


def test_record_refuses_to_extend_a_trail_with_a_broken_tail(home):
    write_records(2)
    path = trail_file(home)
    path.write_bytes(path.read_bytes()[:-10])

    with pytest.raises(AuditIntegrityError, match="last line is not a complete record"):
        audit.record(Action.LAKE_WRITE, "bronze/z")
    with pytest.raises(AuditIntegrityError, match="line 2"):
        audit.read_records()


def test_tail_is_found_past_a_record_longer_than_one_read_block(home):
    audit.record(Action.VALIDATION_FAILED, "silver/orders", details={"rows": list(range(5000))})

    assert audit.record(Action.QUARANTINE, "quarantine/orders")["seq"] == 2
    assert audit.verify().ok


# -- concurrency --------------------------------------------------------------------------------
def test_parallel_appends_from_processes_and_threads_keep_the_chain(home):
    go = home / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, str(WRITER)]
    workers = [
        subprocess.Popen(
            [*command, f"proc{p}", "50", "2", str(go)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(4)
    ]
    failures: list[BaseException] = []

    def append_in_thread(thread: int) -> None:
        try:
            for n in range(10):
                audit.record(Action.LAKE_WRITE, f"thread{thread}/{n}", details={"n": n})
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=append_in_thread, args=(t,)) for t in range(4)]
    try:
        for worker in workers:
            assert worker.stdout.readline().strip() == "ready", worker.stderr.read()
        go.touch()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        for worker in workers:
            _, stderr = worker.communicate(timeout=60)
            assert worker.returncode == 0, stderr
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()

    assert not failures
    report = audit.verify()
    assert report.ok, report.reason
    assert report.records == 4 * 50 + 4 * 10
    records = audit.read_records()
    assert [r["seq"] for r in records] == list(range(1, 241))
    assert len({r["target"] for r in records}) == 240
    assert len({r["actor"]["pid"] for r in records}) == 5


# -- secret hygiene -----------------------------------------------------------------------------
FERNET_KEY = Fernet.generate_key().decode()


@pytest.mark.parametrize(
    ("details", "secret"),
    [
        ({"password": "hunter2-s3cr3t"}, "hunter2-s3cr3t"),
        ({"api_key": "ow-7f3a9c1d2e"}, "ow-7f3a9c1d2e"),
        ({"request": {"params": {"q": "Recife", "appid": "ow-7f3a9c1d2e"}}}, "ow-7f3a9c1d2e"),
        ({"headers": {"Authorization": "Bearer eyJhbGciOi"}}, "Bearer eyJhbGciOi"),
        ({"accessToken": "tok-123456"}, "tok-123456"),
        ({"client_secret": "cs-abcdef"}, "cs-abcdef"),
        ({"credentials": {"user": "cofre", "password": "pg-pass-1"}}, "pg-pass-1"),
        ({"fernet_key": "abc-not-even-valid"}, "abc-not-even-valid"),
        ({"new_primary": FERNET_KEY}, FERNET_KEY),  # key material under an innocent name
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else "",
)
def test_secret_looking_details_are_refused_without_echoing_them(home, details, secret):
    with pytest.raises(ValueError) as raised:
        audit.record(Action.SECRET_READ, "openweather-api", details=details)

    assert secret not in str(raised.value) and secret not in repr(raised.value)
    assert "details[" in str(raised.value)
    assert not trail_file(home).exists()


def test_key_material_as_a_target_is_refused_without_echoing_it(home):
    with pytest.raises(ValueError) as raised:
        audit.record(Action.SECRET_WRITE, FERNET_KEY)

    assert FERNET_KEY not in str(raised.value)
    assert not trail_file(home).exists()


def test_masked_secrets_and_secret_metadata_are_allowed(home):
    details = {
        "password": "***",
        "api_key": "ow-***",
        "token_present": True,
        "client_secret": None,
        "key_id": "3fa9c1d2e4b5",
        "retired_key_ids": ["aa11bb22cc33"],
        "secret_name": "openweather-api",
        "credentials_block": "pg-warehouse",
        "rows_passed": 120,
        "lake_key": "bronze/bcb/ipca/part-1.json",
    }
    assert audit.record(Action.KEY_ROTATED, "keyring", details=details)["details"] == details


# -- identifiers --------------------------------------------------------------------------------
def test_hmac_identifier_is_stable_keyed_and_never_the_raw_value(
    home, tmp_path_factory, monkeypatch
):
    cpf = "123.456.789-09"
    first = audit.hmac_identifier(cpf)

    assert audit.hmac_identifier(cpf) == first
    assert audit.hmac_identifier("987.654.321-00") != first
    assert first != cpf and cpf not in first and len(first) == 64
    audit.record(Action.MASKING_APPLIED, "silver/customers", details={"customer": first})
    assert cpf.encode() not in trail_file(home).read_bytes()

    monkeypatch.setenv("COFRE_HOME", str(tmp_path_factory.mktemp("other-key")))
    assert audit.hmac_identifier(cpf) != first
