"""The local keyring: Fernet keys (newest first) and the audit trail's HMAC key.

Keys come from `COFRE_FERNET_KEYS` (comma-separated, newest first; the host's secret manager
puts them there) or from a keyring file, by default `$COFRE_HOME/keyring.json`, mode 0600.
Encryption always uses the newest key; decryption tries every key (MultiFernet), which is
what makes rotation possible.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from blocks.env_settings import EnvOnlySettings, env_only_settings
from blocks.errors import DecryptionError, KeyringError
from validation.catalog import RUNS_PREFIX, Layer

KEYRING_VERSION = 1


def key_id(key: str) -> str:
    """A short public fingerprint of a key (safe to show, log and store)."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    """Fernet keys, newest first, plus the audit HMAC key. Never printed in full."""

    keys: tuple[str, ...]
    audit_key: bytes
    source: str  # "env" or the file path, for messages

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyringError(f"The keyring at {self.source} holds no Fernet key. {_HOW_TO}")

    def __repr__(self) -> str:
        return f"Keyring(source={self.source!r}, key_ids={list(self.key_ids)})"

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(key_id(k) for k in self.keys)

    @property
    def primary_id(self) -> str:
        return key_id(self.keys[0])

    def _fernet(self) -> MultiFernet:
        return MultiFernet([Fernet(k.encode()) for k in self.keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet().encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str, *, block: str, field: str) -> str:
        """Decrypt a token; a wrong key or a tampered token names the block and field."""
        try:
            return self._fernet().decrypt(token.encode()).decode()
        except (InvalidToken, ValueError, TypeError):
            raise DecryptionError(
                f"Cannot decrypt field {field!r} of block {block!r} with any of the "
                f"{len(self.keys)} key(s) in {self.source} (key ids {', '.join(self.key_ids)}). "
                "Either the token was altered, or the key that encrypted it is not in this "
                "keyring: supply it in COFRE_FERNET_KEYS or restore it to the keyring file, "
                "or save the secret again with `cofre secrets set`."
            ) from None

    def rotate_token(self, token: str, *, block: str, field: str) -> str:
        """Re-encrypt a token under the newest key (decrypting with any)."""
        try:
            return self._fernet().rotate(token.encode()).decode()
        except (InvalidToken, ValueError, TypeError):
            self.decrypt(token, block=block, field=field)  # raises the named error
            raise

    def encrypted_with_primary(self, token: str) -> bool:
        try:
            Fernet(self.keys[0].encode()).decrypt(token.encode())
            return True
        except InvalidToken:
            return False


_HOW_TO = (
    "Create a keyring with `cofre keys init`, or supply keys in COFRE_FERNET_KEYS "
    "(comma-separated, newest first; make one with `cofre keys generate`)."
)


def new_fernet_key() -> str:
    return Fernet.generate_key().decode()


def load_keyring(settings: EnvOnlySettings | None = None) -> Keyring:
    """The keyring from `COFRE_FERNET_KEYS` or the keyring file. Raises `KeyringError`."""
    settings = settings or env_only_settings()
    if settings.fernet_keys is not None:
        keys = tuple(k.strip() for k in settings.fernet_keys.get_secret_value().split(",") if k)
        _check_keys(keys, "COFRE_FERNET_KEYS")
        return Keyring(keys, _audit_key_for_env(settings, keys), "COFRE_FERNET_KEYS")
    path = settings.resolved_keyring_file
    if not path.exists():
        if evidence := existing_use(settings):
            raise _lost_keyring(path, evidence)
        raise KeyringError(
            f"No Fernet key: {path} does not exist and COFRE_FERNET_KEYS is unset. " + _HOW_TO
        )
    return _read_keyring_file(path)


def existing_use(settings: EnvOnlySettings) -> list[str]:
    """Local evidence that this home was used before (so a missing keyring was lost).

    Only what outlives a first run's first audit record counts: a non-empty trail, the lake
    mirror's head, run summaries. Bronze objects and warehouse.db do not, because a first
    run writes them before the record that creates the keyring.
    """
    trail = settings.resolved_audit_dir / "audit.jsonl"
    found = [str(trail)] if trail.exists() and trail.stat().st_size > 0 else []
    lake = settings.resolved_lake_url
    if settings.lake_buckets is None and "://" not in lake.removeprefix("file://"):
        root = Path(lake.removeprefix("file://")).expanduser()
        head = root / Layer.AUDIT / "_head.json"
        found += [str(head)] if head.exists() else []
        runs = root / Layer.GOLD / RUNS_PREFIX
        found += [str(runs)] if runs.is_dir() and any(runs.glob("*.json")) else []
    return found


def _lost_keyring(path: Path, evidence: list[str]) -> KeyringError:
    return KeyringError(
        f"The keyring {path} is missing, but this home was used before ({', '.join(evidence)}); "
        "refusing to create a new one, which would make every saved secret and the audit "
        "trail unverifiable. Restore the keyring file from backup (mode 0600), or supply the "
        "old keys in COFRE_FERNET_KEYS (and COFRE_AUDIT_KEY). If the key is truly lost, move "
        "the audit directory away as evidence and run `cofre keys init`."
    )


def _audit_key_for_env(settings: EnvOnlySettings, keys: tuple[str, ...]) -> bytes:
    if settings.audit_key is not None and settings.audit_key.get_secret_value():
        return settings.audit_key.get_secret_value().encode()
    path = settings.resolved_keyring_file
    if path.exists():
        return _read_keyring_file(path).audit_key
    # Derived from the oldest key so it survives adding newer ones; set COFRE_AUDIT_KEY
    # explicitly before retiring that key (docs/security.md).
    return hashlib.sha256(b"cofre-audit:" + keys[-1].encode()).digest()


def _check_keys(keys: tuple[str, ...], where: str) -> None:
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError, AttributeError):
            raise KeyringError(
                f"Key #{position} in {where} is not a valid Fernet key (32 url-safe base64 "
                "bytes). Generate one with `cofre keys generate`."
            ) from None


def _read_keyring_file(path: Path) -> Keyring:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyringError(
            f"Keyring file {path} is readable by group or others (mode {mode:04o}); refusing "
            f"to use it. Fix it with: chmod 600 {path}"
        )
    try:
        document = json.loads(path.read_text())
        keys = tuple(entry["key"] for entry in document["keys"])
        audit_key = base64.urlsafe_b64decode(document["audit_key"])
        if not audit_key:
            raise ValueError("empty audit key")
    except (ValueError, KeyError, TypeError, AttributeError, OSError):
        raise KeyringError(
            f"Keyring file {path} is not a Cofre keyring (expected JSON with 'keys' and "
            "'audit_key'). Restore it from backup, or move it away and run `cofre keys init`."
        ) from None
    _check_keys(keys, str(path))
    return Keyring(keys, audit_key, str(path))


def _write_keyring_file(
    path: Path,
    keys: list[dict],
    audit_key: bytes,
    rotation_pending: bool = False,
    create_only: bool = False,
) -> None:
    """Write atomically with mode 0600 from the first byte (never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    document = {
        "version": KEYRING_VERSION,
        "keys": keys,
        "audit_key": base64.urlsafe_b64encode(audit_key).decode(),
        "rotation_pending": rotation_pending,
    }
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    if create_only:
        try:  # a hard link never replaces: two processes racing to create cannot both win
            os.link(tmp, path)
        finally:
            os.unlink(tmp)
    else:
        os.replace(tmp, path)


def _file_entries(path: Path) -> tuple[list[dict], bytes]:
    _read_keyring_file(path)  # permission and format checks
    document = json.loads(path.read_text())
    return document["keys"], base64.urlsafe_b64decode(document["audit_key"])


def init_keyring_file(path: Path) -> Keyring:
    """Create a keyring file (mode 0600) with one Fernet key and an audit key."""
    exists = KeyringError(f"{path} already exists; use `cofre keys rotate` to add a key.")
    if path.exists():
        raise exists
    key = new_fernet_key()
    entry = {"id": key_id(key), "key": key, "created": datetime.now(UTC).isoformat()}
    try:
        _write_keyring_file(path, [entry], secrets.token_bytes(32), create_only=True)
    except FileExistsError:
        raise exists from None
    return _read_keyring_file(path)


def ensure_keyring(settings: EnvOnlySettings | None = None) -> Keyring:
    """The keyring, creating the default file on first use when no key is configured.

    Raises KeyringError instead of creating one when the home was used before
    (`existing_use`): a lost keyring is restored, never silently replaced.
    """
    settings = settings or env_only_settings()
    path = settings.resolved_keyring_file
    if settings.fernet_keys is None and not path.exists():
        if evidence := existing_use(settings):
            raise _lost_keyring(path, evidence)
        try:
            return init_keyring_file(path)
        except KeyringError:
            if not path.exists():
                raise  # another process created it between our check and our link: use theirs
    return load_keyring(settings)


def add_primary_key(path: Path) -> Keyring:
    """Put a new key first in the keyring file (older keys stay for decryption).

    The file records that a rotation is pending until `finish_rotation` clears it, so an
    interrupted rotation resumes with the same new key instead of adding another.
    """
    entries, audit_key = _file_entries(path)
    key = new_fernet_key()
    entry = {"id": key_id(key), "key": key, "created": datetime.now(UTC).isoformat()}
    _write_keyring_file(path, [entry, *entries], audit_key, rotation_pending=True)
    return _read_keyring_file(path)


def rotation_pending(path: Path) -> bool:
    return bool(path.exists() and json.loads(path.read_text()).get("rotation_pending"))


def finish_rotation(path: Path) -> None:
    entries, audit_key = _file_entries(path)
    _write_keyring_file(path, entries, audit_key, rotation_pending=False)


def remove_keys(path: Path, ids_to_remove: set[str]) -> Keyring:
    """Drop keys by id from the keyring file; the primary key can never be removed."""
    entries, audit_key = _file_entries(path)
    if entries and entries[0]["id"] in ids_to_remove:
        raise KeyringError("Refusing to retire the primary key; rotate first.")
    kept = [entry for entry in entries if entry["id"] not in ids_to_remove]
    _write_keyring_file(path, kept, audit_key, rotation_pending=rotation_pending(path))
    return _read_keyring_file(path)
