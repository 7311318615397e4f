"""The audit trail's file: `audit.jsonl` beside `audit.lock`, read and written under `flock`.

Appends take an exclusive lock; readers take a shared one to learn the size, then read only
that many bytes, so a reader never sees a half-written line. Lines split on b"\\n" only.
"""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from blocks.errors import AuditIntegrityError

TRAIL_FILE = "audit.jsonl"
LOCK_FILE = "audit.lock"
GENESIS_HASH = "0" * 64
_READ_BLOCK = 64 * 1024


def trail_lines(path: Path, size: int) -> Iterator[tuple[int, bytes, bool]]:
    """(line number, bytes without newline, ended by a newline) for the first `size` bytes.
    Splits on b"\\n" only: str.splitlines would also split on U+2028 inside a value."""
    with open(path, "rb") as handle:
        pending, left, number = b"", size, 0
        while left > 0 and (block := handle.read(min(_READ_BLOCK, left))):
            left -= len(block)
            *complete, pending = (pending + block).split(b"\n")
            for raw in complete:
                number += 1
                yield number, raw, True
        if pending:
            yield number + 1, pending, False


def parse_record(raw: bytes) -> dict[str, Any] | None:
    """The record on one line, or None when it is not JSON with an int seq and a str hash."""
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    usable = isinstance(record, dict) and isinstance(record.get("seq"), int)
    return record if usable and isinstance(record.get("hash"), str) else None


def trail_size(path: Path, lock_path: Path) -> int:
    """The trail's size under a shared lock, so a reader never sees a half-written line."""
    if not path.exists():
        return 0
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # a read-only copy (evidence, backup): nobody is appending to it
        return path.stat().st_size
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        return path.stat().st_size
    finally:
        os.close(fd)


def read_trail_records(path: Path, lock_path: Path) -> list[dict[str, Any]]:
    """Every record in file order, unverified. Raises AuditIntegrityError on a broken line."""
    records = []
    for number, raw, complete in trail_lines(path, trail_size(path, lock_path)):
        record = parse_record(raw) if complete else None
        if record is None:
            raise AuditIntegrityError(
                f"Audit trail {path} line {number} is not a complete "
                "record; run `verify` to see what happened to it."
            )
        records.append(record)
    return records


def exclusive_lock(lock_path: Path) -> AbstractContextManager[None]:
    """Hold `audit.lock` exclusively: appends from every thread and process serialise here."""
    return _flock(lock_path, fcntl.LOCK_EX)


def shared_lock(lock_path: Path) -> AbstractContextManager[None]:
    """Hold `audit.lock` shared: no append is half-done while it is held."""
    return _flock(lock_path, fcntl.LOCK_SH)


@contextmanager
def _flock(lock_path: Path, operation: int) -> Iterator[None]:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, operation)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def last_record(fd: int, path: Path) -> dict[str, Any] | None:
    """The last record (None for an empty file), reading backwards from the end of the file."""
    end = os.fstat(fd).st_size
    if end == 0:
        return None
    start, data = end, b""
    while start > 0 and b"\n" not in data[:-1]:  # widen until the last line is whole
        start = max(0, start - 8192)
        data = os.pread(fd, end - start, start)
    record = parse_record(data[:-1].rsplit(b"\n", 1)[-1]) if data.endswith(b"\n") else None
    if record is None:
        raise AuditIntegrityError(
            f"Refusing to append to {path}: its last line is not a complete record "
            "(a crash mid-write, or tampering). Run `cofre audit verify`, then `cofre audit "
            "restore` (from the lake mirror) or a backup before auditing resumes."
        )
    return record


def first_record(path: Path) -> dict[str, Any] | None:
    """The first line's record, or None when it is missing or not a record."""
    try:
        with open(path, "rb") as handle:
            line = handle.readline()
    except FileNotFoundError:
        return None
    return parse_record(line.rstrip(b"\n")) if line.endswith(b"\n") else None


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
