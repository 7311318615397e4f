"""Key rotation and retirement over every saved Cofre block.

Rotation: add a new primary key to the keyring file, re-encrypt every Cofre block document
under it (`MultiFernet.rotate`), then clear the keyring's "rotation pending" mark. A crash
anywhere leaves every block decryptable (old keys are still in the keyring) and the re-run
resumes with the same new key. Retirement removes old keys only when no saved block needs them.

Seals (blocks/secrets/seal.py) are keyed from the audit key, not a Fernet key: re-encryption checks
each block's seal first (an edited block stops the rotation) and reseals what it rewrites.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from blocks import audit
from blocks.errors import BlockSealBroken, KeyringError
from blocks.secrets.credentials import COFRE_BLOCKS
from blocks.secrets.encrypted_block import EncryptedBlock
from blocks.secrets.keyring import (
    Keyring,
    add_primary_key,
    finish_rotation,
    load_keyring,
    remove_keys,
    rotation_pending,
)
from blocks.settings import CofreSettings, load_settings


@dataclass
class RotationReport:
    primary_id: str
    resumed: bool
    reencrypted: list[str] = field(default_factory=list)
    already_current: list[str] = field(default_factory=list)


def saved_documents() -> list[tuple[type[EncryptedBlock], Any]]:
    """(class, block document) of every saved Cofre credentials block; ciphertext only."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound, PrefectHTTPStatusError

    found: list[tuple[type[EncryptedBlock], Any]] = []
    with get_client(sync_client=True) as client:
        for cls in COFRE_BLOCKS.values():
            try:
                documents = client.read_block_documents_by_type(
                    cls.get_block_type_slug(), include_secrets=False
                )
            except (ObjectNotFound, PrefectHTTPStatusError) as exc:
                if getattr(getattr(exc, "response", None), "status_code", 404) != 404:
                    raise
                continue  # the type was never registered, so nothing of it is saved
            found.extend((cls, doc) for doc in documents if doc.name)
    return sorted(found, key=lambda item: (item[0].get_block_type_slug(), item[1].name))


def saved_blocks() -> list[tuple[type[EncryptedBlock], str]]:
    """(class, name) of every Cofre credentials block saved in the Prefect server."""
    return [(cls, doc.name) for cls, doc in saved_documents()]


def sealed_blocks(keyring: Keyring) -> list[EncryptedBlock]:
    """Every saved Cofre block, each seal checked; raises `BlockSealBroken` naming every bad
    one (each audited) before anything is changed, so rotation never reseals an edited block."""
    blocks, broken = [], []
    for cls, name in saved_blocks():
        try:
            blocks.append(cls.require(name, keyring))
        except BlockSealBroken as exc:
            broken.append(str(exc))
    if broken:
        raise BlockSealBroken(
            f"{len(broken)} block(s) fail their seal; nothing was re-encrypted. "
            + " | ".join(broken)
        )
    return blocks


def reencrypt_all(keyring: Keyring) -> RotationReport:
    """Re-encrypt and reseal every saved Cofre block under the primary key (idempotent)."""
    report = RotationReport(keyring.primary_id, resumed=False)
    for block in sealed_blocks(keyring):
        name = block.block_name
        if block.reencrypt(keyring):
            block.save(name, overwrite=True)
            report.reencrypted.append(block.label)
        else:
            report.already_current.append(block.label)
    return report


def rotate_keys(settings: CofreSettings | None = None) -> RotationReport:
    """Add a primary key (unless resuming an interrupted rotation) and re-encrypt all blocks."""
    settings = settings or load_settings()
    path = _file_only(settings, "rotate")
    resumed = rotation_pending(path)
    if not resumed:
        sealed_blocks(load_keyring(settings))  # refuse before adding a key, not midway
    keyring = load_keyring(settings) if resumed else add_primary_key(path)
    report = reencrypt_all(keyring)
    report.resumed = resumed
    finish_rotation(path)
    audit.record(
        audit.Action.KEY_ROTATED,
        f"keyring/{keyring.primary_id}",
        details={
            "primary_key_id": keyring.primary_id,
            "reencrypted": report.reencrypted,
            "resumed": resumed,
        },
        compliance="LGPD_OK",
        settings=settings,
    )
    return report


def retire_keys(settings: CofreSettings | None = None) -> list[str]:
    """Remove every non-primary key, after checking no saved block still needs one."""
    settings = settings or load_settings()
    path = _file_only(settings, "retire")
    if rotation_pending(path):
        raise KeyringError("A rotation is unfinished; run `cofre keys rotate` again first.")
    keyring = load_keyring(settings)
    old = set(keyring.key_ids[1:])
    if not old:
        return []
    primary_only = Keyring(keyring.keys[:1], keyring.audit_key, keyring.source)
    blockers = [
        f"{cls.get_block_type_slug()}/{name}"
        for cls, name in saved_blocks()
        if not cls.load(name).decryptable_with(primary_only)
    ]
    if blockers:
        raise KeyringError(
            f"Not retiring: {', '.join(blockers)} still need an old key. Run "
            "`cofre keys reencrypt` (or `cofre keys rotate`) first."
        )
    remove_keys(path, old)
    audit.record(
        audit.Action.KEY_RETIRED,
        f"keyring/{keyring.primary_id}",
        details={"retired_key_ids": sorted(old)},
        compliance="LGPD_OK",
        settings=settings,
    )
    return sorted(old)


def _file_only(settings: CofreSettings, verb: str):
    if settings.fernet_keys is not None:
        raise KeyringError(
            f"Keys come from COFRE_FERNET_KEYS, which Cofre cannot edit. To {verb}: change the "
            "variable in your secret manager (new key first to rotate; drop old keys to retire), "
            "then run `cofre keys reencrypt`."
        )
    path = settings.resolved_keyring_file
    if not path.exists():
        raise KeyringError(f"No keyring file at {path}; create one with `cofre keys init`.")
    return path
