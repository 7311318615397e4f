"""The audit trail's head as an anchor: which trail, which record, and a MAC that proves it.

An anchor (`AuditHead`) is {seq, hash, record_ts, trail_id, home, anchored_at, run_id, reason,
mac}:
- `trail_id` is a keyed digest of the audit key: a keyring from another home gives another id;
- `home` fingerprints the trail's directory;
- `mac` is an HMAC, under a sub-key of the audit key, of every other field. Whoever can write
  the Prefect variable, the lake or a run summary, but not read the keyring, cannot make one
  that verifies: such an anchor is forged, and never blamed on the trail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import asdict, dataclass, replace
from typing import Any

from blocks.settings import CofreSettings

_TRAIL_ID_CONTEXT = b"cofre-audit-trail-id-v1"
_ANCHOR_CONTEXT = b"cofre-audit-anchor-v1"


@dataclass(frozen=True)
class AuditHead:
    """The trail's last record (seq, hash, ts), which trail and home, and the anchor's MAC."""

    seq: int
    hash: str
    record_ts: str | None
    trail_id: str
    home: str
    anchored_at: str
    run_id: str | None = None
    reason: str = ""
    mac: str | None = None  # None: unsigned (forged, or written before anchors were signed)

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

    def digest(self) -> str:
        """A short public digest of the whole anchor as found, to name it in an incident."""
        return hashlib.sha256(_canonical(self.as_dict()).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Anchor:
    source: str  # "lake mirror s3://...", "Prefect variable ...", "run summary ..."
    head: AuditHead
    kind: str = ""  # "mirror", "prefect" or "summary"


def trail_id(audit_key: bytes) -> str:
    """A public id of the audit key (safe to store): same key, same id; nothing about the key."""
    return hmac.new(audit_key, _TRAIL_ID_CONTEXT, hashlib.sha256).hexdigest()[:16]


def home_fingerprint(settings: CofreSettings) -> str:
    return hashlib.sha256(str(settings.resolved_audit_dir.resolve()).encode()).hexdigest()[:12]


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _mac(head: AuditHead, audit_key: bytes) -> str:
    key = hmac.new(audit_key, _ANCHOR_CONTEXT, hashlib.sha256).digest()
    body = {name: value for name, value in head.as_dict().items() if name != "mac"}
    return hmac.new(key, _canonical(body).encode(), hashlib.sha256).hexdigest()


def signed(head: AuditHead, audit_key: bytes) -> AuditHead:
    """`head` with its MAC under `audit_key` (the only way Cofre writes an anchor)."""
    return replace(head, mac=_mac(head, audit_key))


def authentic(head: AuditHead, audit_key: bytes) -> bool:
    """True when `head` carries a valid MAC under `audit_key` (so it is this trail's)."""
    if not isinstance(head.mac, str):
        return False
    try:
        return hmac.compare_digest(_mac(head, audit_key), head.mac)
    except (TypeError, ValueError):  # a field that is not JSON, a MAC that is not ASCII
        return False
