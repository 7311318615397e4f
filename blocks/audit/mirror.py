"""The lake mirror of the audit trail: where it lives, and its copy compared record by record.

The mirror is the lake's `Layer.AUDIT` root, beside the layers (`<lake>/audit/`,
`s3://b/p/audit/`); with one bucket per layer (COFRE_LAKE_BUCKETS) it is the "audit" bucket if
the mapping names one, else `_audit/` in the gold bucket (blocks/lake/store.py). It holds
`audit.jsonl`, a copy of the trail to restore from, and `_head.json`, the anchor written after
it. A local file beside the trail would not do: whoever deletes the trail deletes it too.

`compare_copy` says whether the mirror's copy agrees with the local trail: a copy that is cut,
missing or edited is a damaged mirror; a copy holding records the local trail lacks (and that
verify with this key) means the local trail was cut; a copy no record of which verifies with
this key belongs to another trail.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from blocks.audit.trail import AuditTrail
from blocks.audit.trail_file import TRAIL_FILE, parse_record
from blocks.audit.verification import VerifyReport
from blocks.lake import Lake
from validation.catalog import Layer

HEAD_KEY = "_head.json"


def read_copy(lake: Lake) -> bytes | None:
    """The mirror's copy of the trail, or None when there is none. Raises the lake's errors."""
    if not lake.exists(Layer.AUDIT, TRAIL_FILE):
        return None
    return lake.read_bytes(Layer.AUDIT, TRAIL_FILE)


def verify_bytes(data: bytes, audit_key: bytes) -> VerifyReport:
    """The chain check of a trail held in memory (a mirror's copy), under `audit_key`."""
    with tempfile.TemporaryDirectory() as scratch:
        (Path(scratch) / TRAIL_FILE).write_bytes(data)
        return AuditTrail(scratch, audit_key).verify()


def last_seq(data: bytes) -> int:
    records = [parse_record(raw) for raw in data.split(b"\n") if raw]
    return max((r["seq"] for r in records if r is not None), default=0)


def first_difference(local: bytes, data: bytes) -> int:
    """The first line number at which two trails differ."""
    pairs = zip(local.split(b"\n"), data.split(b"\n"), strict=False)
    for number, (mine, theirs) in enumerate(pairs, 1):
        if mine != theirs:
            return number
    return min(local.count(b"\n"), data.count(b"\n")) + 1


def compare_copy(
    url: str, data: bytes | None, local: bytes, audit_key: bytes, *, head_seq: int | None,
    local_ok: bool, state: str,
) -> tuple[str, str] | None:  # fmt: skip
    """(verdict, why) when the mirror's copy at `url` disagrees with the local trail, else None.

    Verdicts: "damaged" (the copy is missing, cut or edited: the local trail is intact),
    "broken" (the copy holds records the local trail lacks or contradicts), "foreign" (no
    record of the copy verifies with this key: another trail's). `head_seq` is the seq of the
    mirror's authentic head (None: none), `state` what the local trail is when empty."""
    if data is None:
        if head_seq:
            return "damaged", (
                f"the lake mirror's copy of the trail {url} is missing, though the mirror's "
                f"head says seq {head_seq}: it was deleted"
            )
        return None
    if local.startswith(data):
        last = last_seq(data)
        if head_seq is not None and last < head_seq:
            ends = f"ends at seq {last}" if last else "is empty"
            return "damaged", (
                f"the lake mirror's copy of the trail {url} {ends} but the mirror's head says "
                f"seq {head_seq}: the copy was cut"
            )
        return None
    report = verify_bytes(data, audit_key)
    if report.kind == "wrong_key":
        return "foreign", f"no record of the lake mirror's copy {url} verifies with this audit key"
    if not report.ok:
        return "damaged", (
            f"the lake mirror's copy of the trail {url} fails at line {report.first_bad_line}: "
            f"{report.reason}"
        )
    have = last_seq(local)
    if data.startswith(local):
        ends = f"the trail ends at seq {have}" if have else state
        return "broken", (
            f"{ends} but the lake mirror's copy {url} holds records {have + 1}.."
            f"{last_seq(data)}, which verify with this key: they are missing from the trail"
        )
    line = first_difference(local, data)
    if not local_ok:
        return "broken", (
            f"the trail differs from the lake mirror's copy {url} from line {line}; the copy "
            "verifies with this key and the trail does not"
        )
    return "broken", (
        f"the trail and the lake mirror's copy {url} differ from line {line} and both verify "
        "with this key: one of them was rewritten by someone holding the key"
    )
