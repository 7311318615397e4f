"""Helpers behind `cofre config`: save a sealed `CofreConfig`, show it, reseal a legacy one.

Every helper takes env-only settings (`EnvOnlySettings`): the config being written or
checked must never decide which keyring seals it or which audit trail records it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from blocks.env_settings import env_only_settings
from blocks.errors import ConfigurationError
from blocks.runtime.parameter_guard import GENERIC_ADVICE, refuse_secret_parameters, secret_problem
from blocks.secrets.config import CofreConfig, load_unchecked, require_config
from blocks.secrets.keyring import load_keyring
from blocks.settings import CofreSettings

CONFIG_FIELDS = tuple(name for name in CofreConfig.model_fields if name != "seal")
_JSON_FIELDS = ("lake_buckets",)


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """`field=value` flags as field values; an empty value clears the field (None);
    `lake_buckets` takes a JSON object."""
    values: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, raw = assignment.partition("=")
        if not sep or name not in CONFIG_FIELDS:
            raise ConfigurationError(
                f"--set expects field=value with a field of: {', '.join(CONFIG_FIELDS)}"
            )
        if raw == "":
            values[name] = None
        elif name == "olist_roots":
            values[name] = _olist_roots(raw)
        elif name in _JSON_FIELDS:
            try:
                values[name] = json.loads(raw)
            except json.JSONDecodeError:
                raise ConfigurationError(
                    f'--set {name}= expects a JSON object, e.g. {{"bronze": "bronze-layer"}}.'
                ) from None
        else:
            values[name] = raw
    return values


def _olist_roots(raw: str) -> list[str]:
    """`olist_roots=` as a JSON list or comma-separated absolute directories."""
    try:
        roots = json.loads(raw) if raw.lstrip().startswith("[") else raw.split(",")
    except json.JSONDecodeError:
        roots = None
    if not isinstance(roots, list) or not all(isinstance(root, str) for root in roots):
        raise ConfigurationError(
            "--set olist_roots= expects absolute directories, comma-separated or as a JSON "
            'list, e.g. olist_roots=/data/olist or olist_roots=["/data/olist","/mnt/olist"].'
        )
    roots = [root.strip() for root in roots if root.strip()]
    if relative := [root for root in roots if not os.path.isabs(os.path.expanduser(root))]:
        raise ConfigurationError(
            f"--set olist_roots=: {relative[0]!r} is not an absolute path; give the full "
            "directory (a relative root would depend on where each run starts)."
        )
    return [os.path.normpath(os.path.expanduser(root)) for root in roots]


def refuse_secret_values(name: str, values: Mapping[str, Any]) -> None:
    """Raise `ConfigurationError` naming the first field that holds a secret (never the value).

    `*_block` fields hold block names; only their values are checked, since a name like
    `s3_credentials_block` would itself look secret to `refuse_secret_parameters`."""
    block_names = {key: value for key, value in values.items() if key.endswith("_block")}
    try:
        refuse_secret_parameters(
            {key: value for key, value in values.items() if key not in block_names},
            what="Config field",
        )
    except ConfigurationError as exc:
        raise ConfigurationError(f"{exc} cofre-config/{name} was not saved.") from None
    for key, value in block_names.items():
        if value and (problem := secret_problem(str(value))):
            raise ConfigurationError(
                f"Config field {key!r} {problem} (the value is not shown); cofre-config/{name} "
                f"was not saved. It names a block; {GENERIC_ADVICE}"
            )


def _build(name: str, values: dict[str, Any], settings: CofreSettings) -> CofreConfig:
    try:
        return CofreConfig.sealed(name, load_keyring(settings), **values)
    except ValidationError as exc:
        fields = ", ".join(sorted({str(err["loc"][0]) for err in exc.errors() if err["loc"]}))
        raise ConfigurationError(
            f"cofre-config/{name}: invalid value for {fields} (s3_sse: AES256, aws:kms or none; "
            "sources: live, snapshot or auto; lake_buckets: a JSON object of strings; "
            "olist_roots: absolute directories)."
        ) from None


def save_config(
    name: str,
    assignments: list[str],
    *,
    replace: bool = False,
    settings: CofreSettings | None = None,
) -> CofreConfig:
    """Seal and save `cofre-config/<name>` with `--set` values; audited SECRET_WRITE (names only).

    Merges onto the saved values unless `replace`; merging first checks the saved seal
    (`BlockSealBroken`, audited, when it fails), so an edit made outside Cofre is never
    carried into a new seal. Raises `ConfigurationError` for secret-shaped or invalid values.
    """
    from blocks import audit

    settings = settings or env_only_settings()
    given = parse_assignments(assignments)
    refuse_secret_values(name, given)
    base: dict[str, Any] = {}
    if not replace:
        try:
            base = require_config(name, settings).values()
        except ConfigurationError as exc:
            if "No cofre-config block named" not in str(exc):
                raise
    merged = {key: value for key, value in {**base, **given}.items() if value is not None}
    config = _build(name, merged, settings)
    config.save(name, overwrite=True)
    audit.record(
        audit.Action.SECRET_WRITE,
        config.label,
        details={
            "block_kind": "config",
            "fields_set": sorted(key for key, value in given.items() if value is not None),
            "fields_cleared": sorted(key for key, value in given.items() if value is None),
            "replaced": replace,
        },
        compliance="LGPD_NA",
        settings=settings,
    )
    return config


def describe_config(name: str, settings: CofreSettings | None = None) -> tuple[dict, str | None]:
    """(every field's value, None when the seal verifies else which check fails). No audit:
    for display, and before `reseal_config`."""
    settings = settings or env_only_settings()
    config = load_unchecked(name)
    values = {key: getattr(config, key) for key in CONFIG_FIELDS}
    extras = {f"{key} (unknown field: dropped on reseal)": v for key, v in _extras(config).items()}
    return {**values, **extras}, config.seal_state(load_keyring(settings), name)


def _extras(config: CofreConfig) -> dict[str, Any]:
    return dict(config.model_extra or {})


def reseal_config(name: str, settings: CofreSettings | None = None) -> str:
    """Seal the saved config's current values, after the operator confirmed them
    (`describe_config`); audited SECRET_WRITE. Returns the previous seal state. Unknown
    (extra) keys are dropped.

    Refuses (`ConfigurationError`) a config holding a secret-shaped value: save it again with
    `cofre config set NAME --replace` instead."""
    from blocks import audit

    settings = settings or env_only_settings()
    saved = load_unchecked(name)
    keyring = load_keyring(settings)
    previous = saved.seal_state(keyring, name) or "valid"
    refuse_secret_values(name, saved.values())
    # Rebuilt from the declared fields: unknown keys an API writer added are not carried over.
    config = CofreConfig.sealed(name, keyring, **saved.values())
    config.save(name, overwrite=True)
    audit.record(
        audit.Action.SECRET_WRITE,
        config.label,
        details={"block_kind": "config", "resealed": True, "previous_seal": previous},
        compliance="LGPD_NA",
        settings=settings,
    )
    return previous
