"""Lifecycle: bronze objects older than N days move to cold storage, safely.

A move is: copy the object to `cold/<same key>`, verify size and sha256 against the bronze
manifest, copy the manifest, then delete the bronze object and finally its manifest. Every step
is idempotent, so a crash anywhere followed by a re-run neither loses nor duplicates an object:
- crash before the cold copy verifies: the bronze object is still there; the re-run copies again;
- crash after the copy, before the deletes: the re-run finds a verified cold copy and deletes;
- crash between deleting the object and its manifest: the re-run sees a manifest whose object
  is gone from bronze but verified in cold, and deletes the manifest.
The content index (`_sha256/`) stays in bronze so re-ingesting moved content stays a no-op.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from blocks import audit
from blocks.errors import LakeError
from blocks.lake import Lake
from tasks.bronze import MANIFEST, BronzeManifest
from validation.catalog import Layer


@dataclass(frozen=True)
class Candidate:
    manifest: BronzeManifest
    age_days: float


@dataclass
class LifecycleReport:
    days: int
    dry_run: bool
    moved: list[str] = field(default_factory=list)
    would_move: list[str] = field(default_factory=list)
    kept: int = 0
    bytes_moved: int = 0


def bronze_manifests(lake: Lake) -> list[BronzeManifest]:
    """Every manifest in bronze (not the content index)."""
    keys = [
        k for k in lake.keys(Layer.BRONZE) if k.endswith("/" + MANIFEST) and "/_sha256/" not in k
    ]
    return [BronzeManifest(**json.loads(lake.read_bytes(Layer.BRONZE, key))) for key in keys]


def find_candidates(lake: Lake, days: int, now: datetime | None = None) -> list[Candidate]:
    """Bronze objects fetched more than `days` days before `now`, oldest first."""
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=days)
    found = []
    for manifest in bronze_manifests(lake):
        fetched = datetime.fromisoformat(manifest.fetched_at)
        if fetched < cutoff:
            found.append(Candidate(manifest, (now - fetched).total_seconds() / 86400))
    return sorted(found, key=lambda c: c.manifest.fetched_at)


def _cold_copy_verified(lake: Lake, manifest: BronzeManifest) -> bool:
    key = manifest.key
    return (
        lake.exists(Layer.COLD, key)
        and lake.size(Layer.COLD, key) == manifest.bytes
        and lake.sha256(Layer.COLD, key) == manifest.sha256
    )


def move_to_cold(lake: Lake, manifest: BronzeManifest) -> None:
    """Move one object and its manifest to cold; safe to repeat after a crash at any step."""
    key, manifest_key = manifest.key, manifest.manifest_key
    if not _cold_copy_verified(lake, manifest):
        if not lake.exists(Layer.BRONZE, key):
            raise LakeError(
                f"{lake.url(Layer.BRONZE, key)} is gone and no verified copy is in cold storage: "
                "restore it from backup before running the lifecycle again."
            )
        lake.copy_between(Layer.BRONZE, Layer.COLD, key)
        if not _cold_copy_verified(lake, manifest):
            lake.delete(Layer.COLD, key)
            raise LakeError(
                f"The cold copy of {lake.url(Layer.BRONZE, key)} does not match its manifest "
                "(size or sha256); the bronze object was kept. Re-run the lifecycle."
            )
    if lake.exists(Layer.BRONZE, manifest_key):
        lake.write_bytes(Layer.COLD, manifest_key, lake.read_bytes(Layer.BRONZE, manifest_key))
    lake.delete(Layer.BRONZE, key)
    lake.delete(Layer.BRONZE, manifest_key)
    audit.record(
        audit.Action.LAKE_MOVE,
        lake.url(Layer.COLD, key),
        details={
            "from": lake.url(Layer.BRONZE, key),
            "sha256": manifest.sha256,
            "bytes": manifest.bytes,
            "verified": True,
        },
    )


def run_lifecycle(
    lake: Lake, days: int = 30, *, dry_run: bool = False, now: datetime | None = None
) -> LifecycleReport:
    """Move (or, with `dry_run`, list) every bronze object older than `days` days."""
    candidates = find_candidates(lake, days, now)
    report = LifecycleReport(days, dry_run, kept=len(bronze_manifests(lake)) - len(candidates))
    for candidate in candidates:
        url = lake.url(Layer.BRONZE, candidate.manifest.key)
        if dry_run:
            report.would_move.append(f"{url} ({candidate.age_days:.0f} days old)")
            continue
        move_to_cold(lake, candidate.manifest)
        report.moved.append(url)
        report.bytes_moved += candidate.manifest.bytes
    return report


def install_s3_lifecycle_rules(lake: Lake, days: int, storage_class: str = "GLACIER") -> dict:
    """The alternative for large lakes: let S3 transition bronze itself after `days` days.

    Native rules change an object's storage class in place (keys do not move to `cold/`), and
    they are not audited per object; Cofre's own move is. See docs/operations.md.

    The bucket's other rules are kept: S3 replaces the whole configuration on every put, so
    the existing rules are read first and only Cofre's rule for this lake's bronze prefix
    (found by its ID, which names the prefix) is replaced. Returns the configuration put.
    """
    if lake.is_local:
        raise LakeError("Native lifecycle rules need an S3/MinIO lake; this lake is local.")
    bucket, _, prefix = lake.roots[Layer.BRONZE].partition("/")
    bronze_prefix = f"{prefix}/" if prefix else ""
    rule_id = f"{COFRE_RULE_PREFIX}{bronze_prefix or '(bucket)'}"
    rule = {
        "ID": rule_id,
        "Status": "Enabled",
        "Filter": {"Prefix": bronze_prefix},
        "Transitions": [{"Days": days, "StorageClass": storage_class}],
    }
    client = lake.s3_client()
    kept = [r for r in _existing_rules(client, bucket) if r.get("ID") != rule_id]
    configuration = {"Rules": [*kept, rule]}
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=configuration)
    return configuration


COFRE_RULE_PREFIX = "cofre-bronze-transition:"  # + the bronze prefix: one rule per lake


def _existing_rules(client, bucket: str) -> list[dict]:
    from botocore.exceptions import ClientError

    try:
        return client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchLifecycleConfiguration":
            return []  # a bucket without rules
        raise
