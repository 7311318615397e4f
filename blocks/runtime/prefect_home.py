"""One Prefect home for every Cofre entry point when no Prefect server is configured.

Without `PREFECT_API_URL`, Prefect runs a temporary API on a SQLite database under
`PREFECT_HOME` (default `~/.prefect`). Cofre keeps it under `$COFRE_HOME/prefect`, so the
blocks saved by `cofre secrets set` are the ones `python -m flows.full_pipeline` reads and
`cofre ui` shows the runs made before it. Prefect reads its settings once, when `prefect` is
first imported (`prefect.context` builds its global settings then), so this runs from
`flows/__init__.py`, before any `flows.*` module imports Prefect. Nothing here imports Prefect
at module level.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
import uuid
from collections.abc import MutableMapping
from pathlib import Path

from blocks.errors import ConfigurationError
from blocks.runtime.prefect_noise import quiet_prefect
from blocks.runtime.run_loggers import send_cofre_logs_to_prefect

# Prefect's 20 s default is too short for the temporary API on a busy 2-core machine.
STARTUP_TIMEOUT_SECONDS = "120"
UI_HOST = "127.0.0.1"
UI_PORT = 4200


def use_cofre_prefect_home(environ: MutableMapping[str, str] | None = None) -> Path | None:
    """Point Prefect at `$COFRE_HOME/prefect` (created, mode 0700) unless a Prefect server
    (`PREFECT_API_URL`, also from the active Prefect profile) or `PREFECT_HOME` is set, and
    give the temporary API 120 s to start unless its timeout is set. Returns the home set
    here, else None. Does nothing once Prefect is imported: its settings are already read.
    Cofre's module loggers go to the runs' Prefect logs in every case
    (blocks/runtime/run_loggers.py) and Prefect's telemetry and draining warnings stay off the
    console (blocks/runtime/prefect_noise.py)."""
    env = os.environ if environ is None else environ
    send_cofre_logs_to_prefect(env)
    quiet_prefect(env)
    if "prefect" in sys.modules or server_configured(env):
        return None
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", STARTUP_TIMEOUT_SECONDS)
    if env.get("PREFECT_HOME"):
        return None
    from blocks.env_settings import env_only_settings

    try:
        cofre_home = env_only_settings().home
    except ConfigurationError:
        return None  # the command reports the bad variable itself, naming it
    prefect_home = (cofre_home / "prefect").resolve()
    # A new home is owner-only from its first directory (parents=True alone would create it
    # under the process's umask, 0755 on most machines).
    prefect_home.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    prefect_home.mkdir(mode=0o700, exist_ok=True)
    env["PREFECT_HOME"] = str(prefect_home)
    return prefect_home


def server_configured(environ: MutableMapping[str, str] | None = None) -> bool:
    """True when Prefect talks to a server: `PREFECT_API_URL` in the environment or in the
    active profile of Prefect's default profiles file (`prefect config set` writes there)."""
    return bool(configured_api_url(environ))


def configured_api_url(environ: MutableMapping[str, str] | None = None) -> str | None:
    """The Prefect server's API URL from `PREFECT_API_URL` or the active profile, read
    without importing Prefect (entry points check it before paying for that import)."""
    env = os.environ if environ is None else environ
    return env.get("PREFECT_API_URL") or _profile_api_url(env)


def _profile_api_url(env: MutableMapping[str, str]) -> str | None:
    # Read before PREFECT_HOME moves: the moved home would hide the user's profiles file.
    default = Path(env.get("PREFECT_HOME") or Path.home() / ".prefect") / "profiles.toml"
    user = _read_toml(Path(env.get("PREFECT_PROFILES_PATH") or default).expanduser())
    # Prefect lays the user's profiles over its bundled ones (`local` sets an API URL).
    profiles = {**_bundled_profiles(), **user.get("profiles", {})}
    active = env.get("PREFECT_PROFILE") or user.get("active") or "ephemeral"
    profile = profiles.get(active)
    value = profile.get("PREFECT_API_URL") if isinstance(profile, dict) else None
    return str(value) if value else None


def _bundled_profiles() -> dict:
    spec = importlib.util.find_spec("prefect")  # locates the package without importing it
    if spec is None or spec.origin is None:
        return {}
    return _read_toml(Path(spec.origin).parent / "settings" / "profiles.toml").get("profiles", {})


def _read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def ui_url(port: int = UI_PORT) -> str:
    """The address `cofre ui` serves the Prefect UI on."""
    return f"http://{UI_HOST}:{port}"


def where_to_see_run(flow_run_id: str) -> str:
    """The closing line of a run: where its Prefect UI page is, or how to open one."""
    from prefect.settings import PREFECT_API_URL, PREFECT_UI_URL

    page = f"/runs/flow-run/{flow_run_id}" if _is_uuid(flow_run_id) else ""
    if not PREFECT_API_URL.value():
        return f"See this run in the Prefect UI: ./dev ui (or cofre ui), then open {ui_url()}{page}"
    base = PREFECT_UI_URL.value() or PREFECT_API_URL.value().removesuffix("/api")
    return f"See this run in the Prefect UI: {base.rstrip('/')}{page}"


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
