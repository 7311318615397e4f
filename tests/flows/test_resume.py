"""`--resume RUN_ID`: a run that failed in the warehouse stage resumes from there, against a
real Prefect API and real files; the warehouse then equals a clean run's, nothing before the
failed stage runs again and nothing is published twice. What cannot be resumed is refused in
one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from blocks import audit
from blocks.errors import ConfigurationError, PipelineStageFailed
from blocks.settings import load_settings
from flows.full_pipeline import full_pipeline
from tasks.gold.versions import list_versions
from tasks.sources.olist.synthetic import generate_olist
from tasks.warehouse.connection import connect_warehouse
from tasks.warehouse.schema import METADATA
from tests.tasks.warehouse.table_checks import table_checksum
from validation.catalog import GOLD_TABLES

ROOT = Path(__file__).resolve().parents[2]
ORDERS_FILE = "olist_orders_dataset.csv"


def _run_ids(home: Path) -> set[str]:
    runs = home / "lake" / "gold" / "_runs"
    return {p.stem for p in runs.glob("*.json")} if runs.is_dir() else set()


def _summary(home: Path, run_id: str) -> dict:
    return json.loads((home / "lake" / "gold" / "_runs" / f"{run_id}.json").read_text())


def _checksums(home: Path) -> dict:
    warehouse = connect_warehouse(load_settings(home=str(home)))
    try:
        return {
            table.name: table_checksum(warehouse, table)
            for table in METADATA.sorted_tables
            if table.name in GOLD_TABLES  # not the load's own records (times, run ids)
        }
    finally:
        warehouse.dispose()


def _command_line(argv: list[str], api_url: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "flows.full_pipeline", *argv],
        cwd=ROOT, env={**os.environ, "PREFECT_API_URL": api_url},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _stopped_line(run: subprocess.CompletedProcess) -> str:
    """The one `Cofre stopped:` line of a refused command."""
    (line,) = [line for line in run.stderr.splitlines() if line.startswith("Cofre stopped:")]
    return line


def _refused(match: str, **parameters) -> None:
    with pytest.raises(ConfigurationError, match=match) as caught:
        full_pipeline(**parameters)
    assert "\n" not in str(caught.value)  # one `Cofre stopped:` line


def test_a_run_failed_in_the_warehouse_resumes_there_and_loads_what_a_clean_run_loads(
    prefect_api, tmp_path, cofre_home, monkeypatch
):
    # One key for both homes: silver's pseudonyms (keyed hashes) agree, so the warehouses can.
    monkeypatch.setenv("COFRE_FERNET_KEYS", Fernet.generate_key().decode())
    monkeypatch.setenv("COFRE_AUDIT_KEY", "a-test-audit-key-not-a-secret-000")
    olist = tmp_path / "olist"
    generate_olist(olist, orders=400, seed=8)
    options = {"olist_dir": str(olist), "sources": "snapshot"}

    # The warehouse file cannot be opened (a directory stands where it goes): the run fails
    # in the warehouse stage, after gold published its version.
    (cofre_home / "warehouse.db").mkdir(parents=True)
    with pytest.raises(PipelineStageFailed, match="Stage 'warehouse' failed") as caught:
        full_pipeline(**options)
    (failed_id,) = _run_ids(cofre_home)
    assert f"--resume {failed_id}" in str(caught.value)
    assert _summary(cofre_home, failed_id)["state"] == "failed"

    # Inputs changed since: refused; the same inputs again: accepted further down.
    orders = olist / ORDERS_FILE
    original = orders.read_bytes()
    orders.write_bytes(original.replace(b"delivered", b"canceled", 1))
    _refused(f"input {orders} changed since it ran", resume=failed_id)
    orders.write_bytes(original)
    # Other inputs or outputs beside --resume: refused.
    _refused("Drop olist_dir", resume=failed_id, olist_dir=str(tmp_path / "elsewhere"))
    _refused("Drop warehouse_url", resume=failed_id, warehouse_url="sqlite:////tmp/other.db")

    # The documented command, in its own process: the run resumes at the warehouse stage.
    (cofre_home / "warehouse.db").rmdir()
    records_before = len(audit.read_records())
    run = _command_line(["--resume", failed_id], prefect_api.url)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"Resuming run {failed_id} from stage 'warehouse'" in run.stdout + run.stderr
    (resumed_id,) = _run_ids(cofre_home) - {failed_id}
    resumed = _summary(cofre_home, resumed_id)
    assert [(s["stage"], s["status"]) for s in resumed["stages"]] == [
        ("ingestion", "skipped"), ("silver", "skipped"), ("gold", "skipped"),
        ("warehouse", "completed"),
    ]  # fmt: skip

    # The audit trail of the resume: it says whom it resumes, and writes no bronze, silver
    # or gold: only the warehouse load and the run's own records.
    new = audit.read_records()[records_before:]
    (resuming,) = [r for r in new if r["details"].get("event") == "resuming"]
    assert resuming["action"] == "PIPELINE_RUN"
    assert resuming["details"]["resumes"] == failed_id
    assert resuming["details"]["kept"] == ["ingestion", "silver", "gold"]
    layers = ("/bronze/", "/silver/", "/gold/_versions/", "/gold/_current.json")
    rewritten = [r["target"] for r in new if r["action"] == "LAKE_WRITE"]
    assert not [t for t in rewritten if any(layer in t for layer in layers)], rewritten
    loads = [r for r in audit.read_records() if r["action"] == "WAREHOUSE_LOAD"]
    assert [r["outcome"] for r in loads].count("success") == 1  # one load, not two

    # One gold version, the failed run's, current; the resume's summary names both runs.
    assert [(v["version"], v["state"]) for v in list_versions_of(cofre_home)] == [
        (failed_id, "current")
    ]
    assert resumed["resumed_from"] == failed_id and resumed["state"] == "completed"
    assert resumed["gold_version"] == failed_id
    assert resumed["options"]["olist_dir"] == str(olist)
    assert {row["done_in"] for row in resumed["stages"][:3]} == {failed_id}

    # A clean run of the same inputs in another home loads the same numbers.
    resumed_checksums = _checksums(cofre_home)
    clean_home = tmp_path / "clean-home"
    monkeypatch.setenv("COFRE_HOME", str(clean_home))
    clean = full_pipeline(**options)
    assert {s["status"] for s in clean["stages"]} == {"completed"}
    assert _checksums(clean_home) == resumed_checksums
    assert resumed_checksums["fact_sales"][0] > 0

    # Once resumed, neither run can be resumed again.
    monkeypatch.setenv("COFRE_HOME", str(cofre_home))
    _refused(f"already resumed by run {resumed_id}, which completed", resume=failed_id)
    again = _command_line(["--resume", resumed_id], prefect_api.url)
    assert again.returncode == 1
    assert _stopped_line(again).endswith(
        "completed: there is nothing to resume; start a new "
        "run instead (without --resume) to run again."
    )


def list_versions_of(home: Path) -> list[dict]:
    from blocks.lake import Lake

    return list_versions(Lake.from_url(str(home / "lake")))


def test_an_unknown_or_malformed_run_id_is_refused_in_one_line(prefect_api, cofre_home):
    unknown = str(uuid.uuid4())
    _refused(f"Run {unknown} cannot be resumed: its run summary .* does not exist", resume=unknown)
    _refused("is not a run id", resume="../../etc/passwd")
    # Each refused run is audited from its start to its failure, not left open.
    runs = [r["details"] for r in audit.read_records() if r["action"] == "PIPELINE_RUN"]
    assert [run["event"] for run in runs] == ["started", "failed"] * 2


def test_the_command_line_refuses_a_resume_before_prefect_starts(tmp_path):
    """An unknown id, a path for an id, and another input beside --resume: one line, exit 1,
    before a Prefect API is started (no PREFECT_API_URL: none would be needed)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "PREFECT_API"))}
    env["COFRE_HOME"] = str(tmp_path / "home")
    unknown = str(uuid.uuid4())
    cases = {
        (unknown,): f"Run {unknown} cannot be resumed",
        ("../../etc/passwd",): "is not a run id",
    }
    for argv, expected in cases.items():
        run = subprocess.run(
            [sys.executable, "-m", "flows.full_pipeline", "--resume", *argv],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 1, run.stderr[-2000:]
        assert expected in _stopped_line(run), run.stderr[-2000:]
    # No temporary Prefect API was started: it would have created its database there.
    assert not list((tmp_path / "home").rglob("*.db"))
