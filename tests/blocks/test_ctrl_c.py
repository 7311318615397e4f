"""Ctrl-C never raises while the import system's global lock is held (blocks/runtime/ctrl_c.py).

Raised there, the `KeyboardInterrupt` leaks the lock and every later import in any thread
waits for ever: an interrupted ingestion hung that way. The press must arrive once the lock
is free instead. Signals are process-wide, so the check runs in a child process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import _imp, os, signal, time
from blocks.runtime.ctrl_c import catch_ctrl_c, ctrl_c_pressed

catch_ctrl_c()
_imp.acquire_lock()  # as importlib holds it between acquiring and its `with`
try:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(100_000):  # the handler runs between these bytecodes, the lock held
        pass
    print("held: not raised; pressed", ctrl_c_pressed(), flush=True)
finally:
    _imp.release_lock()
started = time.monotonic()
try:
    time.sleep(10)  # a wait in the main thread must wake up too
    print("lost", flush=True)
except KeyboardInterrupt:
    late = time.monotonic() - started > 5
    print("raised late" if late else "raised once the lock was free", flush=True)
"""


def test_ctrl_c_waits_for_the_import_lock_then_raises():
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.splitlines() == [
        "held: not raised; pressed True",
        "raised once the lock was free",
    ], run.stdout + run.stderr[-2000:]
