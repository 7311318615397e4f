"""`EncryptedBlock`: a sealed Prefect block whose secret fields hold Fernet ciphertext only.

Secret fields are encrypted with the local keyring and bound to (type, name, field); they are
decrypted on access (`reveal`) in the process that has the key, audited (SECRET_READ) and
registered for log redaction. The concrete blocks live in blocks/secrets/credentials.py.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar, Self

from pydantic import Field, model_validator

from blocks.errors import BlockSealBroken, ConfigurationError, DecryptionError, SecretNotFound
from blocks.runtime.redaction import MASK, register_secret
from blocks.secrets.keyring import Keyring, load_keyring
from blocks.secrets.seal import bind, binding_state, refusal, unbind
from blocks.secrets.sealed_block import SealedBlock

_FERNET_VERSION = 0x80


def looks_like_fernet_token(value: str) -> bool:
    """A cheap structural check (version byte and length), so plaintext is never saved."""
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (ValueError, TypeError):
        return False
    return len(raw) >= 57 and raw[0] == _FERNET_VERSION


class EncryptedBlock(SealedBlock):
    """Base for blocks whose `_secret_fields` hold Fernet ciphertext only, sealed by name.

    Build one with `encrypt(name=..., **plaintext_values)` and save it under that name; load
    one with `require(name)` (checks the seal); read a secret with `reveal(field)`, which
    checks the seal before decrypting and the binding after (blocks/secrets/seal.py).
    """

    _secret_fields: ClassVar[tuple[str, ...]] = ()
    _kind: ClassVar[str] = ""

    key_id: str = Field(
        "", description="Public fingerprint of the Fernet key that encrypted the secrets."
    )
    seal: str = Field(
        "",
        description="HMAC over the block type, name and every field, keyed from the local "
        "keyring. Cofre refuses a block whose seal does not verify.",
    )

    @model_validator(mode="after")
    def _secrets_are_ciphertext(self) -> Self:
        for name in self._secret_fields:
            value = getattr(self, name)
            if value and not looks_like_fernet_token(value):
                # Not a ValueError: pydantic would echo the (plaintext) input in its message.
                raise ConfigurationError(
                    f"Field {name!r} of {type(self).__name__} must hold Fernet ciphertext, not "
                    f"plaintext. Build the block with {type(self).__name__}.encrypt(...) or "
                    "`cofre secrets set`."
                )
        return self

    def __repr_args__(self):
        for name, value in super().__repr_args__():
            yield name, (MASK if name in self._secret_fields and value else value)

    @classmethod
    def encrypt(cls, keyring: Keyring | None = None, *, name: str, **values: Any) -> Self:
        """A block named `name`, its secrets bound to (type, name, field), encrypted under the
        primary key and sealed. Save it only under `name`."""
        keyring = keyring or load_keyring()
        slug = cls.get_block_type_slug()
        for field in cls._secret_fields:
            if values.get(field) is not None:
                values[field] = keyring.encrypt(bind(str(values[field]), slug, name, field))
        block = cls(key_id=keyring.primary_id, **values)
        block.reseal(name, keyring)
        return block

    @classmethod
    def require(cls, name: str, keyring: Keyring | None = None) -> Self:
        """Load a saved block by name and check its seal before anything is decrypted.

        Raises `SecretNotFound` (no such block) or `BlockSealBroken` (audited as
        SECURITY_INCIDENT: altered, unsealed or unloadable block).
        """
        try:
            block = cls.load(name)
        except ValueError as exc:
            if "Unable to find block document" not in str(exc):
                raise
            raise SecretNotFound(
                f"No {cls.get_block_type_name()} block named {name!r} is saved in the Prefect "
                f"server. Create it with `cofre secrets set {cls._kind} {name}`, or check "
                "PREFECT_API_URL points at the right server."
            ) from None
        except (RuntimeError, ConfigurationError) as exc:  # a field edited into an invalid value
            if isinstance(exc, RuntimeError) and "failed validation" not in str(exc):
                raise
            raise refusal(cls.get_block_type_slug(), cls._kind, name, "invalid") from None
        block.check_seal(keyring)
        return block

    def reseal(self, name: str, keyring: Keyring | None = None) -> None:
        """Seal the current values for `name`. Callers must have checked them (see
        `cofre secrets reseal`); resealing an attacker's edit would accept it."""
        self._seal_for(name, keyring or load_keyring())

    def check_seal(self, keyring: Keyring | None = None) -> None:
        """Raise `BlockSealBroken` (audited) unless the seal verifies for this block's name."""
        problem = self.seal_problem_for(self.block_name, keyring or load_keyring())
        if problem:
            raise self._refusal(problem)

    def _refusal(self, check: str, field: str | None = None) -> BlockSealBroken:
        return refusal(self.get_block_type_slug(), self._kind, self.block_name, check, field)

    def _decrypt_bound(self, field: str, keyring: Keyring, *, check_binding: bool = True) -> str:
        token = getattr(self, field)
        if not token:
            raise ConfigurationError(f"Block {self.label} has no value for {field!r}.")
        decrypted = keyring.decrypt(token, block=self.label, field=field)
        slug, name = self.get_block_type_slug(), self.block_name or ""
        state = binding_state(decrypted, slug, name, field)
        if state == "bound":
            return unbind(decrypted, slug, name, field)
        if check_binding:
            raise self._refusal(f"binding_{state}", field)
        return decrypted

    def reveal(self, name: str, keyring: Keyring | None = None) -> str:
        """Decrypt one secret field (audited as SECRET_READ, redacted from logs from now on).

        The seal is checked first and the binding after decrypting: `BlockSealBroken` when
        either fails, `DecryptionError` when no key of the keyring opens the token.
        """
        if name not in self._secret_fields:
            raise KeyError(f"{name!r} is not a secret field of {type(self).__name__}")
        keyring = keyring or load_keyring()
        self.check_seal(keyring)
        value = self._decrypt_bound(name, keyring)
        register_secret(value)
        _audit_secret_read(self.label, name, keyring)
        return value

    def verify(self, keyring: Keyring | None = None) -> None:
        """Check the seal and every secret's binding (plaintexts are discarded, not returned)."""
        keyring = keyring or load_keyring()
        self.check_seal(keyring)
        for field in self._secret_fields:
            if getattr(self, field):
                register_secret(self._decrypt_bound(field, keyring))
                _audit_secret_read(self.label, field, keyring, purpose="verify-binding")

    def rebind_for_reseal(self, keyring: Keyring) -> list[str]:
        """For `cofre secrets reseal`: bind legacy (unbound) secrets to this block and field.

        Returns the fields rebound. A secret bound to another block or field is refused
        (`BlockSealBroken`): it was moved here and must be set again.
        """
        name, rebound = self.block_name or "", []
        for field in self._secret_fields:
            if not getattr(self, field):
                continue
            decrypted = self._decrypt_bound(field, keyring, check_binding=False)
            state = binding_state(decrypted, self.get_block_type_slug(), name, field)
            if state == "elsewhere":
                raise self._refusal("binding_elsewhere", field)
            if state == "unbound":
                register_secret(decrypted)
                bound = bind(decrypted, self.get_block_type_slug(), name, field)
                setattr(self, field, keyring.encrypt(bound))
                rebound.append(field)
        if rebound:
            self.key_id = keyring.primary_id
        return rebound

    def reencrypt(self, keyring: Keyring) -> bool:
        """Re-encrypt every secret under the primary key and reseal; False when nothing
        changed. The seal is checked first, so rotation never launders an edited block."""
        self.check_seal(keyring)
        changed = False
        for name in self._secret_fields:
            token = getattr(self, name)
            if token and not keyring.encrypted_with_primary(token):
                setattr(self, name, keyring.rotate_token(token, block=self.label, field=name))
                changed = True
        if self.key_id != keyring.primary_id:
            self.key_id, changed = keyring.primary_id, True
        if changed:
            self.reseal(self.block_name or "", keyring)
        return changed

    def decryptable_with(self, keyring: Keyring) -> bool:
        """True when every secret decrypts with `keyring` (used before retiring keys)."""
        try:
            for name in self._secret_fields:
                if getattr(self, name):
                    keyring.decrypt(getattr(self, name), block=self.label, field=name)
        except DecryptionError:
            return False
        return True

    def _check_save_name(self, name: str | None) -> None:
        problem = self.seal_problem_for(name, load_keyring())
        if problem:
            raise ConfigurationError(
                f"Refusing to save {self.get_block_type_slug()} as {name!r}: its seal is not "
                f"valid for that name ({problem}; sealed for {self._sealed_name!r}). Build it "
                f"with {type(self).__name__}.encrypt(name={name!r}, ...) or "
                f"`cofre secrets set {self._kind} {name}`."
            )

    def save(self, name: str | None = None, overwrite: bool = False, client: Any = None):
        """Prefect's `save`, refusing a name (or values) the block was not sealed for."""
        self._check_save_name(name)
        return super().save(name=name, overwrite=overwrite, client=client)

    async def asave(self, name: str | None = None, overwrite: bool = False, client: Any = None):
        self._check_save_name(name)
        return await super().asave(name=name, overwrite=overwrite, client=client)


def _audit_secret_read(label: str, field: str, keyring: Keyring, purpose: str = "use") -> None:
    from blocks import audit

    audit.record(
        audit.Action.SECRET_READ,
        label,
        details={"field": field, "key_ids": list(keyring.key_ids), "purpose": purpose},
        compliance="LGPD_OK",
    )
