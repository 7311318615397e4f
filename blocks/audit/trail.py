"""The audit trail: append-only, hash-chained JSON Lines in `$COFRE_HOME/audit/audit.jsonl`.

One line per record: `seq, ts, actor, action, target, details, outcome, compliance, prev_hash,
hash`. `hash` is HMAC-SHA256, keyed with the keyring's audit key, over `prev_hash` followed by
the canonical JSON of the record without `hash`. Editing, deleting, reordering or forging a
record therefore breaks the chain at that record, and nobody without the key can mend it.

Appends from any number of threads and processes serialise on an exclusive `flock` of
`audit.lock`; each append reads only the file's tail for the previous seq and hash, then
writes its line with one write + fsync. `verify` never raises for tampering: it returns a
`VerifyReport` naming the first bad record (blocks/audit/verification.py); `verify_or_raise` turns
that into an error. The locked file itself is blocks/audit/trail_file.py, the vocabulary of actions,
outcomes and compliance values blocks/audit/vocabulary.py.

Records never carry secrets or raw identifiers: `record` refuses secret-named details that are
not masked (blocks/audit/hygiene.py), and `hmac_identifier` turns a CPF, e-mail or customer id
into a keyed digest. The chain alone cannot show a cut tail or a swapped trail: the head is
anchored outside the file (blocks/audit/anchor.py), and `verify_anchored` checks both.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from blocks.audit.actor import current_actor
from blocks.audit.hygiene import choice as _choice
from blocks.audit.hygiene import normalised_details as _normalised_details
from blocks.audit.hygiene import refuse_secrets as _refuse_secrets
from blocks.audit.trail_file import (
    GENESIS_HASH,
    LOCK_FILE,
    TRAIL_FILE,
    exclusive_lock,
    first_record,
    fsync_directory,
    last_record,
    read_trail_records,
    shared_lock,
    write_all,
)
from blocks.audit.verification import VerifyReport, verify_chain
from blocks.audit.vocabulary import Action, Compliance, Outcome
from blocks.env_settings import EnvOnlySettings, env_only_settings
from blocks.errors import AuditIntegrityError, CofreError, KeyringError
from blocks.runtime import events
from blocks.secrets.keyring import Keyring, ensure_keyring, load_keyring

FIELDS = ("seq", "ts", "actor", "action", "target", "details", "outcome", "compliance",
          "prev_hash", "hash")  # fmt: skip
_IDENTIFIER_CONTEXT = b"cofre-audit-identifier-v1"


# -- the trail --------------------------------------------------------------------------------
def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


class AuditTrail:
    """One trail directory and the HMAC key that chains it. Safe across threads/processes."""

    def __init__(self, directory: Path | str, key: bytes, key_source: str = "this keyring") -> None:
        if not key:
            raise ValueError("An audit trail needs a non-empty HMAC key.")
        self.directory = Path(directory)
        self.key_source = key_source  # where the key came from, for messages (never the key)
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
        with exclusive_lock(self.lock_path):
            created = not self.path.exists()
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                last = last_record(fd, self.path)
                if last is not None and not self.authentic(last):
                    raise self._unverifiable(last)  # a wrong key never writes
                seq, prev_hash = (last["seq"], last["hash"]) if last else (0, GENESIS_HASH)
                record = {"seq": seq + 1, "ts": _utc_now(), **fields, "prev_hash": prev_hash}
                record["hash"] = self.digest(record)
                line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                write_all(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            if created:
                fsync_directory(self.directory)
        return record

    def read_records(self) -> list[dict[str, Any]]:
        """Every record, in file order, without checking the chain (use `verify` for that)."""
        return read_trail_records(self.path, self.lock_path)

    def verify(self) -> VerifyReport:
        """Recompute every HMAC and the seq/prev_hash links; report the first bad record."""
        return verify_chain(self)

    def authentic(self, record: dict | None) -> bool:
        """True when `record`'s hash is the HMAC of its content under this trail's key."""
        return record is not None and hmac.compare_digest(self.digest(record), record["hash"])

    def prove_key(self) -> None:
        """Raise unless this key verifies the trail's last record (an empty trail proves
        nothing and passes). Reads only; what `append` checks before every write."""
        if not self.path.exists():
            return
        with shared_lock(self.lock_path):
            fd = os.open(self.path, os.O_RDONLY)
            try:
                last = last_record(fd, self.path)
            finally:
                os.close(fd)
        if last is not None and not self.authentic(last):
            raise self._unverifiable(last)

    def _unverifiable(self, last: dict) -> CofreError:
        """A wrong key (nothing verifies) or a forged tail (the first record still does)."""
        if self.authentic(first_record(self.path)):
            return AuditIntegrityError(
                f"Refusing to append to {self.path}: its last record (seq {last['seq']}) does "
                "not verify with the audit key, though its first record does: the tail was "
                "forged or edited. Nothing was written. Run `cofre audit verify`, keep the file "
                "as evidence, then `cofre audit restore --force` (docs/operations.md, 'A "
                "broken audit trail')."
            )
        return KeyringError(
            f"The audit key from {self.key_source} does not verify the audit trail "
            f"{self.path} (neither its first record nor its last, seq {last['seq']}): it is "
            "not the key this trail was written with, so nothing was written. Supply this "
            "home's keys: restore its keyring file (mode 0600) or set COFRE_FERNET_KEYS (and "
            "COFRE_AUDIT_KEY) as when the trail was written; `cofre audit verify` checks a key "
            "without writing."
        )


# -- module-level API over settings + keyring -------------------------------------------------
@lru_cache(maxsize=16)
def _trail(directory: Path, key: bytes, key_source: str = "this keyring") -> AuditTrail:
    return AuditTrail(directory, key, key_source)


def _keyed_trail(settings: EnvOnlySettings, keyring: Keyring) -> AuditTrail:
    return _trail(_audit_dir(settings), keyring.audit_key, keyring.source)


def _audit_dir(settings: EnvOnlySettings) -> Path:
    # Resolved on every call, so a changed COFRE_HOME (or cwd) is never served from cache.
    return settings.resolved_audit_dir.resolve()


def record(
    action: Action | str,
    target: str,
    *,
    details: Mapping[str, Any] | None = None,
    outcome: str = "success",
    compliance: str = "LGPD_NA",
    settings: EnvOnlySettings | None = None,
) -> dict[str, Any]:
    """Append one audit record and return it exactly as written.

    Raises ValueError for an unknown action, outcome or compliance value, for details that hold
    an unmasked secret or key material (the value is never echoed) or are not plain JSON;
    AuditIntegrityError when the trail's last line is incomplete or its last record does not
    verify while its first does (a forged tail); KeyringError from the keyring, or when the
    key verifies neither (a wrong key never writes: see `prove_key`).
    Creates the keyring on first use (never in a home used before: KeyringError), and the trail
    (0600, directory 0700) if missing. SECURITY_INCIDENT and SOURCE_FALLBACK records are also
    sent as Prefect events (blocks/runtime/events.py), when there is a Prefect API to send them to.
    """
    # The trail's place and key are env-only settings: the saved config block may not move them.
    settings = settings or env_only_settings()
    trail = _keyed_trail(settings, ensure_keyring(settings))
    written = trail.append(action, target, details=details, outcome=outcome, compliance=compliance)
    # The one place incidents and fallbacks become Prefect events, whoever recorded them.
    events.audit_recorded(written, settings.home)
    return written


def prove_key(settings: EnvOnlySettings | None = None) -> Keyring:
    """A run's first audit step, before it writes or reads a secret: the keyring (created in
    a fresh home) must verify the trail's last record. Raises KeyringError for a key that is
    not this trail's, AuditIntegrityError for a forged tail; writes nothing to the trail."""
    settings = settings or env_only_settings()
    keyring = ensure_keyring(settings)
    _keyed_trail(settings, keyring).prove_key()
    return keyring


def hmac_identifier(value: str, settings: EnvOnlySettings | None = None) -> str:
    """Hex HMAC of a sensitive identifier, to put in details instead of the raw value."""
    settings = settings or env_only_settings()
    return _trail(_audit_dir(settings), ensure_keyring(settings).audit_key).hmac_identifier(value)


def read_records(settings: EnvOnlySettings | None = None) -> list[dict[str, Any]]:
    """Every record in file order (unverified). Raises AuditIntegrityError on a broken line."""
    directory = _audit_dir(settings or env_only_settings())
    return read_trail_records(directory / TRAIL_FILE, directory / LOCK_FILE)


def verify(settings: EnvOnlySettings | None = None) -> VerifyReport:
    """Check the whole chain; never raises for tampering. An empty or missing trail is ok.

    Raises KeyringError only when the trail has records but no keyring can be loaded.
    """
    settings = settings or env_only_settings()
    directory = _audit_dir(settings)
    path = directory / TRAIL_FILE
    if not path.exists() or path.stat().st_size == 0:
        return VerifyReport(True, 0, None, None, "the trail is empty", None, path)
    return _trail(directory, load_keyring(settings).audit_key).verify()


def verify_or_raise(settings: EnvOnlySettings | None = None) -> VerifyReport:
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
