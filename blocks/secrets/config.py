"""`CofreConfig`: non-secret settings saved as a Prefect block (below env, above defaults).

The block names where the lake (bronze holds raw PII) and the warehouse live, so a writer of
the Prefect API who edits it could redirect them. It is sealed like the credentials blocks
(blocks/secrets/seal.py: HMAC over type, name and every field, keyed from the local keyring) and
`require_config` checks the seal before any value is used.

The keyring's location comes from settings, so the check takes an env-only settings object
(`blocks.env_settings.EnvOnlySettings`): loading the keyring never loads this block. Fields that
locate the keyring, the audit trail or the home are not in this block, and must never be.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field
from pydantic_core import to_jsonable_python

from blocks.env_settings import EnvOnlySettings, env_only_settings
from blocks.errors import BlockSealBroken, ConfigurationError
from blocks.secrets.keyring import Keyring, load_keyring
from blocks.secrets.seal import model_fields_for_seal, refusal
from blocks.secrets.sealed_block import SealedBlock

# Fields added after configs were first sealed: covered by the seal once set (setting one
# through the REST API breaks the seal), left out while unset.
_SEALED_WHEN_SET = ("warehouse_any_host", "olist_roots")


class CofreConfig(SealedBlock):
    """Shared, non-secret Cofre settings that a team saves once in the Prefect server.

    Select it with `COFRE_CONFIG_BLOCK=<name>`; save it with `cofre config set NAME`. Secrets
    never go here: they live in the encrypted credentials blocks, which this block only names.
    """

    _block_type_name = "Cofre Config"
    _block_type_slug = "cofre-config"

    lake_url: str | None = None
    lake_buckets: dict[str, str] | None = None
    s3_endpoint_url: str | None = None
    s3_credentials_block: str | None = None
    s3_sse: Literal["AES256", "aws:kms", "none"] | None = None
    warehouse_url: str | None = None
    sources: Literal["live", "snapshot", "auto"] | None = None
    warehouse_any_host: bool | None = Field(
        None,
        description="True lets a --warehouse flag or a flow's warehouse_url parameter name "
        "any PostgreSQL host while libpq takes the password from PGPASSWORD or ~/.pgpass; "
        "unset, that password goes only to COFRE_WAREHOUSE_URL's host and port.",
    )
    olist_roots: list[str] | None = Field(
        None,
        description="The directories Olist input may be read from (absolute paths). Set, a "
        "run's olist_dir (parameter, COFRE_OLIST_DIR, .env) must lie under one of them, "
        "symlinks and '..' resolved, and a synthetic run is refused "
        "(blocks/secrets/input_authority.py).",
    )
    seal: str = Field(
        "",
        description="HMAC over the block type, name and every field, keyed from the local "
        "keyring. Cofre refuses a config whose seal does not verify.",
    )

    @classmethod
    def sealed(cls, name: str, keyring: Keyring, **values: Any) -> Self:
        """A config with `values`, sealed for `name`. Save it only under `name`."""
        config = cls(**values)
        config.reseal(name, keyring)
        return config

    def seal_fields(self) -> dict[str, Any]:
        """Every field but the seal, None included, and any extra key an API writer added
        (Prefect blocks allow extras), so such a key breaks the seal too."""
        extras = to_jsonable_python(self.model_extra or {})
        fields = model_fields_for_seal(self)
        for name in _SEALED_WHEN_SET:  # so configs sealed before the field existed still verify
            if fields.get(name) is None:
                del fields[name]
        return {**extras, **fields}

    def values(self) -> dict[str, Any]:
        """The declared fields that are set (never the seal, never an extra key): what
        settings take from this block."""
        return {
            key: value for key, value in model_fields_for_seal(self).items() if value is not None
        }

    def seal_state(self, keyring: Keyring, name: str | None = None) -> str | None:
        """None when the seal verifies for `name` (default: the saved name), else which check
        fails: missing, unnamed, malformed, wrong_keyring or mismatch. No audit."""
        return self.seal_problem_for(name or self.block_name, keyring)

    def reseal(self, name: str, keyring: Keyring) -> None:
        """Seal the current values for `name`. Callers must have checked them (see
        `cofre config reseal`): resealing an attacker's edit would accept it."""
        self._seal_for(name, keyring)

    def _check_save_name(self, name: str | None) -> None:
        problem = self.seal_state(load_keyring(env_only_settings()), name) if name else "unnamed"
        if problem:
            raise ConfigurationError(
                f"Refusing to save cofre-config as {name!r}: its seal is not valid for that "
                f"name ({problem}). Save it with `cofre config set {name or 'NAME'}`."
            )

    def _replacing_update(self):
        from prefect.client.schemas.actions import BlockDocumentUpdate

        document = self._to_block_document(name=self.block_name, include_secrets=True)
        return BlockDocumentUpdate(
            block_schema_id=document.block_schema_id, data=document.data, merge_existing_data=False
        )

    def save(self, name: str | None = None, overwrite: bool = False, client: Any = None):
        """Prefect's `save`, refusing a name (or values) the config was not sealed for.

        Prefect's overwrite merges into the stored data, which would keep keys an API writer
        added; a second update replaces the data with exactly this config's fields."""
        from prefect.client.orchestration import get_client

        self._check_save_name(name)
        block_id = super().save(name=name, overwrite=overwrite, client=client)
        if overwrite:
            with get_client(sync_client=True) as sync_client:
                sync_client.update_block_document(block_id, self._replacing_update())
        return block_id

    async def asave(self, name: str | None = None, overwrite: bool = False, client: Any = None):
        from prefect.client.orchestration import get_client

        self._check_save_name(name)
        block_id = await super().asave(name=name, overwrite=overwrite, client=client)
        if overwrite:
            async with get_client() as async_client:
                await async_client.update_block_document(block_id, self._replacing_update())
        return block_id


def config_todo(name: str, check: str) -> str:
    """What to do about a config block that fails `check` (for `seal.refusal`)."""
    if check == "wrong_keyring":
        return (
            "Use the keyring that saved it (keyring file, or COFRE_FERNET_KEYS with "
            "COFRE_AUDIT_KEY), or save it again with "
            f"`cofre config set {name} --replace --set ...`."
        )
    return (
        f"Check its values with `cofre config show {name}`; then save it again with "
        f"`cofre config set {name} --replace --set field=value ...`, or run `cofre config "
        f"reseal {name}` once you have checked every value it shows."
    )


def _load(name: str) -> CofreConfig:
    try:
        return CofreConfig.load(name)
    except ValueError as exc:
        if "Unable to find block document" not in str(exc):
            raise
        raise ConfigurationError(
            f"No cofre-config block named {name!r} is saved in the Prefect server. Save one "
            f"with `cofre config set {name} --set field=value ...`, unset COFRE_CONFIG_BLOCK, "
            "or check PREFECT_API_URL points at the right server."
        ) from None


def load_unchecked(name: str) -> CofreConfig:
    """The saved config called `name`, seal NOT checked: for `cofre config show/reseal`, which
    show its values first. Raises `ConfigurationError` when none is saved or it is invalid."""
    try:
        return _load(name)
    except RuntimeError as exc:
        if "failed validation" not in str(exc):
            raise
        raise ConfigurationError(
            f"The saved cofre-config/{name} holds a value that is not valid (edited outside "
            f"Cofre?). Save it again with `cofre config set {name} --replace --set ...`."
        ) from None


def require_config(name: str, settings: EnvOnlySettings | None = None) -> CofreConfig:
    """Load the saved config `name` and check its seal before any value is used.

    `settings` locate the keyring and audit trail and must not come from this block (default
    `env_only_settings()`). Raises `ConfigurationError` (no such block) or `BlockSealBroken`
    (audited as SECURITY_INCIDENT: altered, unsealed, foreign-keyed or invalid config).
    """
    settings = settings or env_only_settings()
    try:
        config = _load(name)
    except RuntimeError as exc:  # a field edited into an invalid value
        if "failed validation" not in str(exc):
            raise
        raise _refusal(name, "invalid", settings) from None
    problem = config.seal_state(load_keyring(settings), name)
    if problem:
        raise _refusal(name, problem, settings)
    return config


def _refusal(name: str, check: str, settings: EnvOnlySettings) -> BlockSealBroken:
    return refusal(
        CofreConfig.get_block_type_slug(),
        "config",
        name,
        check,
        todo=config_todo(name, check),
        settings=settings,
    )
