"""What a resume keeps and what it refuses (tasks/resume.py), on a real local lake without
Prefect: summaries, bronze, silver manifests and the gold pointer written as the stages
write them. (Not test_resume.py: tests/flows/ has one, and test basenames must differ.)"""

from __future__ import annotations

import json
import uuid

import pytest

from blocks.errors import ConfigurationError
from blocks.lake import Lake
from tasks.bronze import land_bronze
from tasks.resume import check_run_id, plan_resume
from tasks.run_summary import RUNS_PREFIX
from validation.catalog import GOLD_POINTER, GOLD_VERSIONS, MANIFEST, silver_manifest_key

ORDERS = "olist_orders_dataset.csv"


@pytest.fixture
def lake(tmp_path) -> Lake:
    return Lake.from_url(str(tmp_path / "lake"))


def _row(stage: str, status: str = "completed", **extra) -> dict:
    return {"stage": stage, "status": status, "rows_in": 5, "rows_out": 5, **extra}


def _summary(lake: Lake, run_id: str, stages: list[dict], **fields) -> None:
    summary = {"run_id": run_id, "state": "failed", "stages": stages,
               "options": {"synthetic_orders": 300, "seed": 7, "sources": "snapshot"},
               **fields}  # fmt: skip
    lake.write_bytes("gold", f"{RUNS_PREFIX}/{run_id}.json", json.dumps(summary).encode())


def _landed(lake: Lake, run_id: str, data: bytes = b"order_id\n1\n") -> str:
    landing = land_bronze(
        lake, source="olist", dataset="orders", filename=ORDERS, run_id=run_id, data=data
    )
    return landing.manifest.sha256


def _silver(lake: Lake, run_id: str, dataset: str = "orders") -> None:
    manifest = {"dataset": dataset, "run_id": run_id}
    lake.write_bytes("silver", silver_manifest_key(dataset), json.dumps(manifest).encode())


def _gold(lake: Lake, version: str) -> None:
    lake.write_bytes("gold", f"{GOLD_VERSIONS}/{version}/{MANIFEST}", b"{}")
    pointer = {"version": version, "manifest_sha256": "0" * 64}
    lake.write_bytes("gold", GOLD_POINTER, json.dumps(pointer).encode())


def _failed_in_gold(lake: Lake) -> str:
    """A run that landed bronze and wrote silver, then failed in gold."""
    run_id = str(uuid.uuid4())
    sha = _landed(lake, run_id)
    _silver(lake, run_id)
    provenance = {"olist": {"synthetic": {"seed": 7, "orders": 300}}, "files": {ORDERS: sha}}
    stages = [_row("ingestion"), _row("silver"), _row("gold", "failed")]
    _summary(lake, run_id, stages, provenance=provenance, quality={"orders": {"rows_out": 1}})
    return run_id


def test_a_run_failed_in_gold_resumes_there_keeping_ingestion_and_silver(lake):
    run_id = _failed_in_gold(lake)
    plan = plan_resume(lake, run_id, {"sources": "snapshot", "engine": "spark", "lake": "x"})
    assert plan.start == "gold" and plan.kept_stages == ("ingestion", "silver")
    assert plan.options["synthetic_orders"] == 300
    assert plan.facts["quality"] == {"orders": {"rows_out": 1}}
    rows = plan.kept_rows()
    assert [(r["status"], r["done_in"], r["rows_out"]) for r in rows] == [
        ("skipped", run_id, 5), ("skipped", run_id, 5)
    ]  # fmt: skip


def test_silver_rewritten_by_a_later_run_is_refused(lake):
    run_id = _failed_in_gold(lake)
    _silver(lake, "a-later-run")
    with pytest.raises(ConfigurationError, match=r"silver orders .* was rewritten by run a-later"):
        plan_resume(lake, run_id, {})


def test_bronze_with_a_newer_object_than_the_run_landed_is_refused(lake):
    run_id = _failed_in_gold(lake)
    _landed(lake, "a-later-run", b"order_id\n2\n")
    with pytest.raises(ConfigurationError, match=r"bronze's newest .* is run a-later-run's"):
        plan_resume(lake, run_id, {})


def test_a_gold_version_no_longer_current_is_refused(lake):
    run_id = str(uuid.uuid4())
    sha = _landed(lake, run_id)
    _silver(lake, run_id)
    _gold(lake, run_id)
    stages = [_row("ingestion"), _row("silver"), _row("gold"), _row("warehouse", "failed")]
    provenance = {"olist": None, "files": {ORDERS: sha}}
    _summary(lake, run_id, stages, provenance=provenance, quality={"orders": {}})
    assert plan_resume(lake, run_id, {}).start == "warehouse"
    _gold(lake, "a-later-run")
    with pytest.raises(ConfigurationError, match=r"no longer the current one .*a-later-run"):
        plan_resume(lake, run_id, {})


def test_an_olist_directory_whose_files_changed_is_refused(lake, tmp_path):
    source = tmp_path / "olist"
    source.mkdir()
    (source / ORDERS).write_bytes(b"order_id\n1\n")
    run_id = str(uuid.uuid4())
    sha = _landed(lake, run_id)
    provenance = {"olist": {"dir": str(source)}, "files": {ORDERS: sha}}
    _summary(lake, run_id, [_row("ingestion"), _row("silver", "failed")], provenance=provenance)
    assert plan_resume(lake, run_id, {}).start == "silver"
    (source / ORDERS).write_bytes(b"order_id\n9\n")
    with pytest.raises(ConfigurationError, match=f"input {source / ORDERS} changed since"):
        plan_resume(lake, run_id, {})


def test_a_run_resumed_by_a_run_that_failed_too_points_to_that_run(lake):
    first = _failed_in_gold(lake)
    second = str(uuid.uuid4())
    _summary(lake, second, [_row("gold", "failed")], resumed_from=first)
    with pytest.raises(ConfigurationError, match=f"resume that run instead \\(--resume {second}"):
        plan_resume(lake, first, {})


@pytest.mark.parametrize(
    ("state", "options", "reason"),
    [
        ("completed", {}, "completed: there is nothing to resume"),
        ("running", {}, "only a failed or interrupted run can be resumed"),
        ("failed", None, "recorded before runs could be resumed"),
    ],
)
def test_a_run_that_cannot_be_resumed_says_why(lake, state, options, reason):
    run_id = str(uuid.uuid4())
    _summary(lake, run_id, [_row("ingestion", "failed")], state=state, options=options)
    with pytest.raises(ConfigurationError, match=reason):
        plan_resume(lake, run_id, {})


def test_other_inputs_or_outputs_beside_a_resume_are_refused(lake):
    run_id = _failed_in_gold(lake)
    plan_resume(lake, run_id, {"seed": 7, "synthetic_orders": 300, "master": "local[2]"})
    for given in ({"seed": 8}, {"warehouse_url": "sqlite:///x.db"}, {"olist_dir": "/data"}):
        with pytest.raises(ConfigurationError, match=f"Drop {next(iter(given))}"):
            plan_resume(lake, run_id, given)


@pytest.mark.parametrize(
    "value", ["../../etc/passwd", "/tmp/x", "0b8e5f0c-1f0a-4c1e-9a57-2f9a3c0d1e2f/..", "", "x"]
)
def test_a_run_id_must_be_a_uuid_never_a_path(value):
    with pytest.raises(ConfigurationError, match="is not a run id"):
        check_run_id(value)


def test_an_unknown_run_is_refused(lake):
    unknown = str(uuid.uuid4())
    with pytest.raises(ConfigurationError, match=f"{unknown}.json does not exist"):
        plan_resume(lake, unknown, {})


def test_a_resume_that_failed_too_resumes_in_turn_keeping_the_first_runs_work(lake):
    first = str(uuid.uuid4())
    sha = _landed(lake, first)
    _silver(lake, first)
    _gold(lake, first)
    provenance = {"olist": None, "files": {ORDERS: sha}}
    kept = [_row(s, "skipped", done_in=first) for s in ("ingestion", "silver", "gold")]
    second = str(uuid.uuid4())
    _summary(lake, second, [*kept, _row("warehouse", "failed")], resumed_from=first,
             provenance=provenance, quality={"orders": {}})  # fmt: skip
    plan = plan_resume(lake, second, {})
    assert plan.start == "warehouse"
    assert {plan.done_in(stage) for stage in plan.kept_stages} == {first}
    assert {row["note"] for row in plan.kept_rows()} == {f"done in run {first}"}
