"""Measuring for the benchmarks: a call's wall time (`timed`), and a command from outside,
its wall time, CPU seconds and the peak RSS of its whole process tree (Python plus the Spark
JVM or Prefect API it starts), sampled from /proc every 100 ms (`run_measured`)."""

from __future__ import annotations

import contextlib
import resource
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float]:
    """`action()`'s result and the seconds it took."""
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


@dataclass
class Measured:
    wall: float
    peak_rss_mib: float
    cpu: float  # user + system seconds of the command and every child it waited for
    result: subprocess.CompletedProcess


def _children(pid: int) -> list[int]:
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            with contextlib.suppress(OSError):
                pending += [int(p) for p in (task / "children").read_text().split()]
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_measured(command: list[str], env: dict, cwd: Path) -> Measured:
    """Run `command` to completion; stdout and stderr are captured as text. One command at a
    time: its CPU seconds are this process's reaped children's, before and after."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.1):
            peak = max(peak, sum(_rss_kib(pid) for pid in _children(process.pid)))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    result = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    return Measured(wall, round(peak / 1024, 1), round(cpu, 2), result)
