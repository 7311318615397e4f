"""Lifecycle to cold storage on the local lake and on S3 (moto), with a crash mid-move."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from blocks.lake import Lake
from tasks.bronze import MANIFEST, land_bronze, list_manifests, read_landed
from tasks.lifecycle.move import install_s3_lifecycle_rules, run_lifecycle

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path) -> Lake:
    if request.param == "local":
        return Lake.from_url(str(tmp_path / "lake"))
    endpoint = request.getfixturevalue("moto_endpoint")
    return Lake.from_url(f"s3://{request.getfixturevalue('s3_bucket')}", endpoint_url=endpoint)


def _land_aged(lake: Lake) -> dict[str, bytes]:
    """Objects 90, 45, 31, 29 and 1 days old; returns key -> bytes."""
    landed = {}
    for age in (90, 45, 31, 29, 1):
        data = f"payload of an object {age} days old\n".encode() * 50
        landing = land_bronze(
            lake, source="src", dataset="ds", filename="data.json", run_id=f"r{age}",
            data=data, fetched_at=NOW - timedelta(days=age),
        )  # fmt: skip
        landed[landing.manifest.key] = data
    return landed


def _data_keys(lake: Lake, layer: str) -> set[str]:
    return {k for k in lake.keys(layer) if k.endswith("data.json")}


def test_moves_exactly_the_old_objects_with_their_manifests(lake):
    landed = _land_aged(lake)
    report = run_lifecycle(lake, 30, now=NOW)
    old = {k for k in landed if any(f"run_id=r{a}/" in k for a in (90, 45, 31))}
    assert _data_keys(lake, "cold") == old
    assert _data_keys(lake, "bronze") == set(landed) - old
    assert len(report.moved) == 3 and report.kept == 2
    for key in old:
        assert (
            hashlib.sha256(lake.read_bytes("cold", key)).digest()
            == hashlib.sha256(landed[key]).digest()
        )
        assert lake.exists("cold", key.rsplit("/", 1)[0] + "/" + MANIFEST)
    # Readers still see every object, wherever it lives.
    manifests = list_manifests(lake, "src", "ds")
    assert len(manifests) == 5
    assert {read_landed(lake, m) for m in manifests} == set(landed.values())


def test_dry_run_lists_and_moves_nothing(lake):
    landed = _land_aged(lake)
    report = run_lifecycle(lake, 30, dry_run=True, now=NOW)
    assert len(report.would_move) == 3 and report.moved == []
    assert _data_keys(lake, "bronze") == set(landed) and _data_keys(lake, "cold") == set()


@pytest.mark.parametrize("crash_on", ["first delete", "manifest delete", "copy"])
def test_a_crash_mid_move_then_a_rerun_loses_and_duplicates_nothing(lake, monkeypatch, crash_on):
    landed = _land_aged(lake)
    real_delete, real_copy = Lake.delete, Lake.copy_between
    calls = {"n": 0}

    def crashing_delete(self, layer, key):
        calls["n"] += 1
        if crash_on == "first delete" and calls["n"] == 1:
            raise RuntimeError("crash between copy and delete")
        if crash_on == "manifest delete" and key.endswith(MANIFEST) and calls["n"] == 2:
            raise RuntimeError("crash between deleting the object and its manifest")
        return real_delete(self, layer, key)

    def crashing_copy(self, *args):
        if crash_on == "copy":
            raise RuntimeError("crash during the copy")
        return real_copy(self, *args)

    monkeypatch.setattr(Lake, "delete", crashing_delete)
    monkeypatch.setattr(Lake, "copy_between", crashing_copy)
    with pytest.raises(RuntimeError, match="crash"):
        run_lifecycle(lake, 30, now=NOW)
    monkeypatch.setattr(Lake, "delete", real_delete)
    monkeypatch.setattr(Lake, "copy_between", real_copy)
    run_lifecycle(lake, 30, now=NOW)

    bronze, cold = _data_keys(lake, "bronze"), _data_keys(lake, "cold")
    assert bronze.isdisjoint(cold)  # never in both places
    assert bronze | cold == set(landed)  # never lost
    assert len(cold) == 3
    for key in cold:
        assert lake.read_bytes("cold", key) == landed[key]
    manifests_in_bronze = [
        k for k in lake.keys("bronze") if k.endswith(MANIFEST) and "_sha256" not in k
    ]
    assert len(manifests_in_bronze) == 2


def test_moves_are_audited(tmp_path):
    from blocks import audit

    lake = Lake.from_url(str(tmp_path / "lake"))
    _land_aged(lake)
    run_lifecycle(lake, 30, now=NOW)
    moves = [r for r in audit.read_records() if r["action"] == "LAKE_MOVE"]
    assert len(moves) == 3 and all(r["details"]["verified"] for r in moves)
    assert audit.verify().ok


def test_native_s3_lifecycle_rules(moto_endpoint, s3_bucket):
    lake = Lake.from_url(f"s3://{s3_bucket}/lake", endpoint_url=moto_endpoint)
    install_s3_lifecycle_rules(lake, 30)
    rules = boto3.client("s3", endpoint_url=moto_endpoint).get_bucket_lifecycle_configuration(
        Bucket=s3_bucket
    )["Rules"]
    [rule] = [r for r in rules if r["Filter"]["Prefix"] == "lake/bronze/"]
    assert rule["Transitions"][0]["Days"] == 30


def test_native_rules_merge_into_the_buckets_own_rules(moto_endpoint, s3_bucket):
    client = boto3.client("s3", endpoint_url=moto_endpoint)
    theirs = {
        "ID": "expire-tmp",
        "Status": "Enabled",
        "Filter": {"Prefix": "tmp/"},
        "Expiration": {"Days": 1},
    }
    client.put_bucket_lifecycle_configuration(
        Bucket=s3_bucket, LifecycleConfiguration={"Rules": [theirs]}
    )
    lake = Lake.from_url(f"s3://{s3_bucket}/merged", endpoint_url=moto_endpoint)
    install_s3_lifecycle_rules(lake, 30)
    install_s3_lifecycle_rules(lake, 90)  # again: Cofre's rule is replaced, not duplicated
    rules = {
        r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=s3_bucket)["Rules"]
    }
    assert rules["expire-tmp"]["Expiration"]["Days"] == 1
    [ours] = [r for name, r in rules.items() if name != "expire-tmp"]
    assert ours["Filter"]["Prefix"] == "merged/bronze/"
    assert ours["Transitions"][0]["Days"] == 90
