"""Anchors: the audit trail's head written outside the trail, so a cut, emptied, deleted or
swapped trail fails `cofre audit verify` instead of verifying as a shorter valid chain.

An anchor (`AuditHead`) is {seq, hash, record_ts, trail_id, home, anchored_at, run_id, reason}:
- `trail_id` is a keyed digest of the audit key: a keyring from another home gives another id;
- `home` fingerprints the trail's directory and names the Prefect Variable.
`anchor_audit_head` writes it to the lake mirror (`audit/audit.jsonl`, a copy of the trail to
restore from, then `audit/_head.json`) and to Prefect (blocks/audit_prefect.py), and returns it
for the run summary (`RunSummary.audit_head`, read back from `gold/_runs/*.json`).

The mirror is the lake's `audit/` prefix beside the layers (`<lake>/audit/`, `s3://b/p/audit/`);
with one bucket per layer (COFRE_LAKE_BUCKETS) it is the "audit" bucket if the mapping names one,
else `_audit/` in the gold bucket. A local file beside the trail would not do: whoever deletes
the trail deletes it too.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from blocks.audit import verify
from blocks.audit_file import GENESIS_HASH, LOCK_FILE, TRAIL_FILE, parse_record, trail_size
from blocks.audit_prefect import read_prefect_anchor, variable_name, write_prefect_anchor
from blocks.errors import AuditIntegrityError, CofreError, KeyringError
from blocks.keyring import ensure_keyring, load_keyring
from blocks.lake import Lake
from blocks.settings import CofreSettings, load_settings

MIRROR_LAYER = "audit"
HEAD_KEY = "_head.json"
# Where tasks/run_summary.py writes (`RUNS_PREFIX` under gold): blocks may not import tasks/,
# so the prefix is repeated here, and tests/flows/test_stage_reports.py keeps the two equal.
RUN_SUMMARIES = ("gold", "_runs")
_TRAIL_ID_CONTEXT = b"cofre-audit-trail-id-v1"
log = logging.getLogger("cofre.audit")


@dataclass(frozen=True)
class AuditHead:
    """The trail's last record (seq, hash, ts) and which trail and home it belongs to."""

    seq: int
    hash: str
    record_ts: str | None
    trail_id: str
    home: str
    anchored_at: str
    run_id: str | None = None
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> AuditHead:
        """Raises ValueError when `data` is not an audit head."""
        try:
            head = cls(**{name: data[name] for name in cls.__dataclass_fields__ if name in data})
        except (TypeError, KeyError) as exc:
            raise ValueError(f"not an audit head ({exc})") from None
        if not isinstance(head.seq, int) or not isinstance(head.hash, str):
            raise ValueError("not an audit head (seq or hash missing)")
        return head

    def describe(self) -> str:
        by = f"run {self.run_id}" if self.run_id else (self.reason or "an operator")
        return f"the anchor written at {self.anchored_at} by {by}"


@dataclass(frozen=True)
class Anchor:
    source: str  # "lake mirror s3://...", "Prefect variable ...", "run summary ..."
    head: AuditHead


def trail_id(audit_key: bytes) -> str:
    """A public id of the audit key (safe to store): same key, same id; nothing about the key."""
    return hmac.new(audit_key, _TRAIL_ID_CONTEXT, hashlib.sha256).hexdigest()[:16]


def home_fingerprint(settings: CofreSettings) -> str:
    return hashlib.sha256(str(settings.resolved_audit_dir.resolve()).encode()).hexdigest()[:12]


def audit_mirror(lake: Lake, buckets: Mapping[str, str] | None = None) -> Lake:
    """The same lake with an "audit" root for the mirror (the layers are left untouched)."""
    roots = lake.roots
    parents = {root.rsplit("/", 1)[0] for root in roots.values() if "/" in root}
    if buckets and buckets.get(MIRROR_LAYER):
        root = buckets[MIRROR_LAYER].strip("/")
    elif len(parents) == 1 and all(root.endswith(f"/{layer}") for layer, root in roots.items()):
        root = f"{parents.pop()}/{MIRROR_LAYER}"
    else:  # one bucket per layer and none named for the audit
        root = f"{roots['gold'].rstrip('/')}/_{MIRROR_LAYER}"
    mirror = copy.copy(lake)
    mirror.roots = {**roots, MIRROR_LAYER: root}
    return mirror


def snapshot(settings: CofreSettings) -> bytes:
    """The trail's bytes up to its last complete append (appends only ever add after it)."""
    directory = settings.resolved_audit_dir
    path = directory / TRAIL_FILE
    size = trail_size(path, directory / LOCK_FILE)
    if not size:
        return b""
    with open(path, "rb") as handle:
        return handle.read(size)


def record_hashes(data: bytes) -> dict[int, tuple[str, str | None]]:
    """seq -> (hash, ts) of every parseable line (unverified: `verify` checks the chain)."""
    found: dict[int, tuple[str, str | None]] = {}
    for raw in data.split(b"\n"):
        record = parse_record(raw) if raw else None
        if record is not None:
            found.setdefault(record["seq"], (record["hash"], record.get("ts")))
    return found


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def current_head(settings: CofreSettings, audit_key: bytes, data: bytes, **why: Any) -> AuditHead:
    hashes = record_hashes(data)
    seq = max(hashes, default=0)
    digest, ts = hashes.get(seq, (GENESIS_HASH, None))
    home = home_fingerprint(settings)
    return AuditHead(seq, digest, ts, trail_id(audit_key), home, _utc_now(), **why)


def contradiction(
    anchor: Anchor, hashes: Mapping[int, tuple[str, Any]], local_id: str | None, state: str
) -> str | None:
    """Why the trail contradicts `anchor`, or None. `state` says what the trail is when empty."""
    head, where = anchor.head, f"{anchor.head.describe()} ({anchor.source})"
    if local_id is not None and head.trail_id != local_id:
        return (
            f"{where} belongs to trail id {head.trail_id}, but this keyring's audit key gives "
            f"trail id {local_id}: the keyring (and likely the trail) was replaced by another "
            "home's"
        )
    last = max(hashes, default=0)
    if head.seq > last:
        ends = f"the trail ends at seq {last}" if last else state
        return f"{ends} but {where} says seq {head.seq}: records {last + 1}..{head.seq} are missing"
    found = hashes.get(head.seq, (GENESIS_HASH, None))[0]
    if found != head.hash:
        return (
            f"record seq {head.seq} does not match {where} (hash {found[:12]}… in the trail, "
            f"{head.hash[:12]}… anchored): the trail was replaced or rewritten"
        )
    return None


def _trail_state(settings: CofreSettings) -> str:
    path = settings.resolved_audit_dir / TRAIL_FILE
    return "the trail is empty" if path.exists() else f"the trail file {path} is missing"


def read_anchors(
    settings: CofreSettings, lake: Lake | None, *, prefect: bool = True, summaries: bool = True
) -> tuple[list[Anchor], list[str]]:
    """Every anchor reachable, and a note for each place that could not be read."""
    anchors: list[Anchor] = []
    notes: list[str] = []
    if lake is not None:
        mirror = audit_mirror(lake, settings.lake_buckets)
        _read_lake_anchor(mirror, MIRROR_LAYER, HEAD_KEY, "lake mirror", anchors, notes)
        if summaries:
            try:
                keys = [k for k in lake.keys(*RUN_SUMMARIES) if k.endswith(".json")]
            except Exception as exc:  # an unreachable lake is reported, not fatal
                notes.append(f"run summaries: not read ({type(exc).__name__}: {str(exc)[:160]})")
                keys = []
            for key in keys:
                _read_lake_anchor(lake, "gold", key, "run summary", anchors, notes, "audit_head")
    if prefect:
        value, note = read_prefect_anchor(home_fingerprint(settings))
        if note:
            notes.append(note)
        elif value is not None:
            source = f"Prefect variable {variable_name(home_fingerprint(settings))}"
            _add(anchors, notes, source, value)
    return anchors, notes


def _read_lake_anchor(lake, layer, key, what, anchors, notes, field: str | None = None) -> None:
    url = lake.url(layer, key)
    try:
        if not lake.exists(layer, key):
            return
        document = json.loads(lake.read_bytes(layer, key))
    except Exception as exc:
        notes.append(f"{what} {url}: not read ({type(exc).__name__}: {str(exc)[:160]})")
        return
    value = document.get(field) if field and isinstance(document, dict) else document
    if field is None or value is not None:
        _add(anchors, notes, f"{what} {url}", value)


def _add(anchors: list[Anchor], notes: list[str], source: str, value: Any) -> None:
    try:
        anchors.append(Anchor(source, AuditHead.from_dict(value)))
    except ValueError as exc:
        notes.append(f"{source}: {exc}")


def anchor_audit_head(
    lake: Lake, *, run_id: str | None, reason: str, settings: CofreSettings | None = None
) -> AuditHead:
    """Write the trail's head to the lake mirror and Prefect; return it for the run summary.

    Refuses (AuditIntegrityError) to anchor a trail whose chain fails or that contradicts an
    existing anchor: a cut or swapped trail must never be blessed by a new anchor. Raises the
    lake's errors when the mirror cannot be written; a Prefect failure is only a warning.
    """
    settings = settings or load_settings()
    audit_key = ensure_keyring(settings).audit_key
    data = snapshot(settings)
    report = verify(settings)
    if not report.ok:
        raise AuditIntegrityError(
            f"Refusing to anchor the audit trail {report.path}: it fails at line "
            f"{report.first_bad_line} (seq {report.first_bad_seq}): {report.reason}. See "
            "docs/operations.md, 'A broken audit trail'."
        )
    hashes = record_hashes(data)
    anchors, _ = read_anchors(settings, lake, summaries=False)
    state = _trail_state(settings)
    for anchor in anchors:
        if problem := contradiction(anchor, hashes, trail_id(audit_key), state):
            raise AuditIntegrityError(
                f"Refusing to anchor the audit trail: {problem}. Run `cofre audit verify`, and "
                "`cofre audit restore` if the lake mirror is intact."
            )
    head = current_head(settings, audit_key, data, run_id=run_id, reason=reason)
    mirror = audit_mirror(lake, settings.lake_buckets)
    mirror.write_bytes(MIRROR_LAYER, TRAIL_FILE, data)  # the copy first: the head never leads it
    mirror.write_bytes(MIRROR_LAYER, HEAD_KEY, json.dumps(head.as_dict(), indent=2).encode())
    if warning := write_prefect_anchor(head.as_dict(), _markdown(head)):
        log.warning("Audit head seq %s anchored in the lake only. %s", head.seq, warning)
    return head


def _markdown(head: AuditHead) -> str:
    rows = "\n".join(f"| {name} | `{value}` |" for name, value in head.as_dict().items())
    return f"# Audit trail head\n\n| field | value |\n|---|---|\n{rows}"


@dataclass(frozen=True)
class AnchoredReport:
    """The chain's own report, the anchors checked, what contradicts them, what was unreached."""

    chain: Any  # blocks.audit_verify.VerifyReport
    anchors: tuple[Anchor, ...]
    problems: tuple[str, ...]
    unreached: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


def verify_anchored(
    settings: CofreSettings | None = None, *, lake: Lake | None = None, prefect: bool = True
) -> AnchoredReport:
    """The chain check plus every reachable anchor (lake mirror, Prefect, run summaries).

    Raises KeyringError when the trail has records but the keyring is missing or corrupt.
    """
    settings = settings or load_settings()
    chain = verify(settings)
    try:
        local_id = trail_id(load_keyring(settings).audit_key)
    except KeyringError:
        local_id = None  # an empty or missing trail verifies without a key; seqs still compare
    notes: list[str] = []
    if lake is None:
        try:
            lake = Lake.from_settings(settings)
        except (CofreError, OSError) as exc:
            notes.append(f"lake: not reached ({str(exc)[:200]})")
    anchors, more = read_anchors(settings, lake, prefect=prefect)
    hashes = record_hashes(snapshot(settings))
    state = _trail_state(settings)
    problems = [p for a in anchors if (p := contradiction(a, hashes, local_id, state))]
    return AnchoredReport(chain, tuple(anchors), tuple(dict.fromkeys(problems)), (*notes, *more))
