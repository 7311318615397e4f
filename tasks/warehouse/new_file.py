"""A new SQLite warehouse is built aside and published whole.

The first load into a warehouse file that does not exist yet (a new `COFRE_HOME`, a new
`sqlite:///` path) migrates and loads a file of its own beside it, `.NAME.new-HOST-PID-HEX`, then
gives it its name with a hard link, which never replaces a file: readers find either no
warehouse or the loaded one, never a half-built file and never "database is locked". Nobody
else can open the file while it is built, so the load needs no write-ahead log
(`load_sqlite(new_file=True)`): the rows are written once, not to the log and again by its
checkpoint (10x: about 1.2 s of a 6 s load). The file is synced once, before its link.

When a file appeared under the name meanwhile (a dashboard that connected and so created an
empty one), or the file system has no hard links, the link fails, the aside is removed and
the caller loads the way it loads an existing warehouse. A build that fails leaves no file
behind; an aside whose process died (a crash, a kill) is removed by the next build of the
same warehouse on the same machine (HOST tags the machine: on a shared directory, another
machine's process ids say nothing here, so its asides are left alone).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import uuid
from pathlib import Path

from blocks.audit.trail_file import fsync_directory
from tasks.warehouse.connection import Warehouse, sqlite_engine
from tasks.warehouse.load import sqlite_file

_MARK = ".new-"
_HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]  # no "-" in it


def aside_for(warehouse: Warehouse) -> Warehouse | None:
    """A warehouse on a new file beside `warehouse`'s, when it is SQLite and its file does not
    exist yet; None otherwise (PostgreSQL, or an existing file: load it in place)."""
    if warehouse.dialect != "sqlite":
        return None
    path = Path(sqlite_file(warehouse))
    _remove_dead_asides(path)
    if path.exists():
        return None
    name = f".{path.name}{_MARK}{_HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    aside = path.with_name(name)
    return Warehouse(sqlite_engine(f"sqlite:///{aside}"), warehouse.description)


def publish(aside: Warehouse, warehouse: Warehouse) -> bool:
    """Sync the built file and give it the warehouse's name; the aside name goes either way.
    False when nothing was published: a file took that name meanwhile, or the file system
    has no hard links (load in place instead)."""
    aside.dispose()
    source, target = Path(sqlite_file(aside)), Path(sqlite_file(warehouse))
    try:
        with open(source, "rb") as handle:
            os.fsync(handle.fileno())
        try:
            os.link(source, target)  # never replaces a file, unlike a rename
        except OSError:  # FileExistsError; EPERM / ENOTSUP where links are not supported
            return False
    finally:
        discard(aside)
    fsync_directory(target.parent)  # the new name survives a power cut
    return True


def discard(aside: Warehouse) -> None:
    """Remove the aside file and any journal of it (a failed build, or after `publish`)."""
    aside.dispose()
    path = Path(sqlite_file(aside))
    for suffix in ("", "-journal", "-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            path.with_name(path.name + suffix).unlink()


def _remove_dead_asides(path: Path) -> None:
    prefix = f".{path.name}{_MARK}{_HOST}-"  # this machine's
    with contextlib.suppress(FileNotFoundError):
        for leftover in path.parent.iterdir():
            if not leftover.name.startswith(prefix):
                continue
            pid = leftover.name[len(prefix) :].split("-", 1)[0]
            if pid.isdigit() and not _alive(int(pid)):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
