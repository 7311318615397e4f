"""Encrypted credential blocks: the Prefect server only ever stores Fernet ciphertext.

Secret fields hold Fernet tokens made with the local keyring; they are decrypted on access
(`reveal`) in the process that has the key, audited (SECRET_READ) and registered for log
redaction. Client objects (prefect-aws, prefect-sqlalchemy, s3fs options, psycopg
connections) are built at run time from the decrypted values and never saved.
"""

from __future__ import annotations

import base64
from typing import Any, ClassVar, Literal, Self

from prefect.blocks.core import Block
from pydantic import Field, PrivateAttr, model_validator
from pydantic_core import to_jsonable_python

from blocks.errors import BlockSealBroken, ConfigurationError, SecretNotFound
from blocks.keyring import Keyring, load_keyring
from blocks.redaction import MASK, register_secret
from blocks.seal import bind, binding_state, compute_seal, refusal, seal_problem, unbind

_FERNET_VERSION = 0x80


def looks_like_fernet_token(value: str) -> bool:
    """A cheap structural check (version byte and length), so plaintext is never saved."""
    try:
        raw = base64.urlsafe_b64decode(value.encode())
    except (ValueError, TypeError):
        return False
    return len(raw) >= 57 and raw[0] == _FERNET_VERSION


class EncryptedBlock(Block):
    """Base for blocks whose `_secret_fields` hold Fernet ciphertext only, sealed by name.

    Build one with `encrypt(name=..., **plaintext_values)` and save it under that name; load
    one with `require(name)` (checks the seal); read a secret with `reveal(field)`, which
    checks the seal before decrypting and the binding after (blocks/seal.py).
    """

    _secret_fields: ClassVar[tuple[str, ...]] = ()
    _kind: ClassVar[str] = ""
    _sealed_name: str | None = PrivateAttr(None)

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

    @property
    def block_name(self) -> str | None:
        """The saved name, or the name an unsaved block was sealed for."""
        return self._block_document_name or self._sealed_name

    @property
    def label(self) -> str:
        return f"{self.get_block_type_slug()}/{self.block_name or 'unsaved'}"

    def seal_fields(self) -> dict[str, Any]:
        """Every field but the seal, as JSON values (what the seal covers)."""
        return {
            name: to_jsonable_python(getattr(self, name))
            for name in type(self).model_fields
            if name != "seal"
        }

    def reseal(self, name: str, keyring: Keyring | None = None) -> None:
        """Seal the current values for `name`. Callers must have checked them (see
        `cofre secrets reseal`); resealing an attacker's edit would accept it."""
        keyring = keyring or load_keyring()
        self.seal = compute_seal(self.get_block_type_slug(), name, self.seal_fields(), keyring)
        self._sealed_name = name

    def check_seal(self, keyring: Keyring | None = None) -> None:
        """Raise `BlockSealBroken` (audited) unless the seal verifies for this block's name."""
        keyring = keyring or load_keyring()
        problem = seal_problem(
            self.get_block_type_slug(), self.block_name, self.seal_fields(), self.seal, keyring
        )
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
        from blocks.errors import DecryptionError

        try:
            for name in self._secret_fields:
                if getattr(self, name):
                    keyring.decrypt(getattr(self, name), block=self.label, field=name)
        except DecryptionError:
            return False
        return True

    def _check_save_name(self, name: str | None) -> None:
        keyring = load_keyring()
        problem = seal_problem(
            self.get_block_type_slug(), name, self.seal_fields(), self.seal, keyring
        )
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


class S3Credentials(EncryptedBlock):
    """S3 or MinIO credentials; secrets are Fernet ciphertext decrypted only in the worker."""

    _block_type_name = "Cofre S3 Credentials"
    _block_type_slug = "cofre-s3-credentials"
    _secret_fields = ("access_key_id", "secret_access_key")
    _kind = "s3"

    endpoint_url: str | None = Field(None, description="S3 API endpoint; empty for AWS.")
    access_key_id: str = Field(..., description="Fernet ciphertext of the access key id.")
    secret_access_key: str = Field(..., description="Fernet ciphertext of the secret key.")
    region: str | None = Field(None, description="AWS region, e.g. sa-east-1.")
    sse_mode: Literal["AES256", "aws:kms", "none"] = Field(
        "AES256", description="Server-side encryption requested on every write."
    )

    def s3fs_options(self) -> dict[str, Any]:
        """Keyword arguments for `s3fs.S3FileSystem` (built at run time, never saved)."""
        client_kwargs: dict[str, Any] = {}
        if self.endpoint_url:
            client_kwargs["endpoint_url"] = self.endpoint_url
        elif self.region:
            client_kwargs["region_name"] = self.region  # MinIO/moto reject a region here
        options: dict[str, Any] = {
            "key": self.reveal("access_key_id"),
            "secret": self.reveal("secret_access_key"),
            "client_kwargs": client_kwargs,
        }
        if self.sse_mode != "none":
            options["s3_additional_kwargs"] = {"ServerSideEncryption": self.sse_mode}
        return options

    def _client_parameters(self):
        from prefect_aws.client_parameters import AwsClientParameters

        return AwsClientParameters(endpoint_url=self.endpoint_url)

    def minio_credentials(self):
        """prefect-aws `MinIOCredentials` (unsaved) for this MinIO endpoint."""
        from prefect_aws import MinIOCredentials

        return MinIOCredentials(
            minio_root_user=self.reveal("access_key_id"),
            minio_root_password=self.reveal("secret_access_key"),
            region_name=self.region,
            aws_client_parameters=self._client_parameters(),
        )

    def aws_credentials(self):
        """prefect-aws `AwsCredentials` (unsaved)."""
        from prefect_aws import AwsCredentials

        return AwsCredentials(
            aws_access_key_id=self.reveal("access_key_id"),
            aws_secret_access_key=self.reveal("secret_access_key"),
            region_name=self.region,
            aws_client_parameters=self._client_parameters(),
        )


class PostgresCredentials(EncryptedBlock):
    """PostgreSQL credentials for the warehouse; the password is Fernet ciphertext."""

    _block_type_name = "Cofre PostgreSQL Credentials"
    _block_type_slug = "cofre-postgres-credentials"
    _secret_fields = ("password",)
    _kind = "postgres"

    host: str = Field("localhost", description="Server host name.")
    port: int = Field(5432, description="Server port.")
    database: str = Field("cofre", description="Database name.")
    user: str = Field("cofre", description="Role to connect as.")
    password: str = Field(..., description="Fernet ciphertext of the password.")
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = Field(
        "prefer", description="libpq sslmode."
    )

    def safe_url(self) -> str:
        """A SQLAlchemy URL with the password masked (for logs and messages)."""
        return f"postgresql+psycopg://{self.user}:{MASK}@{self.host}:{self.port}/{self.database}"

    def psycopg_connect(self, **kwargs: Any):
        """An open psycopg 3 connection."""
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            dbname=self.database,
            user=self.user,
            password=self.reveal("password"),
            sslmode=self.sslmode,
            **kwargs,
        )

    def sqlalchemy_connector(self):
        """prefect-sqlalchemy `SqlAlchemyConnector` (unsaved) using psycopg 3."""
        from prefect_sqlalchemy import ConnectionComponents, SqlAlchemyConnector

        return SqlAlchemyConnector(
            connection_info=ConnectionComponents(
                driver="postgresql+psycopg",
                host=self.host,
                port=self.port,
                database=self.database,
                username=self.user,
                password=self.reveal("password"),
                query={"sslmode": self.sslmode},
            )
        )


class ApiKey(EncryptedBlock):
    """An API key for an external source (OpenWeather)."""

    _block_type_name = "Cofre API Key"
    _block_type_slug = "cofre-api-key"
    _secret_fields = ("api_key",)
    _kind = "api-key"

    service: str = Field("openweather", description="Which API the key is for.")
    api_key: str = Field(..., description="Fernet ciphertext of the key.")


class MaskingKey(EncryptedBlock):
    """The HMAC key used to pseudonymise personal data before silver."""

    _block_type_name = "Cofre Masking Key"
    _block_type_slug = "cofre-masking-key"
    _secret_fields = ("key",)
    _kind = "masking-key"

    key: str = Field(..., description="Fernet ciphertext of the HMAC key.")


COFRE_BLOCKS: dict[str, type[EncryptedBlock]] = {
    cls._kind: cls for cls in (S3Credentials, PostgresCredentials, ApiKey, MaskingKey)
}
