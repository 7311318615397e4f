"""The audit trail: append-only, hash-chained JSON Lines in `$COFRE_HOME/audit/audit.jsonl`.

One line per record: `seq, ts, actor, action, target, details, outcome, compliance, prev_hash,
hash`. `hash` is HMAC-SHA256, keyed with the keyring's audit key, over `prev_hash` followed by
the canonical JSON of the record without `hash`. Editing, deleting, reordering or forging a
record therefore breaks the chain at that record, and nobody without the key can mend it.

Appends from any number of threads and processes serialise on an exclusive `flock` of
`audit.lock`; each append reads only the file's tail for the previous seq and hash, then
writes its line with one write + fsync. `verify` never raises for tampering: it returns a
`VerifyReport` naming the first bad record; `verify_or_raise` turns that into an error.

Records never carry secrets or raw identifiers: `record` refuses secret-named details that are
not masked (blocks/audit_hygiene.py), and `hmac_identifier` turns a CPF, e-mail or customer id
into a keyed digest. The chain alone cannot show a cut tail or a swapped trail: the head is
anchored outside the file (blocks/audit_anchor.py), and `verify_anchored` checks both.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Any

from blocks.audit_actor import current_actor
from blocks.audit_hygiene import choice as _choice
from blocks.audit_hygiene import normalised_details as _normalised_details
from blocks.audit_hygiene import refuse_secrets as _refuse_secrets
from blocks.errors import AuditIntegrityError
from blocks.keyring import ensure_keyring, load_keyring
from blocks.settings import CofreSettings, load_settings

TRAIL_FILE = "audit.jsonl"
LOCK_FILE = "audit.lock"
GENESIS_HASH = "0" * 64
FIELDS = ("seq", "ts", "actor", "action", "target", "details", "outcome", "compliance",
          "prev_hash", "hash")  # fmt: skip
_READ_BLOCK = 64 * 1024
_IDENTIFIER_CONTEXT = b"cofre-audit-identifier-v1"


class Action(StrEnum):
    SECRET_READ = "SECRET_READ"  # noqa: S105 - an action name, not a password
    SECRET_WRITE = "SECRET_WRITE"  # noqa: S105
    KEY_ROTATED = "KEY_ROTATED"
    KEY_RETIRED = "KEY_RETIRED"
    LAKE_WRITE = "LAKE_WRITE"
    LAKE_MOVE = "LAKE_MOVE"
    MASKING_APPLIED = "MASKING_APPLIED"
    VALIDATION_PASSED = "VALIDATION_PASSED"
    VALIDATION_FAILED = "VALIDATION_FAILED"
    QUARANTINE = "QUARANTINE"
    WAREHOUSE_LOAD = "WAREHOUSE_LOAD"
    SECURITY_INCIDENT = "SECURITY_INCIDENT"
    SOURCE_FALLBACK = "SOURCE_FALLBACK"
    PIPELINE_RUN = "PIPELINE_RUN"


class Compliance(StrEnum):
    LGPD_OK = "LGPD_OK"
    LGPD_NA = "LGPD_NA"
    LGPD_WARNING = "LGPD_WARNING"
    LGPD_VIOLATION = "LGPD_VIOLATION"
    LGPD_PSEUDONYMIZED = "LGPD_PSEUDONYMIZED"
    LGPD_ANONYMIZED = "LGPD_ANONYMIZED"
    LGPD_PROCESSED = "LGPD_PROCESSED"


class Outcome(StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    WARNING = "warning"


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


# -- the trail --------------------------------------------------------------------------------
def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _lines(path: Path, size: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without newline, ended by a newline) for the first `size` bytes.
    Splits on b"\\n" only: str.splitlines would also split on U+2028 inside a value."""
    with open(path, "rb") as handle:
        pending, left, number = b"", size, 0
        while left > 0 and (block := handle.read(min(_READ_BLOCK, left))):
            left -= len(block)
            *complete, pending = (pending + block).split(b"\n")
            for raw in complete:
                number += 1
                yield number, raw, True
        if pending:
            yield number + 1, pending, False


def _parse(raw: bytes) -> dict[str, Any] | None:
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    usable = isinstance(record, dict) and isinstance(record.get("seq"), int)
    return record if usable and isinstance(record.get("hash"), str) else None


def _trail_size(path: Path, lock_path: Path) -> int:
    """The trail's size under a shared lock, so a reader never sees a half-written line."""
    if not path.exists():
        return 0
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # a read-only copy (evidence, backup): nobody is appending to it
        return path.stat().st_size
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        return path.stat().st_size
    finally:
        os.close(fd)


def _read_records(path: Path, lock_path: Path) -> list[dict[str, Any]]:
    records = []
    for number, raw, complete in _lines(path, _trail_size(path, lock_path)):
        record = _parse(raw) if complete else None
        if record is None:
            raise AuditIntegrityError(
                f"Audit trail {path} line {number} is not a complete "
                "record; run `verify` to see what happened to it."
            )
        records.append(record)
    return records


class AuditTrail:
    """One trail directory and the HMAC key that chains it. Safe across threads/processes."""

    def __init__(self, directory: Path | str, key: bytes) -> None:
        if not key:
            raise ValueError("An audit trail needs a non-empty HMAC key.")
        self.directory = Path(directory)
        self.path = self.directory / TRAIL_FILE
        self.lock_path = self.directory / LOCK_FILE
        self._key = bytes(key)
        self._identifier_key = hmac.new(self._key, _IDENTIFIER_CONTEXT, hashlib.sha256).digest()

    def __repr__(self) -> str:
        return f"AuditTrail({str(self.directory)!r})"  # never the key

    def hmac_identifier(self, value: str) -> str:
        """Keyed digest of a sensitive identifier (normalise it first: same input, same id)."""
        if not isinstance(value, str):
            raise TypeError(f"hmac_identifier takes a str, not {type(value).__name__}.")
        # A sub-key keeps identifier digests apart from the chain's record hashes.
        return hmac.new(self._identifier_key, value.encode(), hashlib.sha256).hexdigest()

    def digest(self, record: Mapping[str, Any]) -> str:
        body = {name: value for name, value in record.items() if name != "hash"}
        message = str(record.get("prev_hash")).encode() + _canonical(body).encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def append(
        self,
        action: str,
        target: str,
        *,
        details: Mapping[str, Any] | None = None,
        outcome: str = "success",
        compliance: str = "LGPD_NA",
    ) -> dict[str, Any]:
        """Append one record and return it as stored. See `record` for what it raises."""
        if isinstance(target, os.PathLike):
            target = os.fspath(target)
        if not isinstance(target, str):
            raise ValueError(f"Audit target must be a str, not {type(target).__name__}.")
        _refuse_secrets(target, "target")  # key material only: a target names, never holds
        fields = {
            "actor": current_actor(),
            "action": _choice(Action, action, "action"),
            "target": target,
            "details": _normalised_details(details),
            "outcome": _choice(Outcome, outcome, "outcome"),
            "compliance": _choice(Compliance, compliance, "compliance value"),
        }
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._exclusive():
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                seq, prev_hash = self._tail(fd)
                record = {"seq": seq + 1, "ts": _utc_now(), **fields, "prev_hash": prev_hash}
                record["hash"] = self.digest(record)
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                _write_all(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                _fsync_directory(self.directory)
        return record

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the lock

    def _tail(self, fd: int) -> tuple[int, str]:
        """(seq, hash) of the last record, reading backwards from the end of the file."""
        end = os.fstat(fd).st_size
        if end == 0:
            return 0, GENESIS_HASH
        start, data = end, b""
        while start > 0 and b"\n" not in data[:-1]:  # widen until the last line is whole
            start = max(0, start - 8192)
            data = os.pread(fd, end - start, start)
        record = _parse(data[:-1].rsplit(b"\n", 1)[-1]) if data.endswith(b"\n") else None
        if record is None:
            raise AuditIntegrityError(
                f"Refusing to append to {self.path}: its last line is not a complete record "
                "(a crash mid-write, or tampering). Run `cofre audit verify`, then `cofre audit "
                "restore` (from the lake mirror) or a backup before auditing resumes."
            )
        return record["seq"], record["hash"]

    def read_records(self) -> list[dict[str, Any]]:
        """Every record, in file order, without checking the chain (use `verify` for that)."""
        return _read_records(self.path, self.lock_path)

    def verify(self) -> VerifyReport:
        """Recompute every HMAC and the seq/prev_hash links; report the first bad record."""
        size = _trail_size(self.path, self.lock_path)
        count, prev_hash = 0, GENESIS_HASH
        for number, raw, complete in _lines(self.path, size):
            record = _parse(raw) if complete else None
            kind = self._problem(record, complete, count + 1, prev_hash)
            if kind is not None:
                kind, reason = self._explain(kind, number, record, count + 1, size)
                return VerifyReport(False, count, count + 1, number, reason, kind, self.path)
            count, prev_hash = count + 1, record["hash"]
        return VerifyReport(True, count, None, None, f"all {count} records verify", None, self.path)

    def _problem(self, record: dict | None, complete: bool, seq: int, prev: str) -> str | None:
        if not complete:
            return "truncated"
        if record is None:
            return "invalid_json"
        if not self._authentic(record):
            return "hmac"
        if record["seq"] > seq:
            return "gap"
        if record["seq"] < seq:
            return "replayed"
        return None if record.get("prev_hash") == prev else "out_of_chain"

    def _explain(
        self, kind: str, line: int, record: dict | None, seq: int, size: int
    ) -> tuple[str, str]:
        """Turn a problem into (kind, reason), looking past the bad line where that helps."""
        if kind == "truncated":
            return kind, "the last line is cut short (no trailing newline): a truncated tail"
        if kind == "invalid_json":
            return kind, f"line {line} is not a JSON audit record (invalid JSON or fields missing)"
        later = [_parse(raw) for n, raw, whole in _lines(self.path, size) if n > line and whole]
        if kind == "hmac":
            return self._explain_hmac(line, record, later)
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

    def _explain_hmac(self, line: int, record: dict, later: list[dict | None]) -> tuple[str, str]:
        after = later[0] if later else None
        if after and after.get("prev_hash") == record["hash"] and self._authentic(after):
            return "edited", (
                f"record seq {record['seq']} was edited: its HMAC no longer matches its "
                "content, though the next record still links to it"
            )
        if line == 1 and not any(self._authentic(r) for r in later):
            return "wrong_key", (
                "no record verifies with this audit key: the trail was written with another "
                "key (check COFRE_HOME, the keyring file, COFRE_AUDIT_KEY) or all were forged"
            )
        return "forged", (
            f"record seq {record['seq']} does not verify with the audit key and nothing after "
            "it links to it: written without the key (forged), or edited"
        )

    def _authentic(self, record: dict | None) -> bool:
        return record is not None and hmac.compare_digest(self.digest(record), record["hash"])


def _write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- module-level API over settings + keyring -------------------------------------------------
@lru_cache(maxsize=16)
def _trail(directory: Path, key: bytes) -> AuditTrail:
    return AuditTrail(directory, key)


def _audit_dir(settings: CofreSettings) -> Path:
    # Resolved on every call, so a changed COFRE_HOME (or cwd) is never served from cache.
    return settings.resolved_audit_dir.resolve()


def record(
    action: Action | str,
    target: str,
    *,
    details: Mapping[str, Any] | None = None,
    outcome: str = "success",
    compliance: str = "LGPD_NA",
    settings: CofreSettings | None = None,
) -> dict[str, Any]:
    """Append one audit record and return it exactly as written.

    Raises ValueError for an unknown action, outcome or compliance value, for details that hold
    an unmasked secret or key material (the value is never echoed) or are not plain JSON;
    AuditIntegrityError when the trail's last line is incomplete; KeyringError from the keyring.
    Creates the keyring on first use (never in a home used before: KeyringError), and the trail
    (0600, directory 0700) if missing.
    """
    settings = settings or load_settings()
    trail = _trail(_audit_dir(settings), ensure_keyring(settings).audit_key)
    return trail.append(action, target, details=details, outcome=outcome, compliance=compliance)


def hmac_identifier(value: str, settings: CofreSettings | None = None) -> str:
    """Hex HMAC of a sensitive identifier, to put in details instead of the raw value."""
    settings = settings or load_settings()
    return _trail(_audit_dir(settings), ensure_keyring(settings).audit_key).hmac_identifier(value)


def read_records(settings: CofreSettings | None = None) -> list[dict[str, Any]]:
    """Every record in file order (unverified). Raises AuditIntegrityError on a broken line."""
    directory = _audit_dir(settings or load_settings())
    return _read_records(directory / TRAIL_FILE, directory / LOCK_FILE)


def verify(settings: CofreSettings | None = None) -> VerifyReport:
    """Check the whole chain; never raises for tampering. An empty or missing trail is ok.

    Raises KeyringError only when the trail has records but no keyring can be loaded.
    """
    settings = settings or load_settings()
    directory = _audit_dir(settings)
    path = directory / TRAIL_FILE
    if not path.exists() or path.stat().st_size == 0:
        return VerifyReport(True, 0, None, None, "the trail is empty", None, path)
    return _trail(directory, load_keyring(settings).audit_key).verify()


def verify_or_raise(settings: CofreSettings | None = None) -> VerifyReport:
    """`verify`, raising AuditIntegrityError (file, line, seq, next steps) when it fails."""
    report = verify(settings)
    if not report.ok:
        raise AuditIntegrityError(
            f"Audit trail {report.path} fails verification at line {report.first_bad_line} "
            f"(seq {report.first_bad_seq}): {report.reason}. Records from there on cannot be "
            "trusted. Keep the file as evidence, investigate it as a SECURITY_INCIDENT (who "
            "could write to it or read the keyring?), then restore it with `cofre audit "
            "restore --force` (the lake mirror audit/audit.jsonl, checked before use) or from a "
            "backup (docs/operations.md, 'A broken audit trail')."
        )
    return report
