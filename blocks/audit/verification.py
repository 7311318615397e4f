"""Verifying an audit trail's hash chain: find the first bad record and say what happened.

`verify_chain` recomputes every HMAC and the seq/prev_hash links and never raises for
tampering; it names the first bad record as edited, forged, wrong_key, deleted, reordered,
replayed, out_of_chain, truncated or invalid_json, looking past the bad line where that helps.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from blocks.audit.trail_file import GENESIS_HASH, parse_record, trail_lines, trail_size

if TYPE_CHECKING:
    from blocks.audit.trail import AuditTrail


@dataclass(frozen=True)
class VerifyReport:
    """What `verify` found. On failure, `records` counts the intact records before the break,
    `first_bad_seq` is the seq the chain expected there and `kind` is one of: edited, forged,
    wrong_key, deleted, reordered, replayed, out_of_chain, truncated, invalid_json."""

    ok: bool
    records: int
    first_bad_seq: int | None
    first_bad_line: int | None
    reason: str
    kind: str | None = None
    path: Path | None = None


def verify_chain(trail: AuditTrail) -> VerifyReport:
    """Recompute every HMAC and the seq/prev_hash links; report the first bad record."""
    size = trail_size(trail.path, trail.lock_path)
    count, prev_hash = 0, GENESIS_HASH
    for number, raw, complete in trail_lines(trail.path, size):
        record = parse_record(raw) if complete else None
        kind = _problem(trail, record, complete, count + 1, prev_hash)
        if kind is not None:
            kind, reason = _explain(trail, kind, number, record, count + 1, size)
            return VerifyReport(False, count, count + 1, number, reason, kind, trail.path)
        count, prev_hash = count + 1, record["hash"]
    return VerifyReport(True, count, None, None, f"all {count} records verify", None, trail.path)


def _problem(
    trail: AuditTrail, record: dict | None, complete: bool, seq: int, prev: str
) -> str | None:
    if not complete:
        return "truncated"
    if record is None:
        return "invalid_json"
    if not trail.authentic(record):
        return "hmac"
    if record["seq"] > seq:
        return "gap"
    if record["seq"] < seq:
        return "replayed"
    return None if record.get("prev_hash") == prev else "out_of_chain"


def _explain(
    trail: AuditTrail, kind: str, line: int, record: dict | None, seq: int, size: int
) -> tuple[str, str]:
    """Turn a problem into (kind, reason), looking past the bad line where that helps."""
    if kind == "truncated":
        return kind, "the last line is cut short (no trailing newline): a truncated tail"
    if kind == "invalid_json":
        return kind, f"line {line} is not a JSON audit record (invalid JSON or fields missing)"
    later = [
        parse_record(raw) for n, raw, whole in trail_lines(trail.path, size) if n > line and whole
    ]
    if kind == "hmac":
        return _explain_hmac(trail, line, record, later)
    if kind == "gap":
        moved = next((r for r in later if r and r["seq"] == seq), None)
        if moved is not None:
            return "reordered", (
                f"records are out of order: found seq {record['seq']} where seq {seq} "
                f"belongs, and seq {seq} comes later"
            )
        return "deleted", (
            f"seq gap: expected seq {seq} but found seq {record['seq']}: "
            f"record(s) {seq}..{record['seq'] - 1} were deleted"
        )
    if kind == "replayed":
        return kind, (
            f"seq {record['seq']} appears again after seq {seq - 1}: a replayed copy or a "
            "record moved out of order"
        )
    return kind, (
        f"record seq {seq} is out of chain: its prev_hash does not match the hash of record "
        f"{seq - 1} (spliced in from another trail or a fork)"
    )


def _explain_hmac(
    trail: AuditTrail, line: int, record: dict, later: list[dict | None]
) -> tuple[str, str]:
    after = later[0] if later else None
    if after and after.get("prev_hash") == record["hash"] and trail.authentic(after):
        return "edited", (
            f"record seq {record['seq']} was edited: its HMAC no longer matches its "
            "content, though the next record still links to it"
        )
    if line == 1 and not any(trail.authentic(r) for r in later):
        return "wrong_key", (
            "no record verifies with this audit key: the trail was written with another "
            "key (check COFRE_HOME, the keyring file, COFRE_AUDIT_KEY) or all were forged"
        )
    return "forged", (
        f"record seq {record['seq']} does not verify with the audit key and nothing after "
        "it links to it: written without the key (forged), or edited"
    )
