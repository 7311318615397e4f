"""Where the warehouse password may go: sealed authority for the warehouse.

The rule, applied to the settings' warehouse (a flag or the `warehouse_url` flow parameter,
`COFRE_WAREHOUSE_URL` from the environment or `./.env`, the config block), before connecting:

1. A warehouse block (`COFRE_WAREHOUSE_BLOCK`) seals host, port and database. A warehouse
   URL, wherever it comes from, must name exactly those; the block's values and password are
   used. Any other URL is refused.
2. A `warehouse_url` sealed in the config block (`COFRE_CONFIG_BLOCK`) is the warehouse: a
   URL naming another host, port, database or query (sslmode, ...) is refused.
3. Otherwise a password libpq finds by itself (`PGPASSWORD`, `PGPASSFILE`, `~/.pgpass`, a
   service file through `PGSERVICE` or the URL's `service=` / `passfile=`) goes
   only to the host and port of `COFRE_WAREHOUSE_URL` (environment or `./.env`). A URL from
   `--warehouse` or a flow's `warehouse_url` parameter naming another host or port, or
   another query (`host=`, `hostaddr=`, `port=`, `service=`, `passfile=` route libpq
   elsewhere; `sslmode=disable` would send it in clear) is refused, unless the sealed config
   sets `warehouse_any_host=true`. Another database or user on that server is fine: the
   password goes to the same server, the same way.

With a sealed place (1, 2), `PGHOSTADDR` or `PGSERVICE` in the environment, with which libpq
would connect to another address than the sealed host, is refused too.

Each refusal names the setting and the block or password source, and is audited as a
SECURITY_INCIDENT; nothing is decrypted or connected. A URL handed to `connect_warehouse` by
code (tests, benchmarks) is the caller's own choice and is not checked here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from blocks.env_settings import env_only_settings
from blocks.errors import ConfigurationError
from blocks.runtime.parameter_guard import refuse_password_in_url
from blocks.secrets.sealed_authority import (
    refuse_libpq_rerouting,
    refuse_redirect,
    sealed_config,
    setting_source,
)

FLAG = "--warehouse / the warehouse_url parameter"
# Query keys with which libpq would connect elsewhere, or read another password file.
_ROUTING_KEYS = ("host", "hostaddr", "port", "service", "passfile")
# Query keys whose values are shown in messages (none can hold a secret); others by name only.
_SHOWN_KEYS = ("host", "hostaddr", "port", "sslmode", "gssencmode", "channel_binding",
               "require_auth", "sslnegotiation", "target_session_attrs")  # fmt: skip


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the warehouse is: a URL (libpq finds its password), a block, or neither (the
    embedded SQLite file)."""

    url: str | None = None
    block: Any = None  # PostgresCredentials, its seal checked


def warehouse_target(settings: Any) -> WarehouseTarget:
    """The warehouse the settings may use. Raises `RedirectRefused` (audited) per the module
    docstring, `ConfigurationError` for a URL that is not one, `SecretNotFound` or
    `BlockSealBroken` for the block."""
    requested = settings.warehouse_url
    if requested:
        refuse_password_in_url(requested, "warehouse URL")
    if settings.warehouse_block:
        return _through_block(settings, requested)
    if not requested:
        return WarehouseTarget()
    parsed = _parse(requested)
    config = sealed_config(settings)
    if config is not None and config.warehouse_url:
        if _place(parsed) != _place(_parse(config.warehouse_url)):
            raise _refusal(
                settings, requested, config, target=config.label,
                rule=f"{config.label} seals {_shown(config.warehouse_url, True)}",
                todo="Drop the URL or make it name the sealed host, port and database; to "
                f"move the warehouse, run `cofre config set {config.block_name} --set "
                "warehouse_url=...`.",
            )  # fmt: skip
        refuse_libpq_rerouting(settings, config.label, _shown(config.warehouse_url, True))
        return WarehouseTarget(url=requested)
    if _backend(parsed) == "sqlite" or (config is not None and config.warehouse_any_host):
        return WarehouseTarget(url=requested)
    configured = env_only_settings().warehouse_url  # COFRE_WAREHOUSE_URL: environment, ./.env
    if requested == configured or (configured and _server(parsed) == _server(_parse(configured))):
        return WarehouseTarget(url=requested)
    source = ambient_password_source(parsed)
    if source is None:  # libpq has no password of its own to send there
        return WarehouseTarget(url=requested)
    raise _refusal(
        settings, requested, config, target=f"warehouse-password/{source.split('=')[0]}",
        what=f"the password from {source}", with_database=False,
        rule="that password goes only to COFRE_WAREHOUSE_URL's host and port, with the same "
        f"query ({_shown(configured or '', False)})",
        todo="If that server is yours, set COFRE_WAREHOUSE_URL to it in the worker's "
        "environment, save a warehouse block (`cofre secrets set postgres NAME`), or let "
        "parameters name any host with `cofre config set NAME --set warehouse_any_host=true`.",
    )  # fmt: skip


def ambient_password_source(url: URL | None = None) -> str | None:
    """Which password libpq would find by itself for `url`: PGPASSWORD, a `passfile=` or
    `service=` in its query, PGSERVICE (a service file entry may hold one), PGPASSFILE,
    ~/.pgpass; None when it has none."""
    if os.environ.get("PGPASSWORD"):
        return "PGPASSWORD"
    for key in ("passfile", "service"):
        if url is not None and url.query.get(key):
            return f"{key}= in the URL"
    if os.environ.get("PGSERVICE"):
        return "PGSERVICE"
    if os.environ.get("PGPASSFILE"):
        return "PGPASSFILE" if Path(os.environ["PGPASSFILE"]).is_file() else None
    return "~/.pgpass" if (Path.home() / ".pgpass").is_file() else None


def _through_block(settings: Any, requested: str | None) -> WarehouseTarget:
    from blocks.secrets.credentials import PostgresCredentials

    block = PostgresCredentials.require(settings.warehouse_block)  # seal first, no decrypting
    sealed = f"postgresql://{block.user}@{block.host}:{block.port}/{block.database}"
    if requested and _place(_parse(requested), routing_only=True) != _place(_parse(sealed)):
        raise _refusal(
            settings, requested, sealed_config(settings), target=block.label,
            rule=f"{block.label} seals {_shown(sealed, True)}",
            todo="Drop the URL or make it name the block's host, port and database; to move "
            f"the warehouse, save the block again with `cofre secrets set postgres "
            f"{block.block_name}`.",
        )  # fmt: skip
    block.refuse_rerouting()
    return WarehouseTarget(block=block)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except (ArgumentError, ValueError):  # ValueError: e.g. several host:port pairs
        raise ConfigurationError(
            f"Warehouse URL {url!r} is not a sqlite:/// or postgresql:// URL: fix --warehouse "
            "(or COFRE_WAREHOUSE_URL)."
        ) from None


def _backend(url: URL) -> str:
    name = url.get_backend_name()
    return "postgresql" if name == "postgres" else name


def _server(url: URL, *, routing_only: bool = False) -> tuple:
    """Where libpq would connect, and how: its query (sslmode, passfile, ...), or only the
    query keys that route it elsewhere."""
    query = {k: str(v) for k, v in url.query.items() if not routing_only or k in _ROUTING_KEYS}
    return _backend(url), (url.host or "").lower(), url.port or 5432, tuple(sorted(query.items()))


def _place(url: URL, *, routing_only: bool = False) -> tuple:
    """The server and the database (what a sealed block or config fixes)."""
    return *_server(url, routing_only=routing_only), url.database or ""


def _shown(url: str, with_database: bool) -> str:
    """host:port[/database]?query of a URL, never its user, and a query value only when it
    cannot be secret (`_SHOWN_KEYS`): for messages and the audit."""
    if not url:
        return "none: COFRE_WAREHOUSE_URL is not set"
    parsed = _parse(url)
    if _backend(parsed) == "sqlite":
        return f"sqlite {parsed.database or ''}".strip()
    database = f"/{parsed.database or ''}" if with_database else ""
    shown = [f"{k}={v}" if k in _SHOWN_KEYS else k for k, v in sorted(parsed.query.items())]
    query = f"?{'&'.join(shown)}" if shown else ""
    return f"{parsed.host or 'localhost'}:{parsed.port or 5432}{database}{query}"


def _refusal(
    settings: Any,
    requested: str,
    config: Any,
    *,
    target: str,
    rule: str,
    todo: str,
    what: str = "the warehouse login",
    with_database: bool = True,
) -> Exception:
    return refuse_redirect(
        settings,
        target=target,
        setting=setting_source("warehouse_url", requested, config, FLAG),
        what=what,
        requested=_shown(requested, with_database),
        rule=rule,
        todo=todo,
    )
