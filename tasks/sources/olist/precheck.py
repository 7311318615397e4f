"""The Olist check run ahead, in a child process, while `python -m flows.*` loads the pipeline.

`check_olist_dir` reads every byte of the 9 files (10x: 730 MB, 0.8 s on two cores), and it is
the ingestion's first step. Before it can start, the command line spends about 1.5 s importing
Prefect, polars and the flows and creating the flow run, on one core, holding the GIL: a
thread could not check beside that (each of its numpy calls waits for the GIL), a process can.
So `flows/stage_cli.py` starts `python -m tasks.sources.olist.precheck DIR` once the command
line's checks have passed, and the ingestion's check task (`checked_olist_dir`,
tasks/sources/olist/ingest.py) takes its answer.

What keeps this the same check:

- It starts only where the command line already looked at the directory: a real Olist
  directory for a stage that ingests it (not synthetic, not `--resume`, not `--only` without
  olist), after `flows/preflight.py` refused one outside a sealed config's roots. So no file is
  read that the run would not read anyway.
- Its answer is used for the same resolved directory only, and only when the directory lists
  the same files and each has the identity (device, inode, size, modification time in ns) the
  child saw before reading it. Otherwise, and whenever the child found a problem, failed or
  did not answer, the check runs in this process as before, so every error is reported as it
  always was. The landing hashes its copy against the sha256 the check found (as before), so
  a file rewritten in place with the same identity still fails to land.
- The warnings the child's check logged (extra files, a byte order mark) are logged again in
  this process, by the same logger, when its answer is used. A file whose quoting breaks (its
  row count is an estimate, with a warning of its own) is checked again here.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

from tasks.sources.olist.check import OlistFile, check_olist_dir, log
from tasks.sources.olist.layout import present_files

_LOCK = threading.Lock()
_STARTED: dict[Path, subprocess.Popen] = {}


def start_precheck(directory: Path | str) -> None:
    """Start checking `directory` in a child process (one per directory; a no-op when one runs)."""
    resolved = Path(directory).resolve()
    with _LOCK:
        if resolved in _STARTED:
            return
        try:
            child = subprocess.Popen(  # this interpreter, this module, a path
                [sys.executable, "-m", __name__, str(resolved)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return  # the check runs in this process
        _STARTED[resolved] = child
    atexit.register(_stop, child)


def take_precheck(directory: Path | str) -> list[OlistFile] | None:
    """The child's answer for `directory`, if one was started and it still holds; else None
    (check here). Waits for the child when it is still reading."""
    with _LOCK:
        child = _STARTED.pop(Path(directory).resolve(), None)
    if child is None:
        return None
    try:
        out, _ = child.communicate()
    except BaseException:
        _stop(child)
        raise
    if child.returncode != 0:
        return None
    try:
        answer = json.loads(out)
        if answer["identities"] != identities(Path(answer["directory"])):
            return None
    except (ValueError, KeyError, OSError):  # the check here names what is wrong
        return None
    for level, message in answer["warnings"]:
        log.log(level, "%s", message)
    return [
        OlistFile(f["name"], Path(f["path"]), f["dataset"], f["rows"], None, _pair(f["sha256"]))
        for f in answer["files"]
    ]


def _pair(sha256: list | None) -> tuple[str, int] | None:
    return (sha256[0], sha256[1]) if sha256 else None


def identities(directory: Path) -> dict[str, list[int]]:
    """{file name: [device, inode, size, mtime_ns]} of every file `directory` lists."""
    found = {}
    for name in sorted(present_files(directory)):
        stat = os.stat(directory / name)
        found[name] = [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns]
    return found


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.kill()
        child.wait()


class _Recorded(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append((record.levelno, record.getMessage()))


def _answer(directory: Path) -> dict | None:
    """What the child prints: the check's result with what it saw, or None (check in the
    parent: a problem, or a row count that is an estimate)."""
    seen = identities(directory)  # before any byte is read
    recorded = _Recorded()
    log.addHandler(recorded)
    log.propagate = False  # the parent logs them, once, if it uses this answer
    try:
        files = check_olist_dir(directory)
    except Exception:  # whatever it is, the parent's own check reports it
        return None
    if any(file.rows_note is not None for file in files):
        return None
    return {
        "directory": str(directory),
        "identities": seen,
        "warnings": recorded.records,
        "files": [
            {
                "name": file.name,
                "path": str(file.path),
                "dataset": file.dataset,
                "rows": file.rows,
                "sha256": list(file.sha256) if file.sha256 else None,
            }
            for file in files
        ],
    }


if __name__ == "__main__":
    if hasattr(os, "nice"):  # the parent's imports come first; this takes the idle core
        os.nice(10)
    answer = _answer(Path(sys.argv[1]))
    if answer is None:
        raise SystemExit(1)
    sys.stdout.write(json.dumps(answer))
