"""Freed memory goes back to the operating system between stages (the run's peak at 10x)."""

import gc
import io
import os

import pyarrow.csv as pacsv

from tasks.memory import release_freed_memory


def _rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_pages_freed_by_arrow_are_returned_to_the_os():
    # pyarrow's CSV reader (what silver parses bronze with) allocates from Arrow's pool, which
    # keeps freed pages for reuse: dropping the tables alone does not shrink the process.
    data = "\n".join(f"{i},name-{i},{i * 0.5}" for i in range(1_000_000)).encode()
    options = pacsv.ReadOptions(column_names=["id", "name", "value"])
    tables = [pacsv.read_csv(io.BytesIO(data), read_options=options) for _ in range(4)]
    assert sum(table.num_rows for table in tables) == 4_000_000
    del tables
    gc.collect()
    held = _rss_mib()

    release_freed_memory()

    assert _rss_mib() < held - 100, "Arrow's freed pages were not returned"


def test_releasing_memory_starts_no_process(monkeypatch):
    # `ctypes.util.find_library("c")` ran `ldconfig -p` on every release: a child of a 3 GiB
    # process, counted at the parent's size by the benchmark's process-tree RSS.
    import subprocess

    started = []

    def refuse(*args, **kwargs):
        started.append(args)
        raise AssertionError(f"release_freed_memory started a process: {args}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    release_freed_memory()
    release_freed_memory()
    assert started == []
