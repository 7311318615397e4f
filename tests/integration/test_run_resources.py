"""A run's resources are built once: one full pipeline on an S3 lake (moto) with sealed
credentials (a real Prefect API holds the block) builds its settings once and opens its lake
once, so each secret it reads is decrypted, and audited as SECRET_READ, once (issue 29
measured 13+ settings, 10 lakes and 20 SECRET_READ records per run)."""

from __future__ import annotations

from collections import Counter

import pytest

from blocks import audit
from blocks.lake import Lake
from blocks.secrets.keyring import ensure_keyring
from blocks.settings import CofreSettings, EnvOnlySettings
from tests.prefect_rest import cofre_ok, delete_all_cofre_blocks

BLOCK = "s3-run-resources"


@pytest.fixture
def sealed_s3(prefect_api, moto_endpoint, monkeypatch):
    """An S3 credentials block for the moto endpoint, named by the environment."""
    delete_all_cofre_blocks()
    ensure_keyring()
    monkeypatch.setenv("COFRE_SECRET_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("COFRE_SECRET_SECRET_ACCESS_KEY", "testing")
    cofre_ok("secrets", "set", "s3", BLOCK, "--set", f"endpoint_url={moto_endpoint}")
    monkeypatch.setenv("COFRE_S3_CREDENTIALS_BLOCK", BLOCK)
    monkeypatch.setenv("COFRE_S3_ENDPOINT_URL", moto_endpoint)
    yield BLOCK
    delete_all_cofre_blocks()


def _secret_reads() -> Counter:
    """(block, field) -> how many SECRET_READ records the trail holds."""
    records = audit.read_records(EnvOnlySettings())
    return Counter(
        (r["target"], r["details"]["field"]) for r in records if r["action"] == "SECRET_READ"
    )


def test_a_full_s3_run_builds_its_settings_and_lake_once_and_reads_each_secret_once(
    sealed_s3, s3_bucket, monkeypatch
):
    from flows.full_pipeline import full_pipeline

    built = []
    from_settings = Lake.from_settings.__func__

    def counted(cls, settings):
        built.append(settings.resolved_lake_url)
        return from_settings(cls, settings)

    monkeypatch.setattr(Lake, "from_settings", classmethod(counted))
    settings_built = []
    settings_init = CofreSettings.__init__

    def counted_settings(self, **flags):
        settings_built.append(flags)
        settings_init(self, **flags)

    monkeypatch.setattr(CofreSettings, "__init__", counted_settings)
    result = full_pipeline(synthetic_orders=300, lake=f"s3://{s3_bucket}", sources="snapshot")
    assert [row["status"] for row in result["stages"]] == ["completed"] * 4
    assert built == [f"s3://{s3_bucket}"]
    assert len(settings_built) == 1, settings_built
    reads = _secret_reads()
    assert set(reads) == {
        (f"cofre-s3-credentials/{BLOCK}", "access_key_id"),
        (f"cofre-s3-credentials/{BLOCK}", "secret_access_key"),
    }, reads
    assert set(reads.values()) == {1}, reads
