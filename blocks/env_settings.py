"""Cofre's settings, read from CLI flags, `COFRE_*` environment variables and `./.env` only.

Precedence, highest first: flag > environment variable > `.env` in the working directory >
embedded default. `blocks/settings.py` builds `CofreSettings` on these fields, adding the saved
`CofreConfig` block below `.env`. This env-only form locates the keyring, the audit trail and the
home (`COFRE_HOME`, `COFRE_KEYRING_FILE`, `COFRE_FERNET_KEYS`, `COFRE_AUDIT_KEY`,
`COFRE_AUDIT_DIR`), which check that block's seal: the keyring, the audit trail and the config
block import this module, never `blocks.settings`, so the check cannot recurse.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import threading
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from blocks.errors import ConfigurationError
from blocks.runtime.redaction import redact

SourceMode = Literal["live", "snapshot", "auto"]

# `COFRE_*` variables read outside the settings model (a name here is not "unknown").
OTHER_VARIABLES = (
    "COFRE_CONFIG_BLOCK",  # blocks/settings.py: the saved CofreConfig block
    "COFRE_DEBUG",  # blocks/errors.py: tracebacks on failure
    "COFRE_ALERT_WEBHOOK_URL",  # cofre automations install
    "COFRE_SPARK_EXECUTOR_TIMEOUT",  # spark/session.py
    "COFRE_VENV",  # ./dev
    "COFRE_TEST_PG_BIN",  # tests/services.py
)
OTHER_PREFIXES = ("COFRE_SECRET_",)  # cofre secrets set: COFRE_SECRET_<FIELD>


class EnvOnlySettings(BaseSettings):
    """Every knob Cofre reads, with its embedded default, from flags, `COFRE_*` and `.env`.

    Raises `ConfigurationError` naming the `COFRE_*` variable when a value is malformed.
    """

    # `extra="ignore"` also drops the `.env` lines that are not Cofre's (compose's POSTGRES_*).
    model_config = SettingsConfigDict(
        env_prefix="COFRE_", extra="ignore", env_file=".env", env_file_encoding="utf-8"
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except (ValidationError, SettingsError) as exc:
            raise ConfigurationError(_describe_invalid(exc, type(self))) from None

    home: Path = Field(Path("data"), description="Holds the embedded lake, warehouse, audit.")
    lake_url: str | None = Field(
        None, description="Local directory or s3://bucket[/prefix]; default $COFRE_HOME/lake."
    )
    lake_buckets: dict[str, str] | None = Field(
        None,
        description='One S3 bucket per layer, e.g. {"bronze": "bronze-layer", ...} (JSON).',
    )
    s3_endpoint_url: str | None = Field(None, description="S3 API endpoint (MinIO, moto).")
    s3_credentials_block: str | None = Field(
        None, description="Name of the encrypted S3 credentials block to use."
    )
    s3_sse: Literal["AES256", "aws:kms", "none"] = Field(
        "AES256", description="Server-side encryption requested on every S3 write."
    )
    fernet_keys: SecretStr | None = Field(
        None, description="Comma-separated Fernet keys, newest first (overrides the file)."
    )
    keyring_file: Path | None = Field(None, description="Default $COFRE_HOME/keyring.json.")
    audit_key: SecretStr | None = Field(
        None, description="The audit trail's HMAC key (with COFRE_FERNET_KEYS; else from the file)."
    )
    audit_dir: Path | None = Field(None, description="Default $COFRE_HOME/audit.")
    warehouse_url: str | None = Field(
        None, description="Warehouse URL without a password; default $COFRE_HOME/warehouse.db."
    )
    warehouse_block: str | None = Field(
        None, description="Name of the encrypted PostgreSQL credentials block for the warehouse."
    )
    gold_engine: Literal["auto", "duckdb", "spark"] = Field(
        "auto",
        description="Gold engine: duckdb (in process), spark, or auto (Spark when a Spark "
        "master is configured, DuckDB otherwise).",
    )
    spark_master: str | None = Field(
        None,
        description="Spark master for the gold stage's Spark engine (spark://host:7077, "
        "local[4]); setting one makes --engine auto choose Spark; default local[*].",
    )
    sources: SourceMode = "auto"
    # External sources
    sgs_base_url: str = Field(
        "https://api.bcb.gov.br/dados/serie/bcdata.sgs.433/dados",
        description="BCB SGS series 433 (IPCA) JSON endpoint.",
    )
    openweather_base_url: str = Field(
        "https://api.openweathermap.org/data/2.5/weather",
        description="OpenWeather current-weather endpoint.",
    )
    open_meteo_base_url: str = Field(
        "https://archive-api.open-meteo.com/v1/archive",
        description="Open-Meteo historical (archive) endpoint.",
    )
    openweather_city_ids: list[int] = Field(
        [3448439, 3451190, 3470127, 3452925, 3390760],
        description="OpenWeather city ids for current weather (JSON list in the env var).",
    )
    openweather_api_key_block: str | None = Field(
        "openweather", description="Name of the encrypted API-key block holding the key."
    )
    ipca_start: date = Field(date(2016, 1, 1), description="First IPCA month to ingest.")
    weather_start: date = Field(date(2016, 9, 1), description="Open-Meteo history start.")
    weather_end: date = Field(date(2018, 10, 31), description="Open-Meteo history end.")
    http_connect_timeout_seconds: float = 5.0
    http_read_timeout_seconds: float = 30.0
    http_retries: int = Field(3, description="Retries after the first attempt of a request.")
    http_backoff_seconds: float = Field(0.5, description="First retry delay; doubles.")
    http_backoff_max_seconds: float = 30.0
    olist_dir: Path | None = None
    synthetic_orders: int = 99_441
    seed: int = 42
    # Silver
    masking_policy: str = Field("default", description="Masking preset: default or seed.")
    masking_key_block: str | None = Field(
        None, description="Masking-key block name; default: a key derived from the keyring."
    )
    max_quarantine_share: float = Field(
        0.01, description="A dataset fails its gate above this share of quarantined rows."
    )
    # Time limits: a hung Spark job or load must not hold a worker forever (defaults are
    # about 8x gold's and 19x the load's time at 10x size on a 2-core machine).
    gold_timeout_seconds: float = Field(
        1800.0, gt=0, description="The gold task's time limit; its Spark jobs are cancelled."
    )
    warehouse_timeout_seconds: float = Field(
        900.0, gt=0, description="Each warehouse load attempt's time limit; it rolls back."
    )
    # One run per home, private files
    lock_wait_seconds: float = Field(
        30.0, ge=0, description="How long a run waits for another run's lock on COFRE_HOME."
    )
    umask: str = Field(
        "077", description="Umask for every file Cofre creates; 027 lets one group read them."
    )

    @property
    def resolved_lake_url(self) -> str:
        return self.lake_url or str(self.home / "lake")

    @property
    def resolved_keyring_file(self) -> Path:
        return self.keyring_file or self.home / "keyring.json"

    @property
    def resolved_audit_dir(self) -> Path:
        return self.audit_dir or self.home / "audit"

    @property
    def resolved_warehouse_url(self) -> str:
        return self.warehouse_url or f"sqlite:///{(self.home / 'warehouse.db').resolve()}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, dotenv_settings)


_BUILT_LOCK = threading.Lock()
_built: tuple[str, EnvOnlySettings] | None = None  # (digest of what it was read from, it)


def env_only_settings() -> EnvOnlySettings:
    """`EnvOnlySettings()`, read again only when what it reads has changed: the `COFRE_*`
    environment variables or the bytes of `./.env`. Reading and validating every field costs
    about 3 ms, and the audit trail, the keyring and the home's lock ask for these settings
    on each use (about 75 times in a run, holding the GIL). Each call returns its own copy;
    an invalid value raises `ConfigurationError` on every call, as the constructor does."""
    global _built
    digest = _sources_digest()
    with _BUILT_LOCK:
        built = _built
    if built is None or built[0] != digest:
        built = (digest, EnvOnlySettings())
        with _BUILT_LOCK:
            _built = built
    return built[1].model_copy()


def _sources_digest() -> str:
    """sha256 of the `COFRE_*` environment (names in any case, as pydantic reads them) and of
    `./.env`: only a digest is kept, never the values (some are keys)."""
    digest = hashlib.sha256()
    for name, value in sorted(os.environ.items()):
        if name.upper().startswith("COFRE_"):
            digest.update(f"{len(name)}:{name}={len(value)}:{value}\n".encode())
    try:
        digest.update(b"env-file:" + Path(".env").read_bytes())
    except OSError:  # none (or unreadable: the constructor says so)
        digest.update(b"no-env-file")
    return digest.hexdigest()


def _describe_invalid(exc: ValidationError | SettingsError, cls: type[BaseSettings]) -> str:
    """One line naming each bad variable, without a secret field's value."""
    if isinstance(exc, SettingsError):  # a list field's value that is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        problems = [f"COFRE_{found.group(1).upper() if found else '?'}: not valid JSON"]
    else:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "?"
            info = cls.model_fields.get(field)
            shown = ""
            if info is not None and info.annotation not in (SecretStr, SecretStr | None):
                shown = f" (got {redact(repr(error.get('input')))[:80]})"
            problems.append(f"COFRE_{field.upper()}{shown}: {error['msg']}")
    return (
        f"invalid setting {'; '.join(problems)}. Fix the CLI flag, the environment variable "
        "or its line in ./.env (or the saved config block)."
    )


def unknown_setting_warnings(
    environ: Mapping[str, str] | None = None, env_file: Path = Path(".env")
) -> list[str]:
    """One line per `COFRE_*` name in the environment or `env_file` that Cofre does not read
    (a typo is otherwise silently ignored), with the closest known name when there is one."""
    env = os.environ if environ is None else environ
    known = [f"COFRE_{name.upper()}" for name in EnvOnlySettings.model_fields]
    known += OTHER_VARIABLES
    found = {name: "the environment" for name in env if name.startswith("COFRE_")}
    for name in _dotenv_names(env_file):
        found.setdefault(name, str(env_file))
    warnings = []
    for name, where in sorted(found.items()):
        if name in known or name.startswith(OTHER_PREFIXES):
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.75)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(
            f"Cofre warning: unknown setting {name}{hint} in {where} is ignored; fix or "
            "remove it (the settings are listed in README.md, Configuration)."
        )
    return warnings


def _dotenv_names(env_file: Path) -> list[str]:
    try:
        lines = env_file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    names = []
    for line in lines:
        found = re.match(r"\s*(?:export\s+)?(COFRE_\w+)\s*=", line)
        if found:
            names.append(found.group(1))
    return names
