"""Bronze landings: manifests, checksums, idempotent re-ingest, on local disk and S3."""

from __future__ import annotations

import hashlib
import json

import pytest

from blocks.lake import Lake
from tasks.bronze import MANIFEST, land_bronze, list_manifests


@pytest.fixture(params=["local", "s3"])
def lake(request, tmp_path) -> Lake:
    if request.param == "local":
        return Lake.from_url(str(tmp_path / "lake"))
    endpoint = request.getfixturevalue("moto_endpoint")
    return Lake.from_url(f"s3://{request.getfixturevalue('s3_bucket')}", endpoint_url=endpoint)


def test_landing_writes_data_and_a_manifest_whose_checksum_matches(lake):
    payload = b'"a","b"\n1,2\n'
    landing = land_bronze(
        lake, source="olist", dataset="orders", filename="o.csv", run_id="r1", data=payload, rows=1
    )
    manifest = landing.manifest
    assert landing.written
    assert manifest.key.startswith("olist/orders/ingest_date=")
    assert manifest.key.endswith("/run_id=r1/o.csv")
    stored = lake.read_bytes("bronze", manifest.key)
    assert stored == payload
    saved = json.loads(lake.read_bytes("bronze", manifest.manifest_key))
    assert saved["sha256"] == hashlib.sha256(stored).hexdigest()
    assert saved["bytes"] == len(payload)
    assert saved["rows"] == 1 and saved["source"] == "olist" and saved["run_id"] == "r1"
    assert manifest.manifest_key.endswith(MANIFEST)


def test_reingesting_identical_content_in_a_new_run_is_a_no_op(lake):
    first = land_bronze(lake, source="s", dataset="d", filename="f", run_id="r1", data=b"x")
    second = land_bronze(lake, source="s", dataset="d", filename="f", run_id="r2", data=b"x")
    assert first.written and not second.written
    assert second.manifest.run_id == "r1"
    data_keys = [k for k in lake.keys("bronze", "s/d") if k.endswith("/f")]
    assert len(data_keys) == 1


def test_new_content_lands_beside_the_old(lake):
    land_bronze(lake, source="s", dataset="d", filename="f", run_id="r1", data=b"v1")
    land_bronze(lake, source="s", dataset="d", filename="f", run_id="r2", data=b"v2")
    manifests = list_manifests(lake, "s", "d")
    assert [m.run_id for m in manifests] == ["r1", "r2"]
    assert {lake.read_bytes("bronze", m.key) for m in manifests} == {b"v1", b"v2"}


def test_landing_from_a_local_file_matches_its_bytes(lake, tmp_path):
    source = tmp_path / "file.csv"
    source.write_bytes(b"h\n" + b"row\n" * 1000)
    landing = land_bronze(
        lake, source="s", dataset="d", filename="file.csv", run_id="r", local_path=source
    )
    assert lake.read_bytes("bronze", landing.manifest.key) == source.read_bytes()
    assert landing.manifest.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()


def test_land_bronze_needs_exactly_one_payload(lake):
    with pytest.raises(ValueError, match="exactly one"):
        land_bronze(lake, source="s", dataset="d", filename="f", run_id="r")
