"""Two real `python -m flows.full_pipeline` processes on one COFRE_HOME, contending for it.

A 300-order run holds the home for only a few seconds, so two runs merely started together
may not meet (CI saw both cases fail that way once). Different seeds with no wait: the first
run is paused once it holds the home, the second refuses naming the holder, and the warehouse
holds the first's seed exactly. Identical inputs with a long wait: both start while the test
holds the home, both wait, then one runs after the other and the second lands nothing new in
bronze. After the runs every file Cofre created under the home is owner-only. `prefect.yaml`'s
deployments carry a concurrency limit.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import httpx
import polars as pl
import pytest

from blocks.audit.trail_file import LOCK_FILE as AUDIT_LOCK_FILE
from blocks.lake.home_lock import HOLDER_FILE, LOCK_FILE

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 300


def start_pipeline(
    home: Path, api_url: str, seed: int, wait_seconds: float, output: Path | None = None
) -> subprocess.Popen:
    """The pipeline in a child process; its stdout and stderr piped, or both into `output`."""
    env = {
        **os.environ,
        "COFRE_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "COFRE_LOCK_WAIT_SECONDS": str(wait_seconds),
        "DO_NOT_TRACK": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    command = [sys.executable, "-m", "flows.full_pipeline", "--synthetic-orders", str(ORDERS),
               "--seed", str(seed), "--sources", "snapshot"]  # fmt: skip
    if output is not None:
        env["PYTHONUNBUFFERED"] = "1"  # the caller reads the file while the run goes on
        with output.open("w") as sink:
            return subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def holder_pid(home: Path) -> int | None:
    """The pid in the home's holder record (None: no record, or one being written)."""
    try:
        return json.loads((home / HOLDER_FILE).read_text()).get("pid")
    except (OSError, ValueError):
        return None


def run_while_the_first_holds(
    home: Path, api_url: str, seeds: tuple[int, int], wait: float
) -> list[dict]:
    """The first run, paused (SIGSTOP) once it holds the home; the second run meanwhile; then
    the first resumed. Merely started together, a 300-order run could end before the other
    reached the lock (CI saw it once): this way they always contend, and the first holds."""
    first = start_pipeline(home, api_url, seeds[0], wait)
    deadline = time.monotonic() + 600
    while True:
        while holder_pid(home) != first.pid:
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGSTOP)
        if not audit_lock_held(home):
            break
        # Stopped halfway through an audit append: the second run would wait for the trail's
        # lock (before it reaches the home's) as long as the first stays stopped. Try again.
        os.kill(first.pid, signal.SIGCONT)
        time.sleep(0.01)
    try:
        second = start_pipeline(home, api_url, seeds[1], wait)
        second_out, second_err = second.communicate(timeout=1500)
    finally:
        os.kill(first.pid, signal.SIGCONT)
    first_out, first_err = first.communicate(timeout=1500)
    return [
        {"seed": seeds[0], "pid": first.pid, "rc": first.returncode, "out": first_out,
         "err": first_err},
        {"seed": seeds[1], "pid": second.pid, "rc": second.returncode, "out": second_out,
         "err": second_err},
    ]  # fmt: skip


def audit_lock_held(home: Path) -> bool:
    """Whether a process holds the audit trail's lock exclusively (an append in progress)."""
    try:
        fd = os.open(home / "audit" / AUDIT_LOCK_FILE, os.O_RDONLY)
    except FileNotFoundError:
        return False  # no trail yet: nothing to hold
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def synthetic_csv(home: Path, seed: int, name: str) -> Path:
    return home / "olist_synthetic" / f"orders={ORDERS}_seed={seed}" / name


def assert_warehouse_holds_seed(home: Path, seed: int) -> None:
    """Σ of the warehouse tables equals this seed's generated source files, consistently."""
    items = pl.read_csv(synthetic_csv(home, seed, "olist_order_items_dataset.csv"))
    payments = pl.read_csv(synthetic_csv(home, seed, "olist_order_payments_dataset.csv"))
    orders = pl.read_csv(synthetic_csv(home, seed, "olist_orders_dataset.csv"))
    with closing(sqlite3.connect(home / "warehouse.db")) as conn:  # closed: no stray -shm
        rows, price = conn.execute(
            "select count(*), round(sum(price), 2) from fact_sales"
        ).fetchone()
        count, paid = conn.execute(
            "select count(*), round(sum(paid_value), 2) from fact_orders"
        ).fetchone()
    assert (rows, price) == (items.height, round(items["price"].sum(), 2))
    assert (count, paid) == (orders.height, round(payments["payment_value"].sum(), 2))


def bronze_writes(home: Path) -> list[dict]:
    trail = home / "audit" / "audit.jsonl"
    records = [json.loads(line) for line in trail.read_text().splitlines()]
    return [r for r in records if r["action"] == "LAKE_WRITE" and "/bronze/" in r["target"]]


def bronze_manifests(home: Path) -> list[dict]:
    found = (home / "lake" / "bronze").rglob("_manifest.json")
    return [json.loads(p.read_text()) for p in found if "_sha256" not in p.parts]


def test_different_seeds_started_together_one_refuses_and_the_warehouse_holds_one_seed(
    prefect_api, tmp_path
):
    home = tmp_path / "home"
    results = run_while_the_first_holds(home, prefect_api.url, (42, 7), wait=0)
    won = [r for r in results if r["rc"] == 0]
    lost = [r for r in results if r["rc"] != 0]
    assert len(won) == 1 and len(lost) == 1, [(r["rc"], r["err"][-2000:]) for r in results]
    winner, loser = won[0], lost[0]
    assert loser["rc"] == 1
    stopped = [line for line in loser["err"].splitlines() if line.startswith("Cofre stopped:")]
    assert len(stopped) == 1, loser["err"][-3000:]
    assert stopped[0].startswith(f"Cofre stopped: HomeBusy: COFRE_HOME {home.resolve()} is in use")
    assert f"flows.full_pipeline.full_pipeline, pid {winner['pid']} on host" in stopped[0]
    assert "Wait for that run to finish" in stopped[0]
    # The refused run wrote nothing: no synthetic set, no bronze, the winner's data only.
    assert not synthetic_csv(home, loser["seed"], "").exists()
    run_ids = {m["run_id"] for m in bronze_manifests(home)}
    assert len(run_ids) == 1 and f"run {run_ids.pop()} (" in stopped[0]
    assert_warehouse_holds_seed(home, winner["seed"])


@pytest.fixture(scope="module")
def identical_runs(prefect_api, tmp_path_factory) -> dict:
    """Two identical runs started while this test holds the home's lock, let go once both say
    they wait. (Merely started together, one 300-order run could end before the other, slower
    to start on a busy machine, reached the lock: CI saw it once.)"""
    home = tmp_path_factory.mktemp("identical") / "home"
    home.mkdir(mode=0o700)
    logs = [home.parent / f"run-{n}.log" for n in (1, 2)]
    started = time.monotonic()
    lock = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        processes = [start_pipeline(home, prefect_api.url, 42, 1200, log) for log in logs]
        deadline = time.monotonic() + 600
        while not all("Waiting for COFRE_HOME" in log.read_text() for log in logs):
            assert time.monotonic() < deadline, [log.read_text()[-2000:] for log in logs]
            assert all(p.poll() is None for p in processes), [log.read_text() for log in logs]
            time.sleep(0.2)
    finally:
        os.close(lock)  # lets go of the lock: one run takes it, the other waits for that one
    results = []
    for process, log in zip(processes, logs, strict=True):
        process.wait(timeout=1500)
        out = log.read_text()
        results.append({"seed": 42, "pid": process.pid, "rc": process.returncode,
                        "out": out, "err": out})  # fmt: skip
    return {"home": home, "results": results, "seconds": time.monotonic() - started}


def test_identical_runs_started_together_land_bronze_once(identical_runs):
    home, results = identical_runs["home"], identical_runs["results"]
    for result in results:
        assert result["rc"] == 0, result["err"][-3000:]
        assert "ImmutableObjectError" not in result["out"] + result["err"]
    assert any("Waiting for COFRE_HOME" in r["out"] + r["err"] for r in results)
    writes = bronze_writes(home)
    manifests = bronze_manifests(home)
    assert len({w["details"]["run_id"] for w in writes}) == 1  # one run landed everything
    assert len(writes) == len(manifests) == len({w["target"] for w in writes})
    assert {m["run_id"] for m in manifests} == {writes[0]["details"]["run_id"]}
    assert_warehouse_holds_seed(home, 42)


def test_every_file_a_run_creates_under_the_home_is_owner_only(identical_runs):
    home = identical_runs["home"]
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    opened = []
    seen = {"parquet": 0, "db": 0, "audit": 0}
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if path.is_symlink():
            continue
        expected = 0o700 if path.is_dir() else 0o600
        if mode & ~expected:
            opened.append(f"{path.relative_to(home)} {mode:o}")
        seen["parquet"] += path.suffix == ".parquet" and "gold" in path.parts
        seen["db"] += path.name == "warehouse.db"
        seen["audit"] += path.name == "audit.jsonl"
    assert opened == []
    # Spark's files too; the trail and its lake mirror (lake/audit/) both
    assert seen["parquet"] > 0 and seen["db"] == 1 and seen["audit"] == 2


def test_deployments_get_a_concurrency_limit_of_one(prefect_api, tmp_path):
    env = {**os.environ, "PREFECT_API_URL": prefect_api.url, "PWD": str(ROOT)}
    prefect = str(Path(sys.executable).with_name("prefect"))
    pool = subprocess.run(
        [prefect, "work-pool", "create", "cofre-local", "--type", "process",
         "--base-job-template", "deploy/cofre-local-pool.json", "--overwrite"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert pool.returncode == 0, pool.stdout + pool.stderr
    deployed = subprocess.run(
        [prefect, "--no-prompt", "deploy", "--all"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    response = httpx.post(f"{prefect_api.url}/deployments/filter", json={}, timeout=30)
    by_name = {d["name"]: d for d in response.json()}
    pipeline = by_name["full-pipeline-daily"]
    assert pipeline["global_concurrency_limit"]["limit"] == 1
    assert pipeline["concurrency_options"]["collision_strategy"] == "ENQUEUE"
    hourly = by_name["weather-snapshot-hourly"]["concurrency_options"]
    assert hourly["collision_strategy"] == "CANCEL_NEW"  # an hour late is the next hour's job
    ours = {"full-pipeline-daily", "ipca-monthly", "weather-snapshot-hourly",
            "weather-history-daily", "silver", "lifecycle-daily"}  # fmt: skip
    assert {by_name[name]["global_concurrency_limit"]["limit"] for name in ours} == {1}
