"""Ctrl-C that is never lost: the command line's SIGINT handler remembers the press.

Python raises `KeyboardInterrupt` wherever the main thread happens to be when SIGINT arrives.
Inside a native extension that calls back into Python and catches the error (measured: polars
building a Series from a NumPy string array, in the synthetic Olist generator), the
`KeyboardInterrupt` is swallowed and the run goes on to complete as if no key was pressed.
`catch_ctrl_c` installs a handler that raises as Python's own does and also records the press;
`raise_if_ctrl_c` (called between stages and at the end of a run, flows/run_frame.py) raises
it again where nothing can swallow it, so a Ctrl-C always ends the run as interrupted.

The handler never raises while the import system's global lock is held. A
`KeyboardInterrupt` raised between the lock's acquire and the `with` that releases it (an
import in the main thread, e.g. a module the generator loads lazily) leaks the lock: every
thread that imports afterwards waits for ever, and the main thread, joining Prefect's task
threads, with them (measured: 1 run in 5 of an interrupted 200,000-order ingestion hung).
The press is then delivered again a moment later, once the lock is free.

Standard library only: the stage CLIs install it before Prefect is imported.
"""

from __future__ import annotations

import _imp
import signal
import threading
import time

_PRESSED = threading.Event()
REDELIVER_SECONDS = 0.01


def _on_ctrl_c(signum: int, frame: object) -> None:
    _PRESSED.set()
    if _imp.lock_held():
        threading.Thread(target=_redeliver, name="cofre-ctrl-c", daemon=True).start()
        return
    raise KeyboardInterrupt


def _redeliver() -> None:
    """Signal the main thread again, once the import lock is free (a real signal, not
    `_thread.interrupt_main`, so that a sleep or a wait in the main thread wakes up too)."""
    time.sleep(REDELIVER_SECONDS)
    while _imp.lock_held():
        time.sleep(REDELIVER_SECONDS)
    signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)


def catch_ctrl_c() -> None:
    """For a command line's main thread: SIGINT raises `KeyboardInterrupt` (as Python's
    default handler does) and is remembered for `raise_if_ctrl_c`. A no-op off the main
    thread, where no signal handler can be installed."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, _on_ctrl_c)


def ctrl_c_pressed() -> bool:
    """True once Ctrl-C has been pressed in this process (under `catch_ctrl_c`)."""
    return _PRESSED.is_set()


def raise_if_ctrl_c() -> None:
    """Raise `KeyboardInterrupt` if Ctrl-C was pressed, even if its first raise was
    swallowed on the way: a checkpoint between stages and before a run is closed."""
    if _PRESSED.is_set():
        raise KeyboardInterrupt
