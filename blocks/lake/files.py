"""Local files and the lake: hashing bytes and files, and copying a local file into a local
lake (inside the kernel where it can, the copy hashed)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from blocks.errors import LakeError

CHUNK = 8 * 1024 * 1024


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path | str) -> tuple[str, int]:
    """Stream a local file; return (sha256 hex, size in bytes)."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def copy_file(source: Path | str, destination: str, expected: str | None = None) -> None:
    """Copy; with `expected`, read the copy back and raise unless it hashes to it.

    The bytes move inside the kernel where it can (`_copy_in_kernel`), else through this
    process. The copy is hashed, not the source as it is read: the check is on what landed.
    A kernel copy that does not hash right is done again through this process before the
    file is said to have changed (kernels have had copy_file_range bugs that wrote zeros).
    """
    in_kernel = _copy(source, destination, kernel=True)
    if expected is None or sha256_file(destination)[0] == expected:
        return
    if in_kernel:
        _copy(source, destination, kernel=False)
        if sha256_file(destination)[0] == expected:
            return
    raise changed_error(source, destination.rsplit(".tmp-", 1)[0])


def _copy(source: Path | str, destination: str, kernel: bool) -> bool:
    """Copy `source` over `destination`; True when the kernel moved some of the bytes."""
    with open(source, "rb") as src, open(destination, "wb") as dst:
        moved = _copy_in_kernel(src.fileno(), dst.fileno()) if kernel else 0
        while chunk := src.read(CHUNK):  # what the kernel did not copy, if anything
            dst.write(chunk)
    return moved > 0


# Bytes per `copy_file_range` call (the call may copy fewer; it is repeated to the end).
_KERNEL_CHUNK = 1 << 30


def _copy_in_kernel(source: int, destination: int) -> int:
    """Copy from the file descriptor `source` to `destination`, both at their offsets, with
    `os.copy_file_range` (Linux): no trip through user space, and shared blocks on file
    systems that can (XFS, Btrfs). At the 10x Olist set's landing, 1.0 s and 1.5 CPU-s ->
    0.5 s and 0.7 CPU-s (docs/performance.md). Returns the bytes copied. Stops early, leaving
    both offsets where it stopped, when the call is missing or refused (another OS, two file
    systems on an old kernel, a file system without it): the caller copies the rest."""
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is None:
        return 0
    copied = 0
    while True:
        try:
            moved = copy_range(source, destination, _KERNEL_CHUNK)
        except OSError:
            if copied:  # a real failure halfway (a full disk, an I/O error)
                raise
            return 0
        if not moved:  # the end (or a file system that reports none: the caller reads on)
            return copied
        copied += moved


def changed_error(source: Path | str, target: str) -> LakeError:
    return LakeError(
        f"{source} changed while it was being landed at {target} (its sha256 is no longer the "
        "one checked): nothing was written. Re-run once nothing is writing to the file."
    )
