"""Seals and bindings for Cofre credential blocks (no Prefect here: pure functions).

A writer of the Prefect API can edit any field of a saved block document. Two checks stop
that from making Cofre reveal a secret:

- **Seal**: an HMAC-SHA256 over the block type slug, the block name and the canonical JSON of
  every other field (ciphertext and non-secret values alike). The key is derived from the
  keyring's audit key, not from a Fernet key, so Fernet rotation and retirement leave seals
  valid (re-encryption still reseals, because the ciphertext is covered).
- **Binding**: each secret is encrypted as `cofre:v1:<slug>:<name>:<field>\\n<plaintext>`;
  a token moved to another block or field decrypts to the wrong context and is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from blocks.errors import BlockSealBroken
from blocks.secrets.keyring import Keyring

SEAL_VERSION = "v1"
_SEAL_CONTEXT = b"cofre-block-seal-v1"
_BINDING_VERSION = "cofre:v1"


def seal_key(keyring: Keyring) -> bytes:
    """The dedicated seal key: an HMAC of the audit key with a context string."""
    return hmac.new(keyring.audit_key, _SEAL_CONTEXT, hashlib.sha256).digest()


def seal_key_id(keyring: Keyring) -> str:
    """A public fingerprint of the seal key (tells a wrong keyring from an altered block)."""
    return hashlib.sha256(b"cofre-seal-key-id:" + seal_key(keyring)).hexdigest()[:12]


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def model_fields_for_seal(model: Any, exclude: tuple[str, ...] = ("seal",)) -> dict[str, Any]:
    """Every field of a pydantic model (a block) but `exclude`, as JSON values: what a seal
    covers, None values included (a field set later must break the seal)."""
    from pydantic_core import to_jsonable_python

    return {
        name: to_jsonable_python(getattr(model, name))
        for name in type(model).model_fields
        if name not in exclude
    }


def compute_seal(slug: str, name: str, fields: Mapping[str, Any], keyring: Keyring) -> str:
    """`v1:<seal key id>:<hex HMAC>` over type, name and every field (JSON values)."""
    message = canonical({"v": SEAL_VERSION, "type": slug, "name": name, "fields": dict(fields)})
    digest = hmac.new(seal_key(keyring), message.encode(), hashlib.sha256).hexdigest()
    return f"{SEAL_VERSION}:{seal_key_id(keyring)}:{digest}"


def seal_problem(
    slug: str, name: str | None, fields: Mapping[str, Any], seal: str, keyring: Keyring
) -> str | None:
    """None when `seal` is valid, else which check failed:
    `missing`, `unnamed`, `malformed`, `wrong_keyring` or `mismatch`."""
    if not seal:
        return "missing"
    if not name:
        return "unnamed"
    parts = seal.split(":")
    if len(parts) != 3 or parts[0] != SEAL_VERSION:
        return "malformed"
    if not hmac.compare_digest(parts[1], seal_key_id(keyring)):
        return "wrong_keyring"
    if not hmac.compare_digest(seal, compute_seal(slug, name, fields, keyring)):
        return "mismatch"
    return None


def binding_prefix(slug: str, name: str, field: str) -> str:
    return f"{_BINDING_VERSION}:{slug}:{name}:{field}\n"


def bind(plaintext: str, slug: str, name: str, field: str) -> str:
    """The text to encrypt: the context prefix, then the plaintext."""
    return binding_prefix(slug, name, field) + plaintext


def binding_state(decrypted: str, slug: str, name: str, field: str) -> str:
    """`bound` (to this block and field), `elsewhere` (another context) or `unbound` (legacy)."""
    if decrypted.startswith(binding_prefix(slug, name, field)):
        return "bound"
    if decrypted.startswith(f"{_BINDING_VERSION}:"):
        return "elsewhere"
    return "unbound"


def unbind(decrypted: str, slug: str, name: str, field: str) -> str:
    """The plaintext after the context prefix; call only when `binding_state` is `bound`."""
    return decrypted[len(binding_prefix(slug, name, field)) :]


_WHAT_FAILED = {
    "missing": "has no seal (saved by an earlier Cofre version or outside Cofre)",
    "unnamed": "has no name to check its seal against",
    "malformed": "has a malformed seal (edited outside Cofre)",
    "wrong_keyring": "was sealed with another keyring's seal key",
    "mismatch": "fails its seal check: its name or a field (host, port, endpoint, ciphertext, "
    "...) was changed outside Cofre",
    "invalid": "no longer validates (a field was edited outside Cofre)",
    "binding_elsewhere": "holds ciphertext bound to another block or field (it was moved)",
    "binding_unbound": "holds ciphertext bound to no block (not written by `cofre secrets set`)",
}


def refusal(
    slug: str,
    kind: str,
    name: str | None,
    check: str,
    field: str | None = None,
    *,
    todo: str | None = None,
    settings: Any = None,
) -> BlockSealBroken:
    """Audit a SECURITY_INCIDENT (names only, never values); return the error to raise.

    `todo` replaces the `cofre secrets ...` advice (the config block has its own commands);
    `settings` is passed to the audit (the config block's check must not load settings)."""
    from blocks import audit
    from blocks.runtime import events

    shown = name or "unsaved"
    where = f"Field {field!r} of block {slug}/{shown}" if field else f"Block {slug}/{shown}"
    audit.record(
        audit.Action.SECURITY_INCIDENT,
        f"{slug}/{shown}",
        details={"block_type": slug, "block_name": shown, "check": check, "field": field},
        outcome="failure",
        compliance="LGPD_WARNING",
        settings=settings,
    )
    error = BlockSealBroken(
        f"{where} {_WHAT_FAILED.get(check, check)}; nothing was decrypted or connected and a "
        f"SECURITY_INCIDENT was audited. {todo or _secrets_todo(kind, shown, check)}"
    )
    return events.mark_notified(error, events.SECURITY_INCIDENT)  # the run's failure is this


def _secrets_todo(kind: str, shown: str, check: str) -> str:
    if check == "wrong_keyring":
        return (
            "Use the keyring that saved it (keyring file, or COFRE_FERNET_KEYS with "
            f"COFRE_AUDIT_KEY), or save it again with `cofre secrets set {kind} {shown}`."
        )
    if check.startswith("binding"):
        return f"Save the secret again with `cofre secrets set {kind} {shown}`."
    return (
        f"Run `cofre secrets verify`; then save it again with `cofre secrets set {kind} "
        f"{shown}`, or run `cofre secrets reseal {shown}` once you have checked every "
        "value it shows."
    )
