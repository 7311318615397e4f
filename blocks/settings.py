"""One settings object for the whole project.

Precedence, highest first: CLI flag (passed as keyword arguments) > `COFRE_*` environment
variable > `.env` in the working directory > the saved `CofreConfig` block named by
`COFRE_CONFIG_BLOCK` (read from the environment only) > embedded default.
Nothing here touches the network unless `COFRE_CONFIG_BLOCK` names a block to load.
"""

from __future__ import annotations

import os
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from blocks.env_settings import EnvOnlySettings, SourceMode

__all__ = ["CofreSettings", "EnvOnlySettings", "SourceMode", "load_settings"]


class CofreSettings(EnvOnlySettings):
    """Every knob Cofre reads: flags > `COFRE_*` > `.env` > the saved `CofreConfig` block >
    default."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings, SavedBlockSource(settings_cls))


class SavedBlockSource(PydanticBaseSettingsSource):
    """Values saved in a `CofreConfig` Prefect block, when `COFRE_CONFIG_BLOCK` names one.

    The block's seal is checked before any value is returned: a broken or missing seal
    raises `BlockSealBroken` (audited as SECURITY_INCIDENT), so an API writer cannot point
    the lake or warehouse elsewhere.
    """

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ returns the whole mapping

    def __call__(self) -> dict[str, Any]:
        name = os.environ.get("COFRE_CONFIG_BLOCK")
        if not name:
            return {}
        from blocks.secrets.config import (
            require_config,  # imports Prefect only when a block is asked for
        )

        # Flags and env so far (never this block) locate the keyring that checks the seal.
        checker = EnvOnlySettings(**self.current_state)
        saved = require_config(name, checker).values()
        return {key: value for key, value in saved.items() if key in self.settings_cls.model_fields}


def load_settings(**cli_flags: Any) -> CofreSettings:
    """Build settings; CLI flags given as None are treated as not given."""
    return CofreSettings(**{key: value for key, value in cli_flags.items() if value is not None})


def secret_from_env(field: str) -> str | None:
    """`COFRE_SECRET_<FIELD>`, the value `cofre secrets set` takes for a secret field when no
    `--set` gives it. Not a settings field: the names depend on the block kind, and a secret
    must never ride along in a settings object."""
    return os.environ.get(f"COFRE_SECRET_{field.upper()}") or None
