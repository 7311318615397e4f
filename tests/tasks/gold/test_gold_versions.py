"""Gold as one version per run, made current by one atomic pointer step.

The stage runs with a stand-in for the Spark job (the hand-computed gold written as Spark
writes it), so these tests need no JVM; tests/tasks/gold/test_gold_stage.py runs the real job.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from typer.testing import CliRunner

import tasks.gold.run as gold_stage
import tasks.gold.versions as gv
from blocks import audit
from blocks.errors import InvalidSourceData, LakeError
from blocks.lake import Lake, sha256_bytes
from blocks.settings import load_settings
from tasks.layers.gold import read_current_gold
from tasks.silver.olist import write_silver_dataset
from tasks.warehouse.run import load_warehouse
from tests.spark.gold_fixture import expected_gold, silver_frames
from tests.tasks.gold.publish import publish_frames
from tests.tasks.warehouse.gold_frames import gold_frames
from validation.catalog import GOLD_TABLES

ROOT = Path(__file__).resolve().parents[3]


def _with_silver(lake: Lake) -> Lake:
    lake.ensure_buckets()
    for name, frame in silver_frames().items():
        write_silver_dataset(lake, name, frame, "silver-run")
    return lake


@pytest.fixture
def stand_in(monkeypatch):
    """The stage's gold job replaced by one writing `expected_gold()` as Spark lays it out."""

    def run_gold(spark, silver_url, gold_url, log=None):
        for table, frame in expected_gold().items():
            directory = Path(gold_url.removeprefix("file://")) / table
            directory.mkdir(parents=True)
            frame.write_parquet(directory / "part-00000-0a1b-c000.zstd.parquet")
            (directory / "_SUCCESS").touch()
        return {}

    monkeypatch.setattr(gold_stage, "get_spark", lambda master=None: None)
    monkeypatch.setattr(gold_stage, "run_gold", run_gold)


def _pointer(lake: Lake) -> dict:
    return json.loads(lake.read_bytes("gold", gv.POINTER))


def _warehouse_totals(home: Path) -> tuple[float, float]:
    with sqlite3.connect(home / "warehouse.db") as conn:
        monthly = conn.execute("select round(sum(revenue), 2) from sales_monthly").fetchone()[0]
        daily = conn.execute("select round(sum(revenue), 2) from sales_weather_daily").fetchone()
    return monthly, daily[0]


# -- publishing --------------------------------------------------------------------------
def test_a_second_version_lands_beside_the_first_and_one_replace_makes_it_current(
    tmp_path, stand_in, monkeypatch
):
    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    gold_stage.run_gold_stage(lake, "v1")
    seen, real_replace = [], os.replace

    def watching_replace(src, dst):  # readers' view just before and after each replace
        if str(dst).endswith("/gold/_current.json"):
            before = read_current_gold(lake)[0]["version"]
            real_replace(src, dst)
            seen.append((before, read_current_gold(lake)[0]["version"]))
        else:
            real_replace(src, dst)
            if "/gold/" in str(dst):
                seen.append(("write", Path(dst).relative_to(lake.path("gold")).as_posix()))

    monkeypatch.setattr(os, "replace", watching_replace)
    summary = gold_stage.run_gold_stage(lake, "v2")
    pointer_moves = [s for s in seen if s[0] != "write"]
    assert pointer_moves == [("v1", "v2")]  # one step; v2 was complete and readable before it
    assert seen[-1] == ("v1", "v2")  # and it was the last write of the publish
    assert all(key.startswith("_versions/v2/") for op, key in seen[:-1])  # v1 never touched
    pointer = _pointer(lake)
    assert (pointer["version"], [p["version"] for p in pointer["previous"]]) == ("v2", ["v1"])
    manifest, frames = read_current_gold(lake)
    assert manifest["version"] == summary.version == "v2"
    assert set(manifest["tables"]) == set(GOLD_TABLES)
    fact = manifest["tables"]["fact_sales"]
    assert fact["rows"] == 9 and fact["columns"]["order_id"] == "String"
    part = fact["files"][0]
    assert part["key"] == "_versions/v2/fact_sales/part-00000.parquet"
    assert part["sha256"] == sha256_bytes(lake.read_bytes("gold", part["key"]))
    assert_frame_equal(frames["fact_sales"], expected_gold()["fact_sales"], check_exact=True)
    assert pointer["manifest_sha256"] == sha256_bytes(
        lake.read_bytes("gold", "_versions/v2/_manifest.json")
    )


def test_a_published_version_is_never_rewritten(tmp_path, stand_in):
    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    gold_stage.run_gold_stage(lake, "once")
    before = {key: lake.read_bytes("gold", key) for key in lake.keys("gold")}
    with pytest.raises(LakeError, match="Gold version once is already published"):
        gold_stage.run_gold_stage(lake, "once")
    assert {key: lake.read_bytes("gold", key) for key in lake.keys("gold")} == before


def test_old_table_by_table_gold_is_refused_then_replaced_by_the_first_version(tmp_path, stand_in):
    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    for table, frame in gold_frames().items():  # the layout of earlier Cofre versions
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        lake.write_bytes("gold", f"{table}/part-00000.parquet", buffer.getvalue())
    with pytest.raises(InvalidSourceData, match="run the gold stage once to publish a version"):
        read_current_gold(lake)
    gold_stage.run_gold_stage(lake, "first-version")
    assert not any(lake.exists("gold", table) for table in GOLD_TABLES)  # migrated away
    assert read_current_gold(lake)[0]["version"] == "first-version"


# -- refusing what is not one complete, intact version ------------------------------------
def _two_versions(lake: Lake) -> None:
    publish_frames(lake, "old", gold_frames(price_bump=1.0))
    publish_frames(lake, "new", gold_frames())


def _repoint(lake: Lake, version: str, manifest: dict | None = None) -> None:
    """Rewrite a manifest (if given) and point at it with a matching checksum."""
    key = gv.version_key(version, gv.MANIFEST)
    if manifest is not None:
        lake.write_bytes("gold", key, json.dumps(manifest).encode())
    digest = sha256_bytes(lake.read_bytes("gold", key)) if lake.exists("gold", key) else "0" * 64
    pointer = _pointer(lake) | {"version": version, "manifest_sha256": digest}
    lake.write_bytes("gold", gv.POINTER, json.dumps(pointer).encode())


def _manifest(lake: Lake, version: str) -> dict:
    return json.loads(lake.read_bytes("gold", gv.version_key(version, gv.MANIFEST)))


def _changed_part(lake: Lake) -> None:
    other = lake.read_bytes("gold", "_versions/old/fact_sales/part-00000.parquet")
    lake.write_bytes("gold", "_versions/new/fact_sales/part-00000.parquet", other)


def _changed_manifest(lake: Lake) -> None:
    manifest = _manifest(lake, "new")
    manifest["tables"]["fact_sales"]["rows"] = 4
    lake.write_bytes("gold", "_versions/new/_manifest.json", json.dumps(manifest).encode())


def _missing_table(lake: Lake) -> None:
    manifest = _manifest(lake, "new")
    del manifest["tables"]["sales_weather_daily"]
    _repoint(lake, "new", manifest)


def _missing_part(lake: Lake) -> None:
    lake.delete("gold", "_versions/new/dim_seller/part-00000.parquet")


def _table_of_another_version(lake: Lake) -> None:
    manifest = _manifest(lake, "new")
    manifest["tables"]["sales_monthly"] = _manifest(lake, "old")["tables"]["sales_monthly"]
    _repoint(lake, "new", manifest)


def _extra_part_of_another_run(lake: Lake) -> None:
    other = lake.read_bytes("gold", "_versions/old/sales_monthly/part-00000.parquet")
    lake.write_bytes("gold", "_versions/new/sales_monthly/part-00001.parquet", other)


def _pointer_to_a_missing_version(lake: Lake) -> None:
    _repoint(lake, "ghost")


def _pointer_to_an_incomplete_version(lake: Lake) -> None:
    lake.delete("gold", "_versions/new/_manifest.json")


def _unreadable_pointer(lake: Lake) -> None:
    lake.write_bytes("gold", gv.POINTER, b'{"version": ')


def _no_pointer(lake: Lake) -> None:
    lake.delete("gold", gv.POINTER)


REFUSALS = {
    "part checksum": (
        _changed_part,
        r"fact_sales: .*part-00000\.parquet does not match its sha256",
    ),
    "manifest checksum": (_changed_manifest, r"manifest of gold version new .* does not match"),
    "missing table": (_missing_table, r"version new has no table sales_weather_daily"),
    "missing part": (_missing_part, r"table dim_seller of version new lacks .*part-00000"),
    "table of another version": (
        _table_of_another_version,
        r"sales_monthly of version new mixes in a file of another run \(_versions/old/",
    ),
    "extra part": (_extra_part_of_another_run, r"sales_monthly of version new mixes in .*01\.parq"),
    "pointer to a missing version": (_pointer_to_a_missing_version, r"version ghost is missing"),
    "incomplete version": (_pointer_to_an_incomplete_version, r"version new is incomplete"),
    "unreadable pointer": (_unreadable_pointer, r"pointer .*_current\.json is unreadable"),
    "no pointer": (_no_pointer, r"No current gold version .*run the gold stage first"),
}


@pytest.mark.parametrize("case", REFUSALS, ids=list(REFUSALS))
def test_read_current_gold_refuses_and_the_warehouse_loads_nothing(tmp_path, cofre_home, case):
    tamper, message = REFUSALS[case]
    lake = Lake.from_url(str(tmp_path / "lake"))
    _two_versions(lake)
    loaded = load_warehouse(lake, load_settings(), "before-tamper")
    assert loaded.gold_version == "new"
    totals = _warehouse_totals(cofre_home)
    tamper(lake)
    with pytest.raises(InvalidSourceData, match=message) as refused:
        read_current_gold(lake)
    assert "run the gold stage" in str(refused.value)
    with pytest.raises(InvalidSourceData, match=message):
        load_warehouse(lake, load_settings(), "after-tamper")
    assert _warehouse_totals(cofre_home) == totals  # nothing was loaded
    last = audit.read_records()[-1]
    assert (last["action"], last["outcome"]) == ("WAREHOUSE_LOAD", "failure")
    assert last["details"] == {"run_id": "after-tamper", "error": "InvalidSourceData",
                               "loaded": False}  # fmt: skip


def test_a_changed_part_is_a_security_incident_naming_the_object(tmp_path):
    lake = Lake.from_url(str(tmp_path / "lake"))
    _two_versions(lake)
    _changed_part(lake)
    with pytest.raises(InvalidSourceData):
        read_current_gold(lake)
    incidents = [r for r in audit.read_records() if r["action"] == "SECURITY_INCIDENT"]
    assert incidents[-1]["target"].endswith("gold/_versions/new/fact_sales/part-00000.parquet")
    assert incidents[-1]["details"] == {"version": "new", "reason": "fact_sales part checksum "
                                        "mismatch"}  # fmt: skip


def test_sealing_reads_back_exactly_what_readers_of_the_version_get(tmp_path):
    """The gate checks the frames the seal decoded from the bytes it hashed: the same frames,
    and the same manifest, as a reader of the published version gets (in two parts, too)."""
    lake = Lake.from_url(str(tmp_path / "lake"))
    frames = gold_frames()
    for table, frame in frames.items():
        halves = (frame.head(frame.height // 2), frame.tail(frame.height - frame.height // 2))
        for i, half in enumerate(halves):
            buffer = io.BytesIO()
            half.write_parquet(buffer)
            key = gv.version_key("v1", f"{table}/part-0000{i}.parquet")
            lake.write_bytes("gold", key, buffer.getvalue())
    manifest, digest, sealed = gv.seal_and_read_version(lake, "v1", "v1")
    gv.make_current(lake, "v1", digest)
    read_manifest, read = read_current_gold(lake)
    assert read_manifest == manifest and list(sealed) == list(read) == list(GOLD_TABLES)
    for table in GOLD_TABLES:
        assert_frame_equal(sealed[table], read[table])
        assert_frame_equal(sealed[table], frames[table])
        assert len(manifest["tables"][table]["files"]) == 2
    assert gv.seal_version(lake, "v1", "v1")[0]["tables"] == manifest["tables"]


# -- a publish killed with SIGKILL ---------------------------------------------------------
def _sums(frames: dict[str, pl.DataFrame]) -> tuple[float, float]:
    return (
        round(frames["sales_monthly"]["revenue"].sum(), 2),
        round(frames["sales_weather_daily"]["revenue"].sum(), 2),
    )


def _kill_during_publish(lake_root: Path, point: str, marker: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.tasks.gold.gold_publish_victim", str(lake_root), str(marker),
         point],
        cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(process.communicate()[0].decode()[-3000:])
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)  # the whole group, as an OOM killer or kill -9
        assert process.wait(30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.mark.parametrize("point", ["tables", "pointer"])
def test_a_publish_killed_midway_leaves_the_previous_version_current_and_the_next_run_cleans(
    tmp_path, cofre_home, stand_in, point
):
    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    gold_stage.run_gold_stage(lake, "previous")
    previous = _sums(read_current_gold(lake)[1])
    assert previous[0] == previous[1] == 655.01
    _kill_during_publish(tmp_path / "lake", point, tmp_path / "stopped")

    killed = Path(lake.path("gold", "_versions/killed-run"))
    written = sorted(p.name for p in killed.iterdir() if p.is_dir() and p.name != "_staging")
    assert len(written) == (11 if point == "tables" else 14)
    assert (killed / "_manifest.json").exists() == (point == "pointer")
    assert _pointer(lake)["version"] == "previous"
    loaded = load_warehouse(lake, load_settings(), "after-kill")  # a standalone load
    assert loaded.gold_version == "previous"
    monthly, daily = _warehouse_totals(cofre_home)
    assert monthly == pytest.approx(daily, abs=0.005)
    assert (monthly, daily) == previous
    load_audit = audit.read_records()[-1]
    assert (load_audit["action"], load_audit["details"]["gold_version"]) == (
        "WAREHOUSE_LOAD",
        "previous",
    )

    # what older or killed runs left behind, and a file of another home that must stay
    old_staging = tmp_path / "lake" / ".staging" / "gold-old-run" / "fact_sales"
    old_staging.mkdir(parents=True)
    (tmp_path / "lake" / "gold" / "_runs").mkdir()
    tmp_file = tmp_path / "lake" / "gold" / "_runs" / ".r.json.tmp-0123"
    tmp_file.write_bytes(b"half")
    scratch = cofre_home.resolve() / ".scratch" / "gold-dead-run" / "silver"
    scratch.mkdir(parents=True)
    elsewhere = tmp_path / "other-home" / ".scratch" / "gold-their-run"
    elsewhere.mkdir(parents=True)
    rerun = gold_stage.run_gold_stage(lake, "rerun")
    assert not killed.exists() and not old_staging.parent.exists()
    assert not tmp_file.exists() and not scratch.parent.exists()
    assert elsewhere.exists()  # another home's scratch is not ours to remove
    assert _pointer(lake)["version"] == "rerun"
    assert {"_versions/killed-run", str(scratch.parent), str(tmp_file)} <= set(rerun.removed)
    assert [v["version"] for v in gv.list_versions(lake)] == ["rerun", "previous"]


# -- retention and the listing ---------------------------------------------------------------
def test_the_last_three_versions_are_kept_and_cofre_gold_versions_lists_them(tmp_path, stand_in):
    from flows.cli import app

    lake = _with_silver(Lake.from_url(str(tmp_path / "lake")))
    for run in ("r1", "r2", "r3", "r4", "r5"):
        gold_stage.run_gold_stage(lake, run)
    assert [v["version"] for v in gv.list_versions(lake)] == ["r5", "r4", "r3"]
    assert sorted(p.name for p in Path(lake.path("gold", "_versions")).iterdir()) == [
        "r3",
        "r4",
        "r5",
    ]
    removals = [r for r in audit.read_records() if "removed_versions" in r["details"]]
    assert [r["details"]["removed_versions"] for r in removals] == [["r1"], ["r2"]]
    lake.write_bytes("gold", "_versions/stopped/fact_sales/part-00000.parquet", b"partial")

    result = CliRunner().invoke(app, ["gold", "versions", "--lake", str(tmp_path / "lake")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Gold versions in file://{lake.path('gold')} (the last 3 are kept):"
    assert [line.split()[:2] for line in lines[1:]] == [
        ["*", "r5"],
        ["r4", gv.list_versions(lake)[1]["created"]],
        ["r3", gv.list_versions(lake)[2]["created"]],
        ["stopped", "-"],
    ]
    rows = sum(f.height for f in expected_gold().values())
    assert lines[1].endswith(f"14 tables  {rows:>12,} rows  current")
    assert lines[2].endswith("kept") and lines[4].endswith("0 rows  unpublished")

    empty = CliRunner().invoke(app, ["gold", "versions", "--lake", str(tmp_path / "none")])
    assert empty.exit_code == 0 and "No gold versions in" in empty.output


# -- an S3 lake ------------------------------------------------------------------------------
def test_an_s3_lake_uploads_the_version_then_puts_the_pointer(
    s3_bucket, moto_endpoint, cofre_home, stand_in
):
    lake = _with_silver(Lake.from_url(f"s3://{s3_bucket}/lake", endpoint_url=moto_endpoint))
    first = gold_stage.run_gold_stage(lake, "s3-one")
    second = gold_stage.run_gold_stage(lake, "s3-two")
    assert Path(second.staging).parent == cofre_home.resolve() / ".scratch"
    assert not Path(first.staging).exists() and not Path(second.staging).exists()
    assert lake.keys("gold", "_versions/s3-two/fact_sales") == [
        "_versions/s3-two/fact_sales/part-00000.parquet"
    ]
    pointer = _pointer(lake)
    assert (pointer["version"], pointer["previous"][0]["version"]) == ("s3-two", "s3-one")
    manifest, frames = read_current_gold(Lake.from_url(f"s3://{s3_bucket}/lake",
                                                          endpoint_url=moto_endpoint))  # fmt: skip
    assert manifest["version"] == "s3-two"
    for table, frame in expected_gold().items():
        assert_frame_equal(frames[table], frame, check_exact=True)
    assert [v["state"] for v in gv.list_versions(lake)] == ["current", "kept"]
    foreign = lake.read_bytes("gold", "_versions/s3-one/dim_seller/part-00000.parquet")
    lake.write_bytes("gold", "_versions/s3-two/dim_date/part-00000.parquet", foreign)
    with pytest.raises(InvalidSourceData, match=r"dim_date: s3://.* does not match its sha256"):
        read_current_gold(lake)
