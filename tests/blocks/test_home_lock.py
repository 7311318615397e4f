"""One writer per COFRE_HOME (flock, real processes) and per S3 lake (leased lock on moto)."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest

from blocks import audit
from blocks.errors import ConfigurationError, HomeBusy
from blocks.lake import Lake
from blocks.lake.home_lock import HOLDER_FILE, LOCK_FILE, hold_home, parse_umask
from blocks.lake.lease import S3Lease, lock_location
from blocks.settings import load_settings

HOLDER = Path(__file__).with_name("lock_holder.py")


@pytest.fixture(autouse=True)
def restore_umask():
    """hold_home sets the process umask; give the rest of the session its own back."""
    previous = os.umask(0o022)
    os.umask(previous)
    yield
    os.umask(previous)


def start_holder(run_id: str, seconds: float, **env: str) -> subprocess.Popen:
    """A real second process holding the lock; returns once it printed 'held' (or exited)."""
    process = subprocess.Popen(
        [sys.executable, str(HOLDER), run_id, str(seconds), env.pop("LEASE", "60")],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process


def wait_for_held(process: subprocess.Popen) -> None:
    line = process.stdout.readline()
    assert line.strip() == "held", line + process.stderr.read()


def takeovers(settings=None) -> list[dict]:
    trail = (settings or load_settings()).resolved_audit_dir / "audit.jsonl"
    records = audit.read_records(settings) if trail.exists() else []
    return [
        r
        for r in records
        if r["action"] == "PIPELINE_RUN" and r["details"].get("event") == "lock_taken_over"
    ]


def test_a_second_process_waits_then_refuses_naming_the_holder(cofre_home):
    first = start_holder("run-first", 60)
    try:
        wait_for_held(first)
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, str(HOLDER), "run-second", "0"],
            env={**os.environ, "COFRE_LOCK_WAIT_SECONDS": "1.5"},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        waited = time.monotonic() - started
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 3, second.stdout + second.stderr
    message = second.stdout.strip()
    assert message.startswith("busy: COFRE_HOME")
    assert "run run-first" in message
    assert f"pid {first.pid} on host {socket.gethostname()}" in message
    assert "started 20" in message and "Wait for that run to finish" in message
    assert waited >= 1.5
    assert len(message.splitlines()) == 1


def test_a_waiting_process_runs_once_the_holder_finishes(cofre_home):
    first = start_holder("run-first", 2)
    wait_for_held(first)
    second = subprocess.run(
        [sys.executable, str(HOLDER), "run-second", "0"],
        env={**os.environ, "COFRE_LOCK_WAIT_SECONDS": "30"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert first.wait(timeout=30) == 0
    assert second.returncode == 0 and second.stdout.strip() == "held", second.stderr
    assert not (cofre_home / HOLDER_FILE).exists()  # a clean release leaves no holder record
    assert takeovers() == []


def test_the_lock_of_a_killed_holder_is_taken_over_and_audited(cofre_home):
    first = start_holder("run-killed", 600)
    wait_for_held(first)
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    assert json.loads((cofre_home / HOLDER_FILE).read_text())["run_id"] == "run-killed"
    started = time.monotonic()
    second = subprocess.run(
        [sys.executable, str(HOLDER), "run-next", "0"],
        env={**os.environ, "COFRE_LOCK_WAIT_SECONDS": "30"},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert second.returncode == 0 and second.stdout.strip() == "held", second.stderr
    assert time.monotonic() - started < 20  # the kernel released the lock: no waiting it out
    [record] = takeovers()
    assert record["outcome"] == "warning"
    assert record["target"] == str(cofre_home.resolve() / LOCK_FILE)
    assert record["details"]["run_id"] == "run-next"
    assert record["details"]["took_over_from"]["run_id"] == "run-killed"
    assert record["details"]["took_over_from"]["pid"] == first.pid
    assert audit.verify().ok


def test_the_lock_is_reentrant_in_a_process_and_exclusive_between_processes(cofre_home):
    settings = load_settings(lock_wait_seconds=0.5)
    with hold_home(settings, run_id="outer") as outer:
        with hold_home(settings, run_id="inner") as inner:  # a stage flow inside full_pipeline
            assert inner == outer
            other = subprocess.run(
                [sys.executable, str(HOLDER), "other", "0"],
                env={**os.environ, "COFRE_LOCK_WAIT_SECONDS": "0.5"},
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert other.returncode == 3 and "run outer" in other.stdout
        holder = json.loads((cofre_home / HOLDER_FILE).read_text())
        assert holder == {"run_id": "outer", "started": outer.started, "host": outer.host,
                          "pid": os.getpid(), "command": "cofre"}  # fmt: skip
    assert not (cofre_home / HOLDER_FILE).exists()
    free = subprocess.run(
        [sys.executable, str(HOLDER), "after", "0"], capture_output=True, text=True, timeout=60
    )
    assert free.returncode == 0, free.stdout + free.stderr


def test_a_home_is_created_owner_only_and_an_open_one_is_closed(cofre_home, tmp_path):
    with hold_home(load_settings(), run_id="r1"):
        (cofre_home / "made-inside.txt").write_text("x")
        (cofre_home / "sub").mkdir()
    assert stat.S_IMODE(cofre_home.stat().st_mode) == 0o700
    assert stat.S_IMODE((cofre_home / "made-inside.txt").stat().st_mode) == 0o600
    assert stat.S_IMODE((cofre_home / "sub").stat().st_mode) == 0o700
    assert stat.S_IMODE((cofre_home / LOCK_FILE).stat().st_mode) == 0o600
    old = tmp_path / "old-home"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)
    with hold_home(load_settings(home=old, umask="027"), run_id="r2"):
        (old / "shared.txt").write_text("x")
    assert stat.S_IMODE(old.stat().st_mode) == 0o750
    assert stat.S_IMODE((old / "shared.txt").stat().st_mode) == 0o640


@pytest.mark.parametrize("value", ["022", "000", "070", "0o026", "abc", "8"])
def test_a_umask_that_opens_files_to_every_user_is_refused(value):
    with pytest.raises(ConfigurationError, match="COFRE_UMASK"):
        parse_umask(value)
    assert parse_umask("077") == 0o077 and parse_umask("0o027") == 0o027


# -- the S3 lease ---------------------------------------------------------------------------
def s3_env(moto_endpoint: str, bucket: str, home: Path, **extra: str) -> dict[str, str]:
    return {
        "COFRE_HOME": str(home),
        "COFRE_LAKE_URL": f"s3://{bucket}/lake",
        "COFRE_S3_ENDPOINT_URL": moto_endpoint,
        **extra,
    }


def s3_settings(moto_endpoint: str, bucket: str, home: Path, **flags):
    return load_settings(
        home=home, lake_url=f"s3://{bucket}/lake", s3_endpoint_url=moto_endpoint, **flags
    )


def test_the_s3_lock_is_created_conditionally_so_one_of_two_racers_wins(moto_endpoint, s3_bucket):
    lake = Lake.from_url(f"s3://{s3_bucket}/lake", endpoint_url=moto_endpoint)
    assert lock_location(lake) == (s3_bucket, "lake/_cofre_lock.json")
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def race(name: str) -> None:
        lease = S3Lease(lake.s3_client(), s3_bucket, "lake/_cofre_lock.json", {"run_id": name})
        barrier.wait()
        try:
            lease.acquire(deadline=time.monotonic() + 1.0)
            results[name] = lease
        except HomeBusy as exc:
            results[name] = exc

    threads = [threading.Thread(target=race, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [v for v in results.values() if isinstance(v, S3Lease)]
    losers = [v for v in results.values() if isinstance(v, HomeBusy)]
    assert len(winners) == 1 and len(losers) == 1
    assert f"run {winners[0].holder['run_id']}" in str(losers[0])
    winners[0].release()
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    assert client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0


def test_a_second_home_on_the_same_s3_lake_is_refused(moto_endpoint, s3_bucket, tmp_path):
    first = s3_settings(moto_endpoint, s3_bucket, tmp_path / "machine-a")
    second = s3_settings(moto_endpoint, s3_bucket, tmp_path / "machine-b", lock_wait_seconds=1)
    lake = Lake.from_settings(first)
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    with hold_home(first, lake, run_id="run-a", lease_seconds=3):
        body = json.loads(
            client.get_object(Bucket=s3_bucket, Key="lake/_cofre_lock.json")["Body"].read()
        )
        assert body["run_id"] == "run-a" and body["lease_seconds"] == 3
        head = client.head_object(Bucket=s3_bucket, Key="lake/_cofre_lock.json")
        assert head["ServerSideEncryption"] == "AES256"
        time.sleep(4)  # longer than the lease: the holder's renewals keep it alive
        refused = pytest.raises(HomeBusy, match=r"lake lock s3://.*held by run run-a")
        with refused, hold_home(second, Lake.from_settings(second), run_id="run-b"):
            pass
    assert client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0
    with hold_home(second, Lake.from_settings(second), run_id="run-b"):
        pass  # released: the next run gets it at once
    assert takeovers(second) == []


def test_an_expired_s3_lease_of_a_killed_holder_is_taken_over_and_audited(
    moto_endpoint, s3_bucket, tmp_path
):
    dead = start_holder(
        "run-dead", 600, LEASE="3", **s3_env(moto_endpoint, s3_bucket, tmp_path / "machine-a")
    )
    wait_for_held(dead)
    os.kill(dead.pid, signal.SIGKILL)
    dead.wait()
    settings = s3_settings(moto_endpoint, s3_bucket, tmp_path / "machine-b", lock_wait_seconds=20)
    started = time.monotonic()
    with hold_home(settings, Lake.from_settings(settings), run_id="run-next", lease_seconds=3):
        waited = time.monotonic() - started
        client = boto3.client("s3", endpoint_url=moto_endpoint)
        body = json.loads(
            client.get_object(Bucket=s3_bucket, Key="lake/_cofre_lock.json")["Body"].read()
        )
        assert body["run_id"] == "run-next"
    assert 1 <= waited < 20  # waited out the dead holder's lease, no more
    [record] = takeovers(settings)
    assert record["target"] == f"s3://{s3_bucket}/lake/_cofre_lock.json"
    assert record["details"]["took_over_from"]["run_id"] == "run-dead"
    assert record["details"]["took_over_from"]["pid"] == dead.pid


def test_a_holder_that_lost_its_lease_does_not_delete_the_new_holders_lock(
    moto_endpoint, s3_bucket
):
    lake = Lake.from_url(f"s3://{s3_bucket}/lake", endpoint_url=moto_endpoint)
    bucket, key = lock_location(lake)
    paused = S3Lease(lake.s3_client(), bucket, key, {"run_id": "paused"}, lease_seconds=3)
    paused.acquire(deadline=time.monotonic())
    paused._stop.set()  # a paused process: no renewals
    paused._thread.join()
    taker = S3Lease(lake.s3_client(), bucket, key, {"run_id": "taker"}, lease_seconds=3)
    assert taker.acquire(deadline=time.monotonic() + 20)["run_id"] == "paused"
    paused.release()  # its conditional delete fails: the object is the taker's now
    assert paused.lost
    assert taker.read()[0]["run_id"] == "taker"
    taker.release()
    assert taker.read() is None
