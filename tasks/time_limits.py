"""Stage time limits: Prefect's task timeout, made to stop a hung Spark job and to end in one line.

Prefect 3.9 enforces a sync task's `timeout_seconds` in one of two ways
(prefect/_internal/concurrency/cancellation.py, `cancel_sync_after`): in the main thread with
SIGALRM, which interrupts a blocking call (a py4j socket read, a lock wait) with
`CancelledError`; in any other thread by injecting that exception, which only lands when the
thread next runs Python code: never while it waits on the JVM for a Spark job. Neither stops
the job itself. So `time_limit` also starts a watchdog thread that runs `on_timeout` (cancel
the Spark jobs) at the same deadline: the waiting call then returns, and the task ends in one
`StageTimedOut` naming the setting, whichever exception arrived first.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from blocks.errors import StageTimedOut
from tasks.runlog import run_logger

CANCEL_WAIT_SECONDS = 30.0  # how long the task waits for the cancellation to be accepted


def current_task_timeout() -> float | None:
    """The running Prefect task's `timeout_seconds` (None outside a task or without one)."""
    from prefect.context import TaskRunContext

    context = TaskRunContext.get()
    return context.task.timeout_seconds if context else None


class _Once:
    """Run `action` at most once, from whichever thread asks first; never raise."""

    def __init__(self, action: Callable[[], None] | None) -> None:
        self._action, self._lock, self.ran = action, threading.Lock(), False

    def __call__(self) -> None:
        with self._lock:
            if self.ran:
                return
            self.ran = True
        if self._action is None:
            return
        try:
            self._action()
        except Exception as exc:  # the task still ends as timed out
            run_logger(__name__).warning("Cancelling the timed-out work failed: %s", exc)


def _run_in_own_thread(action: _Once) -> None:
    # This thread's py4j connection may have been interrupted mid-call: use a fresh thread.
    worker = threading.Thread(target=action, name="cofre-time-limit-cancel", daemon=True)
    worker.start()
    worker.join(CANCEL_WAIT_SECONDS)


@contextmanager
def time_limit(
    stage: str,
    setting: str,
    seconds: float | None,
    *,
    on_timeout: Callable[[], None] | None = None,
    aftermath: str = "nothing was published",
) -> Iterator[None]:
    """Run the body under a `seconds` limit (None: no limit).

    At the deadline a watchdog runs `on_timeout` (e.g. cancel every Spark job); Prefect's own
    timeout interrupts the body. Raises `StageTimedOut` naming `setting` when the body ended
    because of either; any other exception passes through unchanged.
    """
    if seconds is None:
        yield
        return
    cancel = _Once(on_timeout)
    watchdog = threading.Timer(seconds, cancel)
    watchdog.name, watchdog.daemon = f"cofre-{stage}-time-limit", True
    started = time.monotonic()
    watchdog.start()
    timed_out = False
    try:
        yield
    except BaseException as exc:
        # Prefect's CancelledError / TimeoutError near the deadline (its clock started just
        # before this one), or whatever a job raised once the watchdog had cancelled it.
        interrupted = isinstance(exc, asyncio.CancelledError | TimeoutError)
        if not (cancel.ran or (interrupted and time.monotonic() - started >= 0.9 * seconds)):
            raise
        timed_out = True  # raised below, outside this block: no chained py4j traceback
    finally:
        watchdog.cancel()
    if not timed_out:
        return
    _run_in_own_thread(cancel)  # Prefect's exception may have come before the watchdog
    raise StageTimedOut(
        f"The {stage} task stopped after {time.monotonic() - started:.0f} s, past its "
        f"{seconds:g} s limit ({setting}); {aftermath}. Raise {setting} if the data grew, "
        "or look for what hung (the Spark UI, the database's active queries)."
    )
