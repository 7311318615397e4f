"""Put the lake mirror (`audit/audit.jsonl`) back when the local trail is lost or cut.

The mirror is restored only if it verifies with this home's keyring and agrees with the
mirror's head; a local trail that is not a cut copy of it (it diverges) is replaced only with
`force`. Any local trail replaced is kept beside it as evidence, and the restore itself is
recorded as a SECURITY_INCIDENT, so the chain shows when and from where it happened.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from blocks.audit import trail as audit
from blocks.audit.anchor import contradiction, record_hashes
from blocks.audit.head import Anchor, AuditHead, authentic, trail_id
from blocks.audit.mirror import HEAD_KEY, first_difference, verify_bytes
from blocks.errors import AuditIntegrityError
from blocks.lake import Lake
from blocks.secrets.keyring import load_keyring
from blocks.settings import CofreSettings, load_settings
from validation.catalog import Layer


@dataclass(frozen=True)
class RestoreReport:
    restored: bool
    records: int  # records in the mirror
    source: str  # the mirror's URL
    evidence: Path | None  # where the replaced local trail was kept
    message: str


def restore_trail(
    settings: CofreSettings | None = None, *, lake: Lake | None = None, force: bool = False
) -> RestoreReport:
    """Restore the local trail from the lake mirror. Raises AuditIntegrityError when the mirror
    is missing, does not verify, or the local trail diverges from it (without `force`);
    KeyringError when the keyring is missing (restore it first: the mirror is checked with it).
    """
    settings = settings or load_settings()
    mirror = lake or Lake.from_settings(settings)
    source = mirror.url(Layer.AUDIT, audit.TRAIL_FILE)
    if not mirror.exists(Layer.AUDIT, audit.TRAIL_FILE):
        raise AuditIntegrityError(
            f"No lake mirror of the audit trail at {source}: nothing to restore from. Restore "
            f"{settings.resolved_audit_dir / audit.TRAIL_FILE} from a backup instead."
        )
    data = mirror.read_bytes(Layer.AUDIT, audit.TRAIL_FILE)
    records = _check_mirror(data, mirror, source, load_keyring(settings).audit_key)
    path = settings.resolved_audit_dir / audit.TRAIL_FILE
    local = path.read_bytes() if path.exists() else b""
    if local.startswith(data):
        return RestoreReport(False, records, source, None, _nothing(path, local, data))
    if not data.startswith(local) and not force:
        line = first_difference(local, data)
        raise AuditIntegrityError(
            f"The local trail {path} differs from the lake mirror {source} at line {line}: it is "
            "not a cut copy of it, so restoring would discard records. Keep it as evidence and "
            "investigate; `cofre audit restore --force` moves it aside and restores the mirror."
        )
    evidence = _replace(path, data, keep_old=bool(local))
    audit.record(
        audit.Action.SECURITY_INCIDENT,
        str(path),
        details={
            "event": "audit_trail_restored",
            "from": source,
            "records": records,
            "kept_as": str(evidence) if evidence else None,
        },
        outcome="warning",
        settings=settings,
    )
    kept = f"; the previous file is kept as {evidence}" if evidence else ""
    message = f"Restored {records} record(s) to {path} from {source}{kept}."
    return RestoreReport(True, records, source, evidence, message)


def _check_mirror(data: bytes, mirror: Lake, source: str, audit_key: bytes) -> int:
    report = verify_bytes(data, audit_key)
    if not report.ok:
        raise AuditIntegrityError(
            f"The lake mirror {source} does not verify with this home's keyring at line "
            f"{report.first_bad_line}: {report.reason}. Not restoring it; use a backup."
        )
    if mirror.exists(Layer.AUDIT, HEAD_KEY):
        head_url = mirror.url(Layer.AUDIT, HEAD_KEY)
        try:
            head = AuditHead.from_dict(json.loads(mirror.read_bytes(Layer.AUDIT, HEAD_KEY)))
        except ValueError as exc:
            raise AuditIntegrityError(f"Not restoring: {head_url} is unreadable ({exc}).") from None
        if head.mac is not None and not authentic(head, audit_key):
            raise AuditIntegrityError(
                f"Not restoring the lake mirror {source}: its head {head_url} is not this "
                "trail's (its MAC does not verify under this keyring's audit key), so a cut "
                "copy could not be told from a whole one. Restore the trail from a backup."
            )
        anchor = Anchor(head_url, head, "mirror")
        problem = contradiction(anchor, record_hashes(data), trail_id(audit_key), "it is empty")
        if problem:
            raise AuditIntegrityError(f"Not restoring the lake mirror {source}: {problem}.")
    return report.records


def _nothing(path: Path, local: bytes, data: bytes) -> str:
    newer = local[len(data) :].count(b"\n")
    extra = f" and {newer} newer record(s)" if newer else ""
    return f"Nothing to restore: {path} already holds every mirrored record{extra}."


def _replace(path: Path, data: bytes, *, keep_old: bool) -> Path | None:
    """Swap the mirror in atomically (0600), under the trail's append lock."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = os.open(path.parent / audit.LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        evidence = None
        if keep_old and path.exists():
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            evidence = path.with_name(f"{path.name}.before-restore-{stamp}")
            os.link(path, evidence)  # never overwrites an earlier piece of evidence
        tmp = path.with_name(f".{path.name}.restore-{secrets.token_hex(6)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return evidence
    finally:
        os.close(lock)
