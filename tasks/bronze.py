"""Bronze: raw bytes exactly as received, each with a `_manifest.json`.

Key layout (../ARCHITECTURE.md): `bronze/<source>/<dataset>/ingest_date=YYYY-MM-DD/
run_id=<id>/<file>` next to its `_manifest.json`. A content index
(`<source>/<dataset>/_sha256/<hex>.json`) makes re-ingesting identical bytes a no-op, whatever
the run, while they are still the newest content of their file (content that came back after
other content lands again: silver reads the newest object). Order of writes: data, manifest,
index, so a reader that trusts only manifested objects never sees a partial landing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from blocks import audit
from blocks.lake import Lake, sha256_bytes, sha256_file
from validation.catalog import MANIFEST, Layer


@dataclass(frozen=True)
class BronzeManifest:
    """What the lake knows about one raw object."""

    source: str
    dataset: str
    file: str
    key: str
    sha256: str
    bytes: int
    rows: int | None
    fetched_at: str
    run_id: str
    ingest_date: str
    valid: bool = True
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_key(self) -> str:
        return self.key.rsplit("/", 1)[0] + "/" + MANIFEST

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=2, sort_keys=True).encode()


@dataclass(frozen=True)
class BronzeLanding:
    """A landing's manifest, and whether this call wrote it (False: content already known)."""

    manifest: BronzeManifest
    written: bool


def bronze_key(source: str, dataset: str, ingest_date: str, run_id: str, filename: str) -> str:
    return f"{source}/{dataset}/ingest_date={ingest_date}/run_id={run_id}/{filename}"


def _index_key(source: str, dataset: str, digest: str) -> str:
    return f"{source}/{dataset}/_sha256/{digest}.json"


def land_bronze(
    lake: Lake,
    *,
    source: str,
    dataset: str,
    filename: str,
    run_id: str,
    data: bytes | None = None,
    local_path: Path | str | None = None,
    rows: int | None = None,
    fetched_at: datetime | None = None,
    valid: bool = True,
    error: str | None = None,
    extra: dict[str, Any] | None = None,
    sha256: tuple[str, int] | None = None,
) -> BronzeLanding:
    """Land raw bytes (in memory or a local file) in bronze with their manifest.

    Content already landed for this source and dataset (same sha256) is not written again
    while it is still the newest valid object of its file: the existing manifest is returned
    with `written=False`. Content that other content has superseded since (A, then B, then A
    again) lands anew, so that the newest object, which silver reads, is what was fetched last.

    `sha256`: the local file's (sha256 hex, size) when the caller has just read it whole (the
    Olist check does): the file is then read once more, to copy it, and the copy must have
    those bytes (`Lake.put_file`).
    """
    if (data is None) == (local_path is None):
        raise ValueError("land_bronze needs exactly one of data= or local_path=")
    if data is not None:
        digest, size = sha256_bytes(data), len(data)
    else:
        digest, size = sha256 if sha256 is not None else sha256_file(local_path)
    known = find_by_sha256(lake, source, dataset, digest)
    if known is not None and (current := _current_landing(lake, known)) is not None:
        return BronzeLanding(current, written=False)
    fetched = (fetched_at or datetime.now(UTC)).astimezone(UTC)
    ingest_date = fetched.date().isoformat()
    key = bronze_key(source, dataset, ingest_date, run_id, filename)
    manifest = BronzeManifest(
        source=source,
        dataset=dataset,
        file=filename,
        key=key,
        sha256=digest,
        bytes=size,
        rows=rows,
        fetched_at=fetched.isoformat(),
        run_id=run_id,
        ingest_date=ingest_date,
        valid=valid,
        error=error,
        extra=extra or {},
    )
    if data is not None:
        lake.write_bytes(Layer.BRONZE, key, data)
    else:
        lake.put_file(Layer.BRONZE, key, local_path, sha256=(digest, size))
    lake.write_bytes(Layer.BRONZE, manifest.manifest_key, manifest.to_json())
    if known is None:  # the index names the content's first landing (bronze is immutable)
        lake.write_bytes(Layer.BRONZE, _index_key(source, dataset, digest), manifest.to_json())
    audit.record(
        audit.Action.LAKE_WRITE,
        lake.url(Layer.BRONZE, key),
        details={"sha256": digest, "bytes": size, "rows": rows, "run_id": run_id, "valid": valid},
        outcome="success" if valid else "warning",
        compliance="LGPD_NA",
    )
    return BronzeLanding(manifest, written=True)


def _current_landing(lake: Lake, known: BronzeManifest) -> BronzeManifest | None:
    """The landing of `known`'s content that is still current: `known` itself when it was
    not valid (kept as evidence), else the newest valid object of its file when that holds
    the same content; None when other content landed after it (so it must land again)."""
    if not known.valid:
        return known
    valid = [m for m in list_manifests(lake, known.source, known.dataset, file=known.file)
             if m.valid]  # fmt: skip
    if not valid:
        return known
    return valid[-1] if valid[-1].sha256 == known.sha256 else None


def find_by_sha256(lake: Lake, source: str, dataset: str, digest: str) -> BronzeManifest | None:
    index = _index_key(source, dataset, digest)
    if not lake.exists(Layer.BRONZE, index):
        return None
    return BronzeManifest(**json.loads(lake.read_bytes(Layer.BRONZE, index)))


def list_manifests(
    lake: Lake,
    source: str,
    dataset: str,
    layers: tuple[Layer, ...] = (Layer.BRONZE, Layer.COLD),
    *,
    file: str | None = None,
) -> list[BronzeManifest]:
    """Every landed object of a dataset (of one `file` of it, if given), oldest first (by
    fetched_at, then run_id).

    Objects the lifecycle moved to cold storage (same keys) are still listed: moving bytes to
    a cheaper layer must not make history disappear for readers.
    """
    suffix = "/" + (f"{file.rsplit('/', 1)[0]}/" if file and "/" in file else "") + MANIFEST
    found: dict[str, BronzeManifest] = {}
    for layer in layers:
        for key in lake.keys(layer, f"{source}/{dataset}"):
            if key.endswith(suffix) and key not in found:
                found[key] = BronzeManifest(**json.loads(lake.read_bytes(layer, key)))
    manifests = [m for m in found.values() if file is None or m.file == file]
    return sorted(manifests, key=lambda m: (m.fetched_at, m.run_id))


def read_landed(lake: Lake, manifest: BronzeManifest) -> bytes:
    """The bytes of a landed object, from bronze or (after the lifecycle moved it) cold."""
    layer = Layer.BRONZE if lake.exists(Layer.BRONZE, manifest.key) else Layer.COLD
    return lake.read_bytes(layer, manifest.key)
