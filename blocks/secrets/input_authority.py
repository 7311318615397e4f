"""Sealed authority over where data comes from: the Olist input roots and the lake.

A run publishes what it reads, so a flow-run parameter, a `COFRE_*` variable (a deployment's job
variables among them) or `./.env` that points the run at another Olist directory or another
lake can make it publish attacker-chosen numbers. When the `CofreConfig` block
(`COFRE_CONFIG_BLOCK`, its seal checked) sets them:

- `olist_roots`: the run's `olist_dir` must lie under one of the roots once symlinks and `..`
  are resolved, and so must each of the 9 files in it (a symlink to a file elsewhere is a
  redirect too). A subdirectory narrows the run and is accepted; a synthetic set is refused
  (it would publish generated numbers where real ones are expected).
- `lake_url` (and `lake_buckets`): the run's lake must be exactly that lake.

A run asked for anything else stops before reading any input or decrypting any credential,
with one line naming the setting and the sealed block, and a SECURITY_INCIDENT is audited
(blocks/secrets/sealed_authority.py's `record_redirect`). Without a config, or with these fields
unset, nothing changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from blocks.secrets.sealed_authority import (
    RedirectRefused,
    record_redirect,
    sealed_config,
    setting_source,
)

OLIST_FLAG = "--olist-dir / the olist_dir parameter"
LAKE_FLAG = "--lake / the lake parameter"
# The 9 Olist files (tasks/sources/olist/contract.py declares them; blocks cannot import tasks).
_OLIST_SUFFIX = ".csv"


def refuse_unsealed_inputs(
    settings: Any, *, reads_olist: bool, synthetic_requested: bool = False
) -> Path | None:
    """Check the settings' lake and, when the run reads Olist, its Olist source against the
    sealed config. Returns the Olist directory to read, resolved (None: a synthetic set).
    Raises `RedirectRefused` (audited)."""
    config = sealed_config(settings)
    _check_lake(settings, config)
    return _olist_dir(settings, synthetic_requested, config) if reads_olist else None


def authorised_olist_dir(settings: Any, synthetic_requested: bool = False) -> Path | None:
    """The Olist directory the run may read, resolved (None: a synthetic set). Raises
    `RedirectRefused` (audited) per the module docstring."""
    return _olist_dir(settings, synthetic_requested, sealed_config(settings))


def refuse_unsealed_lake(settings: Any) -> None:
    """Raise `RedirectRefused` (audited) when the config seals `lake_url` or `lake_buckets`
    and the settings name another lake."""
    _check_lake(settings, sealed_config(settings))


def _olist_dir(settings: Any, synthetic_requested: bool, config: Any) -> Path | None:
    real = settings.olist_dir and not synthetic_requested
    roots = [_resolved(root) for root in (config.olist_roots or [])] if config else []
    if not roots:
        return _resolved(settings.olist_dir) if real else None
    rule = f"{config.label} seals Olist input to {', '.join(str(root) for root in roots)}"
    if not real:
        setting = "synthetic_orders" if synthetic_requested else "no olist_dir given"
        raise _refusal(
            settings, config, setting, "to read synthetic Olist data", "synthetic", rule,
            "Give the run an Olist directory under a sealed root (--olist-dir, the olist_dir "
            "parameter or COFRE_OLIST_DIR), or clear the roots with `cofre config set "
            f"{config.block_name} --set olist_roots=` to allow synthetic runs.",
        )  # fmt: skip
    setting = setting_source("olist_dir", str(settings.olist_dir), config, OLIST_FLAG)
    directory = _resolved(settings.olist_dir)
    outside = None if _under(directory, roots) else directory
    if outside is None and directory.is_dir():  # a file may be a symlink to elsewhere
        files = (f for f in sorted(directory.iterdir()) if f.name.endswith(_OLIST_SUFFIX))
        outside = next((f.resolve() for f in files if not _under(f.resolve(), roots)), None)
    if outside is not None:
        raise _refusal(
            settings, config, setting, f"to read Olist input from {outside}", str(outside), rule,
            "Point it at a directory under a sealed root (a subdirectory is fine), or change "
            f"the roots with `cofre config set {config.block_name} --set olist_roots=...`.",
        )  # fmt: skip
    return directory


def _check_lake(settings: Any, config: Any) -> None:
    if config is None:
        return
    todo = (
        "Drop that setting or make it the sealed lake; to move the lake, run `cofre config "
        f"set {config.block_name} --set lake_url=...`."
    )
    lake = settings.resolved_lake_url
    if config.lake_url and _lake_place(lake) != _lake_place(config.lake_url):
        setting = setting_source("lake_url", settings.lake_url, config, LAKE_FLAG)
        rule = f"{config.label} seals the lake {config.lake_url}"
        raise _refusal(settings, config, setting, f"to use the lake {lake}", lake, rule, todo)
    if config.lake_buckets and settings.lake_buckets != config.lake_buckets:
        setting = setting_source("lake_buckets", settings.lake_buckets, config, "lake_buckets")
        rule = f"{config.label} seals the lake buckets {config.lake_buckets}"
        asked = str(settings.lake_buckets)
        raise _refusal(settings, config, setting, f"to use the lake buckets {asked}", asked,
                       rule, todo)  # fmt: skip


def _resolved(path: str | Path) -> Path:
    return Path(path).expanduser().resolve()


def _under(path: Path, roots: list[Path]) -> bool:
    return any(path.is_relative_to(root) for root in roots)


def _lake_place(url: str) -> str:
    """A lake URL compared as a place: s3 bucket/prefix without slashes around, or a local
    directory resolved (symlinks, `..`, `~`, `file://`)."""
    url = url.strip()
    if url.lower().startswith("s3://"):
        return "s3://" + url[len("s3://") :].strip("/")
    return str(_resolved(url.removeprefix("file://")))


def _refusal(
    settings: Any, config: Any, setting: str, asks: str, requested: str, rule: str, todo: str
) -> RedirectRefused:
    from blocks.runtime import events

    record_redirect(settings, target=config.label, setting=setting, requested=requested,
                    rule=rule)  # fmt: skip
    error = RedirectRefused(
        f"{setting} asks {asks}, but {rule}; nothing was read or decrypted and a "
        f"SECURITY_INCIDENT was audited. {todo}"
    )
    return events.mark_notified(error, events.SECURITY_INCIDENT)  # the incident says it
