"""One writer per COFRE_HOME, and private files by default.

A run holds an exclusive `fcntl.flock` on `$COFRE_HOME/.cofre.lock` from the start of its flow
body to the end; the kernel drops it when the process dies, so a dead holder never blocks.
Beside it, `.cofre.lock.json` names the holder (run id, start, host, pid, flow) for messages.
A clean release deletes that record while still holding the lock, so finding one on taking the
lock means its writer died: the takeover is logged and audited. On an S3 lake the run also
holds a leased lock object (blocks/lake/lease.py), which excludes runs on other machines.

The lock is re-entrant within a process (full_pipeline calls the stage flows in process) and
exclusive between processes. A second run waits `COFRE_LOCK_WAIT_SECONDS` (default 30), then
refuses with `HomeBusy` naming the holder.

Every entry point also sets the process umask (`COFRE_UMASK`, default 077) before it writes
anything, so files are created 0600 and directories 0700; a JVM started later (Spark)
inherits it.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from blocks.env_settings import env_only_settings
from blocks.errors import ConfigurationError, HomeBusy
from blocks.lake.lease import DEFAULT_LEASE_SECONDS, S3Lease, describe, lock_location, run_log
from blocks.settings import CofreSettings

LOCK_FILE = ".cofre.lock"
HOLDER_FILE = ".cofre.lock.json"
POLL_SECONDS = 0.25
DEFAULT_UMASK = "077"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Holder:
    """Who holds a home. Never carries arguments: a CLI argument could hold a secret."""

    run_id: str
    started: str
    host: str
    pid: int
    command: str

    def describe(self) -> str:
        return describe(asdict(self))


@dataclass
class _Held:
    home: Path
    fd: int
    holder: Holder
    depth: int = 1
    lease: S3Lease | None = None


_held: dict[Path, _Held] = {}
_held_guard = threading.RLock()


# -- private by default -----------------------------------------------------------------
def parse_umask(value: str) -> int:
    """'077' -> 0o077. Refuses a umask that lets other local users read or write."""
    text = str(value).strip().lower().removeprefix("0o")
    if not re.fullmatch(r"[0-7]{1,4}", text):
        raise ConfigurationError(
            f"COFRE_UMASK={value!r} is not an octal umask; use 077 (owner only, the default) "
            "or 027 (owner and group read)."
        )
    mask = int(text, 8)
    if mask & 0o007 != 0o007:
        raise ConfigurationError(
            f"COFRE_UMASK={value!r} lets every local user reach Cofre's files (raw PII in "
            "bronze, the warehouse, the audit trail); use 077 (owner only) or 027 (a group)."
        )
    return mask


def apply_umask(settings: CofreSettings | None = None) -> int:
    """Set the process umask from COFRE_UMASK (default 077) and return it.

    Without settings only the environment is read (`EnvOnlySettings`): CLI mains call this
    before Prefect starts anything, and before a settings block could be loaded."""
    value = (settings or env_only_settings()).umask
    mask = parse_umask(value or DEFAULT_UMASK)
    os.umask(mask)
    return mask


def _make_private_home(home: Path, mask: int, announce: bool = True) -> None:
    home.mkdir(parents=True, exist_ok=True)
    mode = home.stat().st_mode & 0o7777
    if mode & mask & 0o777 and home.stat().st_uid == os.getuid():
        # An older home made world-readable: closing the directory closes everything in it.
        os.chmod(home, mode & ~mask)
        if announce:
            run_log().warning(
                "Made %s private (mode %o -> %o).", home, mode & 0o777, mode & ~mask & 0o777
            )


def private_home() -> Path:
    """What a `cofre` command that writes under COFRE_HOME does first: set the umask and make
    the home itself owner-only (importing `flows` may have created it, for the Prefect home,
    under the process's umask). Returns the home."""
    mask = apply_umask()
    home = env_only_settings().home.expanduser().resolve()
    _make_private_home(home, mask, announce=False)
    return home


# -- the holder record ------------------------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _read_holder(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}  # present but unreadable (a writer died mid-write: we write atomically)
    return record if isinstance(record, dict) else {}


def _write_holder(path: Path, holder: Holder) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(holder), handle, sort_keys=True)
    os.replace(tmp, path)


# -- taking and releasing ---------------------------------------------------------------
def _flock_until(home: Path, deadline: float) -> int:
    """An fd holding the exclusive flock on the home's lock file, or HomeBusy at deadline."""
    fd = os.open(home / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited (PEP 446)
    announced = False
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return fd
        except BlockingIOError:
            record = _read_holder(home / HOLDER_FILE) or {}
            if time.monotonic() >= deadline:
                os.close(fd)
                pid, host = record.get("pid", "?"), record.get("host", "?")
                raise HomeBusy(
                    f"COFRE_HOME {home} is in use by {describe(record)}. Wait for that run to "
                    f"finish, or check that process (pid {pid} on {host}): when it ends, its "
                    "lock is released. Raise COFRE_LOCK_WAIT_SECONDS to wait longer."
                ) from None
            if not announced:
                run_log().warning("Waiting for COFRE_HOME %s, held by %s", home, describe(record))
                announced = True
            time.sleep(POLL_SECONDS)


def _audit_takeover(settings: CofreSettings, target: str, stale: dict, holder: Holder) -> None:
    from blocks import audit  # imported late: the audit needs the keyring, the lock does not

    run_log().warning("Took over %s from %s, which died holding it.", target, describe(stale))
    audit.record(
        audit.Action.PIPELINE_RUN,
        target,
        details={"event": "lock_taken_over", "run_id": holder.run_id, "took_over_from": stale},
        outcome="warning",
        settings=settings,
    )


def _acquire(
    settings: CofreSettings, home: Path, holder: Holder, lake: Any, lease_seconds: float
) -> _Held:
    deadline = time.monotonic() + settings.lock_wait_seconds
    fd = _flock_until(home, deadline)
    held = _Held(home, fd, holder)
    try:
        stale = _read_holder(home / HOLDER_FILE)
        _write_holder(home / HOLDER_FILE, holder)
        if stale is not None:
            _audit_takeover(settings, str(home / LOCK_FILE), stale, holder)
        if lake is not None and not lake.is_local:
            bucket, key = lock_location(lake)
            sse = (lake.fs.s3_additional_kwargs or {}).get("ServerSideEncryption")
            held.lease = S3Lease(
                lake.s3_client(), bucket, key, asdict(holder), lease_seconds,
                {"ServerSideEncryption": sse} if sse else {},
            )  # fmt: skip
            dead = held.lease.acquire(deadline)
            if dead is not None:
                _audit_takeover(settings, held.lease.url, dead, holder)
    except BaseException:
        _release(held)
        raise
    return held


def _release(held: _Held) -> None:
    try:
        if held.lease is not None:
            held.lease.release()
    finally:
        with suppress(FileNotFoundError):
            (held.home / HOLDER_FILE).unlink()  # under the lock: a leftover means a death
        fcntl.flock(held.fd, fcntl.LOCK_UN)
        os.close(held.fd)


@contextmanager
def hold_home(
    settings: CofreSettings,
    lake: Any = None,
    *,
    run_id: str,
    command: str = "cofre",
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
) -> Iterator[Holder]:
    """Hold COFRE_HOME (and an S3 `lake`'s lock object) exclusively for the block.

    Sets the umask first. Re-entrant within a process. Raises HomeBusy naming the holder after
    `settings.lock_wait_seconds`, or at the end when another run took an S3 lease over."""
    mask = apply_umask(settings)
    home = settings.home.expanduser().resolve()
    with _held_guard:
        held = _held.get(home)
        if held is not None:
            held.depth += 1
        else:
            _make_private_home(home, mask)
            holder = Holder(run_id, _now(), socket.gethostname(), os.getpid(), command)
            held = _held[home] = _acquire(settings, home, holder, lake, lease_seconds)
    failed = False
    try:
        yield held.holder
    except BaseException:
        failed = True
        raise
    finally:
        with _held_guard:
            held.depth -= 1
            if held.depth == 0:
                del _held[home]
                _release(held)
    if not failed and held.depth == 0 and held.lease is not None and held.lease.lost:
        raise HomeBusy(
            f"This run lost the lake lock {held.lease.url} to another run while it worked (its "
            "lease went unrenewed, e.g. the process was paused). Both may have written: check "
            "the other run, then rerun this one."
        )


def uses_s3(settings: CofreSettings) -> bool:
    return bool(settings.lake_buckets) or settings.resolved_lake_url.startswith("s3://")


def is_held(settings: CofreSettings) -> bool:
    """True when this process already holds the settings' home (a stage inside a pipeline)."""
    with _held_guard:
        return settings.home.expanduser().resolve() in _held
