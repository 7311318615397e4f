"""Bronze landings: manifests, checksums, idempotent re-ingest, on local disk and S3."""

from __future__ import annotations

import hashlib
import json

import pytest

from blocks.lake import Lake
from tasks.bronze import MANIFEST, land_bronze, list_manifests
from tasks.silver.olist import latest_bronze


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


def test_content_superseded_since_lands_again_so_the_newest_object_is_the_last_fetched(lake):
    # A, then B, then A again (a user back on the first set of files): were A's old landing
    # reused, the newest object would stay B and silver would publish B's numbers for a run
    # that read A.
    first = land_bronze(lake, source="s", dataset="d", filename="f", run_id="r1", data=b"A")
    land_bronze(lake, source="s", dataset="d", filename="f", run_id="r2", data=b"B")
    again = land_bronze(lake, source="s", dataset="d", filename="f", run_id="r3", data=b"A")
    assert again.written and again.manifest.run_id == "r3"
    assert again.manifest.sha256 == first.manifest.sha256
    assert [m.run_id for m in list_manifests(lake, "s", "d")] == ["r1", "r2", "r3"]
    manifest, data = latest_bronze(lake, "s", "d")
    assert (manifest.run_id, data) == ("r3", b"A")
    # Once it is the newest again, the same content is a no-op as before.
    fourth = land_bronze(lake, source="s", dataset="d", filename="f", run_id="r4", data=b"A")
    assert not fourth.written and fourth.manifest.run_id == "r3"


def test_other_files_of_a_dataset_do_not_supersede_each_other(lake):
    # Open-Meteo lands a file per state in one dataset: AC's unchanged payload stays a no-op
    # however many other states land after it.
    for run in ("r1", "r2"):
        names = {state: f"state={state}/daily.json" for state in ("AC", "AL", "AP")}
        landings = [
            land_bronze(lake, source="s", dataset="d", filename=name, run_id=run, data=s.encode())
            for s, name in names.items()
        ]
        assert [landing.written for landing in landings] == [run == "r1"] * 3
    assert len(list_manifests(lake, "s", "d", file="state=AL/daily.json")) == 1


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
