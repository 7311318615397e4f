"""A new SQLite warehouse is built aside and published whole.

The first load into a warehouse file that does not exist yet (a new `COFRE_HOME`, a new
`sqlite:///` path) migrates and loads a file of its own beside it, `.NAME.new-HOST-PID-HEX`, then
gives it its name with a hard link, which never replaces a file: readers find either no
warehouse or the loaded one, never a half-built file and never "database is locked". Nobody
else can open the file while it is built, so the load needs no write-ahead log
(`load_sqlite(new_file=True)`): the rows are written once, not to the log and again by its
checkpoint (10x: about 1.2 s of a 6 s load). The file is synced while it is loaded
(`written_back`: the disk writes while the load computes) and once more before its link.

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
import threading
import uuid
from collections.abc import Iterator
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


# While a new file is loaded, what is written so far goes to the disk every this many seconds,
# so the sync before it is published finds little left (10x: that sync 0.40-0.46 s -> 0.02-0.17 s,
# the load 4.69-4.87 -> 4.48-4.68 s: the disk writes while the load computes).
WRITE_BACK_SECONDS = 0.25


@contextlib.contextmanager
def written_back(aside: Warehouse) -> Iterator[None]:
    """While the body loads `aside`'s file, a thread syncs the file every WRITE_BACK_SECONDS.

    A failed sync fails the load (`OSError`), after the body: once one descriptor has seen a
    write error, the kernel need not report it to the next, so `publish`'s own sync could
    pass over it. The thread's descriptor is closed only after the body has returned: closing
    any descriptor of a file drops every POSIX lock this process holds on it (SQLite's
    included), and by then the load's connection is closed."""
    path = sqlite_file(aside)
    fd = os.open(path, os.O_RDONLY)
    stop = threading.Event()
    failed: list[OSError] = []

    def sync() -> None:
        while not stop.wait(WRITE_BACK_SECONDS):
            try:
                os.fsync(fd)
            except OSError as error:
                failed.append(error)
                return

    thread = threading.Thread(target=sync, name="warehouse-write-back", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        os.close(fd)
    if failed:
        error = failed[0]
        raise OSError(
            error.errno,
            f"Writing the new warehouse file {path} to disk failed ({error.strerror}); nothing "
            "was published. Check the disk (space, errors) and load again.",
        ) from error


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
