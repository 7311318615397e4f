"""Sealed authority: a sealed value decides where a credential may be sent.

A credentials block seals where its secret goes (the S3 endpoint; the warehouse's host, port
and database) and the `CofreConfig` block may seal `s3_endpoint_url` and `warehouse_url`.
A flag, a flow-run parameter, a `COFRE_*` variable (a deployment's job variables among them)
or `./.env` may repeat a sealed value, never change it: a run asked to send a credential
elsewhere is refused before anything connects or is decrypted, with one line naming the
setting and the block, and a SECURITY_INCIDENT is audited. A deployment's parameters can
narrow a run, never redirect it.

The S3 endpoint's rule is here (`authorised_s3_endpoint`); the warehouse's, which also covers
passwords libpq finds by itself (PGPASSWORD, ~/.pgpass), is tasks/warehouse/authority.py.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from blocks.env_settings import EnvOnlySettings
from blocks.errors import ConfigurationError
from blocks.runtime.redaction import redact

if TYPE_CHECKING:
    from blocks.secrets.config import CofreConfig
    from blocks.secrets.credentials import S3Credentials

# The settings that locate the keyring and the audit trail (never taken from a saved block).
_LOCATING = ("home", "keyring_file", "fernet_keys", "audit_key", "audit_dir")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class RedirectRefused(ConfigurationError):
    """A setting asked to send a sealed credential somewhere its block or the config did not
    seal: refused before connecting, audited as SECURITY_INCIDENT."""


def env_only(settings: Any) -> EnvOnlySettings:
    """The keyring- and audit-locating values of `settings` (flags, env, `.env` only)."""
    return EnvOnlySettings(**{name: getattr(settings, name) for name in _LOCATING})


def sealed_config(settings: Any) -> CofreConfig | None:
    """The config block named by COFRE_CONFIG_BLOCK, its seal checked; None when unnamed."""
    name = os.environ.get("COFRE_CONFIG_BLOCK")
    if not name:
        return None
    from blocks.secrets.config import require_config

    return require_config(name, env_only(settings))


def setting_source(field: str, value: Any, config: CofreConfig | None, flag: str) -> str:
    """Where the settings' `value` of `field` came from, as the operator would name it."""
    variable = f"COFRE_{field.upper()}"
    if value is not None and os.environ.get(variable) == value:
        return f"{variable} (environment)"
    if value is not None and _dotenv_value(variable) == value:
        return f"{variable} (./.env)"
    if config is not None and getattr(config, field, None) == value:
        return f"{field} in {config.label}"
    return flag


def _dotenv_value(variable: str) -> str | None:
    from dotenv import dotenv_values

    if not os.path.isfile(".env"):
        return None
    found = {key.upper(): value for key, value in dotenv_values(".env").items()}
    return found.get(variable)


def endpoint_shown(url: str | None) -> str:
    """scheme://host[:port] of an endpoint, never userinfo, path or query."""
    if not url:
        return "the AWS default endpoint"
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "an endpoint that cannot be parsed"
    return f"{parts.scheme}://{host}{port}"


def _endpoint_key(url: str) -> tuple:
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme)
    host = (parts.hostname or "").lower()
    return scheme, host, port, parts.path.rstrip("/"), parts.query, parts.username, parts.password


def same_endpoint(first: str | None, second: str | None) -> bool:
    """True when both name the same endpoint (case of scheme and host, a default port and a
    trailing slash aside). None is AWS's default endpoint, equal only to None."""
    if not first or not second:
        return not first and not second
    try:
        return _endpoint_key(first) == _endpoint_key(second)
    except ValueError:
        return False


# Environment variables with which libpq connects elsewhere than the host it is given
# (PGHOSTADDR: the address to use; PGSERVICE: a service file entry, which may set one).
LIBPQ_ROUTING_VARIABLES = ("PGHOSTADDR", "PGSERVICE")


def refuse_libpq_rerouting(settings: Any, target: str, sealed: str) -> None:
    """Raise `RedirectRefused` (audited) when the environment would make libpq send a login
    sealed for `sealed` (host:port/database, sealed by `target`) to another address."""
    for name in LIBPQ_ROUTING_VARIABLES:
        if os.environ.get(name):
            raise refuse_redirect(
                settings,
                target=target,
                setting=f"{name} (environment)",
                what="the warehouse login",
                requested=redact(os.environ[name])[:80],
                rule=f"{target} seals {sealed}",
                todo=f"Unset {name} in the worker's environment (and any deployment's job "
                "variables); to use another server, change the block or the config.",
            )


def refuse_redirect(
    settings: Any,
    *,
    target: str,
    setting: str,
    what: str,
    requested: str,
    rule: str,
    todo: str,
) -> RedirectRefused:
    """Audit a SECURITY_INCIDENT on `target` and return the error to raise (one line).
    `settings` (None: env-only) locate the keyring and audit trail.

    `rule` says where the credential may go, e.g. "cofre-s3-credentials/x seals http://..."."""
    from blocks.runtime import events

    record_redirect(settings, target=target, setting=setting, requested=requested, rule=rule)
    error = RedirectRefused(
        f"{setting} asks to send {what} to {requested}, but {rule}; nothing was connected or "
        f"decrypted and a SECURITY_INCIDENT was audited. {todo}"
    )
    return events.mark_notified(error, events.SECURITY_INCIDENT)  # the incident says it


def record_redirect(settings: Any, *, target: str, setting: str, requested: str, rule: str) -> None:
    """The SECURITY_INCIDENT of a refused redirect (no secret: setting, place asked, rule)."""
    from blocks import audit

    audit.record(
        audit.Action.SECURITY_INCIDENT,
        target,
        details={"check": "redirect", "setting": setting, "requested": requested, "rule": rule},
        outcome="failure",
        compliance="LGPD_WARNING",
        settings=env_only(settings) if settings is not None else None,
    )


def authorised_s3_endpoint(settings: Any, block: S3Credentials | None) -> str | None:
    """The S3 endpoint the lake may use: the credentials block's (its sealed `endpoint_url`,
    None for AWS) when one is named, else the config's sealed `s3_endpoint_url`, else the
    settings'. Raises `RedirectRefused` (audited) when a setting asks for another one:
    `COFRE_S3_ENDPOINT_URL` (environment, `./.env`, the config), or, with a block, botocore's
    own `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` (which s3fs would otherwise honour when the
    block seals AWS's default endpoint; the block's clients ignore them in any case)."""
    requested = settings.s3_endpoint_url
    if block is not None:
        for setting, value in _endpoint_requests(requested):
            if not same_endpoint(value, block.endpoint_url):
                if setting == "s3_endpoint_url":  # say where it came from
                    setting = setting_source(setting, value, sealed_config(settings), "a flag")
                move = f"save the keys again with `cofre secrets set s3 {block.block_name} "
                raise _s3_refusal(settings, setting, value, block.label, block.endpoint_url,
                                  move + "--set endpoint_url=...`")  # fmt: skip
        return block.endpoint_url
    if not requested:
        return None
    config = sealed_config(settings)
    if config is None or not config.s3_endpoint_url:
        return requested
    if same_endpoint(requested, config.s3_endpoint_url):
        return config.s3_endpoint_url
    setting = setting_source("s3_endpoint_url", requested, config, "a flag")
    raise _s3_refusal(settings, setting, requested, config.label, config.s3_endpoint_url,
                      f"change the config with `cofre config set {config.block_name} --set "
                      "s3_endpoint_url=...`")  # fmt: skip


AWS_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")


def _endpoint_requests(requested: str | None) -> list[tuple[str, str]]:
    """(setting, endpoint) for each setting that asks the S3 client for an endpoint; the
    settings' own is named `s3_endpoint_url`."""
    asks = [(f"{name} (environment)", os.environ[name]) for name in AWS_ENDPOINT_VARIABLES
            if os.environ.get(name)]  # fmt: skip
    return [("s3_endpoint_url", requested), *asks] if requested else asks


def _s3_refusal(
    settings: Any, setting: str, requested: str, sealed_by: str, sealed: str | None, move: str
) -> RedirectRefused:
    return refuse_redirect(
        settings,
        target=sealed_by,
        setting=setting,
        what="the S3 credentials",
        requested=endpoint_shown(requested),
        rule=f"{sealed_by} seals {endpoint_shown(sealed)}",
        todo="Remove that setting (from the environment, ./.env or the deployment's job "
        f"variables) or make it the sealed endpoint; to move the lake, {move}.",
    )
