"""Helpers behind `cofre secrets`: collect values safely, describe saved blocks."""

from __future__ import annotations

import getpass
from typing import Any

from blocks.errors import BlockSealBroken, ConfigurationError, DecryptionError, SecretNotFound
from blocks.secrets.encrypted_block import EncryptedBlock
from blocks.secrets.keyring import Keyring, load_keyring
from blocks.settings import secret_from_env


def collect_values(cls: type[EncryptedBlock], assignments: list[str]) -> dict[str, Any]:
    """Field values from `field=value` flags, then COFRE_SECRET_<FIELD>, then a no-echo prompt."""
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep or name not in cls.model_fields or name in ("key_id", "seal"):
            fields = ", ".join(f for f in cls.model_fields if f not in ("key_id", "seal"))
            raise ConfigurationError(f"--set expects field=value with a field of: {fields}")
        values[name] = value
    for name in cls._secret_fields:
        if name in values:
            continue
        values[name] = secret_from_env(name) or _prompt(name)
        if not values[name]:
            raise ConfigurationError(f"No value given for secret field {name!r}.")
    return values


def _prompt(field: str) -> str:
    """A secret field's value from a prompt that does not echo. Raises `ConfigurationError`
    naming the variable to set when there is no one to ask (stdin closed or at its end)."""
    try:
        return getpass.getpass(f"{field} (not echoed): ")
    except EOFError:
        raise ConfigurationError(
            f"No value for secret field {field!r} and no input to prompt from (stdin is closed): "
            f"set COFRE_SECRET_{field.upper()} in the environment, or run this in a terminal."
        ) from None


def describe_saved_blocks() -> list[dict[str, str]]:
    """One row per saved Cofre credentials block, from the server's ciphertext-only copy."""
    from blocks.secrets.rotation import saved_documents

    return [
        {
            "kind": cls._kind,
            "name": doc.name,
            "key_id": str(doc.data.get("key_id", "")),
            "updated": str(getattr(doc, "updated", "") or ""),
        }
        for cls, doc in saved_documents()
    ]


# -- seals: `cofre secrets verify` and `cofre secrets reseal` ---------------------------------
def verify_saved_blocks(keyring: Keyring | None = None) -> list[tuple[str, str | None]]:
    """(label, None when sound else the refusal) for every saved Cofre block: seal, then
    every secret's binding. Each failure is audited as SECURITY_INCIDENT."""
    from blocks.secrets.rotation import saved_documents

    keyring = keyring or load_keyring()
    results: list[tuple[str, str | None]] = []
    for cls, doc in saved_documents():
        label = f"{cls.get_block_type_slug()}/{doc.name}"
        try:
            cls.require(doc.name, keyring).verify(keyring)
        except (BlockSealBroken, DecryptionError) as exc:
            results.append((label, str(exc)))
        else:
            results.append((label, None))
    return results


def find_saved_block(name: str, kind: str | None = None) -> EncryptedBlock:
    """The saved Cofre block called `name` (of `kind` when given), loaded WITHOUT checking its
    seal: for `cofre secrets reseal` only, which shows its values before sealing anything."""
    from blocks.secrets.rotation import saved_documents

    matches = [
        cls
        for cls, doc in saved_documents()
        if doc.name == name and (kind is None or cls._kind == kind)
    ]
    if not matches:
        raise SecretNotFound(
            f"No Cofre credentials block named {name!r}"
            + (f" of kind {kind}" if kind else "")
            + " is saved; `cofre secrets list` shows what is."
        )
    if len(matches) > 1:
        kinds = ", ".join(cls._kind for cls in matches)
        raise ConfigurationError(
            f"Several blocks are named {name!r} ({kinds}); choose one with --kind."
        )
    return matches[0].load(name)


def seal_state(block: EncryptedBlock, keyring: Keyring) -> str | None:
    """None when the seal verifies, else which check fails (no audit: for display)."""
    return block.seal_problem_for(block.block_name, keyring)


def public_values(block: EncryptedBlock) -> dict[str, Any]:
    """The non-secret fields an operator must check before resealing (never ciphertext)."""
    hidden = {*block._secret_fields, "seal"}
    return {name: value for name, value in block.seal_fields().items() if name not in hidden}


def reseal_block(block: EncryptedBlock, keyring: Keyring | None = None) -> list[str]:
    """Bind legacy secrets, seal the block's current values and save it; audited SECRET_WRITE.

    Only after the operator confirmed `public_values(block)`. Returns the fields rebound.
    Raises `BlockSealBroken` when a secret is bound to another block or field.
    """
    from blocks import audit

    keyring = keyring or load_keyring()
    name = block.block_name
    if not name:
        raise ConfigurationError("Only a saved block can be resealed.")
    previous = seal_state(block, keyring) or "valid"
    rebound = block.rebind_for_reseal(keyring)
    block.reseal(name, keyring)
    block.save(name, overwrite=True)
    audit.record(
        audit.Action.SECRET_WRITE,
        block.label,
        details={"resealed": True, "previous_seal": previous, "rebound_fields": rebound},
        compliance="LGPD_OK",
    )
    return rebound
