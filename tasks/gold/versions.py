"""Gold as one version per run, made current by one atomic step.

Layout (keys of the gold layer):

    _versions/<run_id>/<table>/part-00000.parquet   every table of one run, together
    _versions/<run_id>/_manifest.json               the version manifest: the contract
    _current.json                                    the pointer: which version is current

A run writes its whole version beside the current one, seals it (the manifest lists every
table's rows, columns and files with sha256 and bytes), gates it, then rewrites `_current.json`
once: locally one `os.replace`, on S3 one PUT. Readers go through `read_current_gold`, which
reads the pointer once and checks every part against the manifest, so they never see tables of
two runs. The pointer also lists the previous versions kept (`KEEP_VERSIONS` in all); any other
version directory was left by a killed or failed run and is removed by the next gold run.
"""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from blocks import audit
from blocks.errors import InvalidSourceData, LakeError
from blocks.lake import Lake, sha256_bytes
from validation.catalog import GOLD_POINTER as POINTER
from validation.catalog import GOLD_STAGING, GOLD_TABLES, MANIFEST
from validation.catalog import GOLD_VERSIONS as VERSIONS

KEEP_VERSIONS = 3  # the current version and the two before it
FORMAT = 1
RERUN = "re-run the gold stage (python -m flows.gold)"


def version_key(version: str, key: str = "") -> str:
    """The gold-layer key of `key` inside `version` (`_versions/<version>/<key>`)."""
    if not version or "/" in version or version.startswith("."):
        raise LakeError(f"Gold version id {version!r} is not a plain name; use the run id.")
    return f"{VERSIONS}/{version}/{key}".rstrip("/")


# -- sealing and publishing ---------------------------------------------------------------
def _parts(lake: Lake, version: str, table: str) -> list[str]:
    return [k for k in lake.keys("gold", version_key(version, table)) if k.endswith(".parquet")]


def seal_version(
    lake: Lake, version: str, run_id: str, inputs: dict | None = None
) -> tuple[dict, str]:
    """Write `_versions/<version>/_manifest.json` over the files already in the version.

    `inputs`: the silver datasets it was built from (`tasks.lineage.silver_inputs`), sealed
    with it as the manifest's `inputs`. Returns (manifest, its sha256). Raises `LakeError`
    naming a table with no part file.
    """
    tables = {}
    for table in GOLD_TABLES:
        files, rows, columns = [], 0, {}
        for key in _parts(lake, version, table):
            data = lake.read_bytes("gold", key)
            rows += pq.ParquetFile(pa.BufferReader(data)).metadata.num_rows
            columns = {c: str(t) for c, t in pl.read_parquet_schema(io.BytesIO(data)).items()}
            files.append({"key": key, "sha256": sha256_bytes(data), "bytes": len(data)})
        if not files:
            raise LakeError(
                f"Gold version {version} has no part file for table {table} in "
                f"{lake.url('gold', version_key(version, table))}; {RERUN}."
            )
        tables[table] = {"rows": rows, "columns": columns, "files": files}
    manifest = {
        "format": FORMAT,
        "version": version,
        "run_id": run_id,
        "created": datetime.now(UTC).isoformat(),
        "tables": tables,
    }
    if inputs is not None:
        manifest["inputs"] = inputs
    data = json.dumps(manifest, indent=2).encode()
    lake.write_bytes("gold", version_key(version, MANIFEST), data)
    return manifest, sha256_bytes(data)


def publish_frames(lake: Lake, version: str, frames: Mapping[str, pl.DataFrame]) -> dict:
    """Write `frames` as gold version `version` and make it current (no Spark, no gate).

    For tools and tests that already hold checked gold frames; returns the new pointer.
    """
    for table, frame in frames.items():
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        lake.write_bytes(
            "gold", version_key(version, f"{table}/part-00000.parquet"), buffer.getvalue()
        )
    _, digest = seal_version(lake, version, version)
    pointer = make_current(lake, version, digest)
    prune_versions(lake)
    return pointer


def make_current(lake: Lake, version: str, manifest_sha256: str) -> dict:
    """THE atomic step: one write of `_current.json` (os.replace locally, one PUT on S3).

    The versions kept besides the new one travel in the same object, so retention moves with it.
    """
    try:
        old = read_pointer(lake)
    except InvalidSourceData:
        old = None  # unreadable: the new pointer starts a fresh history
    previous = []
    if old and old["version"] != version:
        previous = [{"version": old["version"], "manifest_sha256": old["manifest_sha256"]}]
        previous += [p for p in old.get("previous", []) if p["version"] != version]
    pointer = {
        "format": FORMAT,
        "version": version,
        "manifest_sha256": manifest_sha256,
        "made_current_at": datetime.now(UTC).isoformat(),
        "previous": previous[: KEEP_VERSIONS - 1],
    }
    lake.write_bytes("gold", POINTER, json.dumps(pointer, indent=2).encode())
    audit.record(
        audit.Action.LAKE_WRITE,
        lake.url("gold", POINTER),
        details={"layer": "gold", "run_id": version, "version": version,
                 "manifest_sha256": manifest_sha256,
                 "previous": [p["version"] for p in pointer["previous"]]},
    )  # fmt: skip
    return pointer


# -- reading ------------------------------------------------------------------------------
def read_pointer(lake: Lake) -> dict | None:
    """The current pointer, or None when there is none. Raises `InvalidSourceData` if unreadable."""
    if not lake.exists("gold", POINTER):
        return None
    try:
        pointer = json.loads(lake.read_bytes("gold", POINTER))
        readable = all(isinstance(pointer.get(k), str) for k in ("version", "manifest_sha256"))
    except (ValueError, AttributeError):
        readable = False
    if not readable:
        raise InvalidSourceData(
            f"The gold pointer {lake.url('gold', POINTER)} is unreadable; {RERUN} to publish "
            "a new version."
        )
    return pointer


def read_current_gold(lake: Lake) -> tuple[dict, dict[str, pl.DataFrame]]:
    """(version manifest, {table: frame}) of the current gold version, every part verified.

    Raises `InvalidSourceData` naming the table or file when there is no pointer, the pointer
    names a missing or incomplete version, a table is missing or holds a file of another
    version, or a checksum or row count disagrees with the manifest. Old-layout gold
    (`gold/<table>/`, no pointer) is refused too.
    """
    pointer = read_pointer(lake)
    if pointer is None:
        old = [t for t in GOLD_TABLES if lake.keys("gold", f"{t}/")]
        if old:
            raise InvalidSourceData(
                f"Gold in {lake.url('gold')} has the old table-by-table layout ({old[0]}/ and "
                f"{len(old) - 1} more) and no current version: run the gold stage once to "
                "publish a version (python -m flows.gold)."
            )
        raise InvalidSourceData(
            f"No current gold version in {lake.url('gold')} (no {POINTER}): run the gold "
            "stage first (python -m flows.gold)."
        )
    return read_gold_version(lake, pointer["version"], pointer["manifest_sha256"])


def _read_manifest(lake: Lake, version: str, expected_sha256: str | None) -> dict:
    key = version_key(version, MANIFEST)
    if not lake.exists("gold", key):
        state = "missing" if not lake.keys("gold", version_key(version)) else "incomplete"
        raise InvalidSourceData(
            f"Gold version {version} is {state}: {lake.url('gold', key)} does not exist (a run "
            f"was stopped while publishing it); {RERUN}."
        )
    data = lake.read_bytes("gold", key)
    if expected_sha256 and sha256_bytes(data) != expected_sha256:
        _incident(lake, key, version, "version manifest checksum differs from the pointer's")
        raise InvalidSourceData(
            f"The manifest of gold version {version} ({lake.url('gold', key)}) does not match "
            f"the checksum in {POINTER}: it was changed after publishing; {RERUN}."
        )
    manifest = json.loads(data)
    if manifest.get("version") != version:
        raise InvalidSourceData(
            f"{lake.url('gold', key)} describes version {manifest.get('version')!r}, not "
            f"{version}: gold tables would come from two versions; {RERUN}."
        )
    return manifest


def read_gold_version(
    lake: Lake, version: str, expected_sha256: str | None = None
) -> tuple[dict, dict[str, pl.DataFrame]]:
    """(manifest, {table: frame}) of one sealed version, every part checked (see above)."""
    manifest = _read_manifest(lake, version, expected_sha256)
    frames = {}
    for table in GOLD_TABLES:
        entry = manifest["tables"].get(table)
        if entry is None:
            raise InvalidSourceData(
                f"Gold version {version} has no table {table} in its manifest; {RERUN}."
            )
        frames[table] = _read_table(lake, version, table, entry)
    return manifest, frames


def _read_table(lake: Lake, version: str, table: str, entry: dict) -> pl.DataFrame:
    prefix = version_key(version, f"{table}/")
    listed = [f["key"] for f in entry["files"]]
    foreign = [k for k in listed if not k.startswith(prefix)]
    extra = sorted(set(_parts(lake, version, table)) - set(listed))
    if foreign or extra:
        raise InvalidSourceData(
            f"Gold table {table} of version {version} mixes in a file of another run "
            f"({(foreign or extra)[0]}); {RERUN}."
        )
    parts = []
    for item in entry["files"]:
        try:
            data = lake.read_bytes("gold", item["key"])
        except LakeError:
            raise InvalidSourceData(
                f"Gold table {table} of version {version} lacks {item['key']}; {RERUN}."
            ) from None
        if sha256_bytes(data) != item["sha256"] or len(data) != item["bytes"]:
            _incident(lake, item["key"], version, f"{table} part checksum mismatch")
            raise InvalidSourceData(
                f"Gold table {table}: {lake.url('gold', item['key'])} does not match its sha256 "
                f"in version {version}'s manifest (changed or truncated); {RERUN}."
            )
        parts.append(pl.read_parquet(io.BytesIO(data)))
    frame = pl.concat(parts, how="vertical_relaxed")
    if frame.height != entry["rows"]:
        raise InvalidSourceData(
            f"Gold table {table} of version {version} has {frame.height} rows, its manifest "
            f"says {entry['rows']}; {RERUN}."
        )
    return frame


def _incident(lake: Lake, key: str, version: str, reason: str) -> None:
    audit.record(
        audit.Action.SECURITY_INCIDENT,
        lake.url("gold", key),
        details={"version": version, "reason": reason},
        outcome="failure",
    )


# -- listing, retention, leftovers ----------------------------------------------------------
def _version_dirs(lake: Lake) -> list[str]:
    base = lake.path("gold", VERSIONS)
    if not lake.fs.exists(base):
        return []
    found = lake.fs.ls(base, detail=True)
    return sorted(
        p["name"].rstrip("/").rsplit("/", 1)[-1] for p in found if p["type"] == "directory"
    )


def kept_versions(pointer: dict | None) -> list[str]:
    """The versions a pointer keeps: current first, then the previous ones."""
    if not pointer:
        return []
    return [pointer["version"], *(p["version"] for p in pointer.get("previous", []))]


def list_versions(lake: Lake) -> list[dict]:
    """Every version directory, newest first: version, created, tables, rows, state
    (`current`, `kept`, or `unpublished` for what a stopped run left)."""
    try:
        kept = kept_versions(read_pointer(lake))
    except InvalidSourceData:
        kept = []
    rows = []
    for version in _version_dirs(lake):
        state = "current" if kept[:1] == [version] else "kept" if version in kept else "unpublished"
        row = {"version": version, "created": "", "tables": 0, "rows": 0, "state": state}
        key = version_key(version, MANIFEST)
        if lake.exists("gold", key):
            manifest = json.loads(lake.read_bytes("gold", key))
            tables = manifest.get("tables", {})
            row |= {"created": manifest.get("created", ""), "tables": len(tables),
                    "rows": sum(t["rows"] for t in tables.values())}  # fmt: skip
        rows.append(row)
    return sorted(rows, key=lambda r: (r["created"], r["version"]), reverse=True)


def _remove(lake: Lake, key: str) -> None:
    path = lake.path("gold", key)
    if lake.fs.exists(path):
        lake.fs.rm(path, recursive=True)


def prune_versions(lake: Lake, keep_also: Iterable[str] = ()) -> list[str]:
    """Delete every version directory the pointer does not keep (older than `KEEP_VERSIONS`,
    or left unpublished by a stopped run). Returns the versions removed, audited."""
    try:
        kept = set(kept_versions(read_pointer(lake))) | set(keep_also)
    except InvalidSourceData:
        return []  # never delete on an unreadable pointer: it may be the only record
    removed = [v for v in _version_dirs(lake) if v not in kept]
    for version in removed:
        _remove(lake, version_key(version))
    if removed:
        audit.record(
            audit.Action.LAKE_WRITE,
            lake.url("gold", VERSIONS),
            details={"layer": "gold", "removed_versions": removed, "kept": sorted(kept)},
        )
    return removed


def clean_leftovers(lake: Lake, scratch_root: Path | None) -> list[str]:
    """Remove what stopped gold runs left in this lake and home: unpublished versions, the
    old staging directories (`<lake>/.staging/gold-*`, `gold/_staging/`), `.tmp-` files under
    `gold/`, and this home's scratch directories (`<scratch_root>/gold-*`). Returns what went."""
    removed = [version_key(v) for v in prune_versions(lake)]
    if lake.exists("gold", GOLD_STAGING):
        _remove(lake, GOLD_STAGING)
        removed.append(GOLD_STAGING)
    if lake.is_local:
        gold = Path(lake.path("gold"))
        staging = gold.parent / ".staging"
        for path in sorted(staging.glob("gold-*")) if staging.is_dir() else []:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
        if staging.is_dir() and not any(staging.iterdir()):
            staging.rmdir()
        for path in sorted(gold.rglob("*.tmp-*")) if gold.is_dir() else []:
            path.unlink(missing_ok=True)
            removed.append(str(path))
    if scratch_root is not None and scratch_root.is_dir():
        for path in sorted(scratch_root.glob("gold-*")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(str(path))
    return removed


def remove_old_layout(lake: Lake) -> list[str]:
    """Delete `gold/<table>/` directories of the table-by-table layout (once a version is
    current nothing reads them)."""
    old = [t for t in GOLD_TABLES if lake.exists("gold", t)]
    for table in old:
        _remove(lake, table)
    return old
