"""Logging that reaches the Prefect UI inside a run and plain logging outside one."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger


def run_logger(name: str) -> logging.Logger | logging.LoggerAdapter:
    """The current flow/task run's logger, or the module logger when no run is active."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(name)


def retry_only_on(
    retryable: type[Exception], *, never: tuple[type[Exception], ...] = ()
) -> Callable[[Any, Any, Any], bool]:
    """A Prefect `retry_condition_fn`: retry a failed task run only when its exception is a
    `retryable` (and not one of `never`); any other failure ends the run at once."""

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        try:
            state.result()
        except never:
            return False
        except retryable:
            return True
        except Exception:
            return False
        return False

    return condition


def current_run_id() -> str:
    """The Prefect flow run id when inside a run, else a fresh local id (lake `run_id=`)."""
    from prefect.runtime import flow_run

    run_id = flow_run.id
    if run_id:
        return str(run_id)
    import uuid

    return f"local-{uuid.uuid4().hex[:12]}"


@contextmanager
def exit_on_cofre_error() -> Iterator[None]:
    """For CLI entry points: a failure ends the process with one line, exit code 1.

    The full traceback stays in the Prefect run logs; the terminal gets what to do, and the
    tracebacks only under `--debug` (`blocks.errors.debug_requested`).
    """
    from blocks.errors import debug_requested, stop_on_cofre_error

    if not debug_requested():
        quiet_tracebacks_on_console()
    with stop_on_cofre_error():
        yield


class _DropCofreTracebacks(logging.Filter):
    """On the terminal only: Prefect's "Encountered exception" record for a `CofreError`
    is dropped (the closing `Cofre stopped:` line says it once); the API handler still sends
    it to the run's logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        from blocks.errors import CofreError

        return not (record.exc_info and isinstance(record.exc_info[1], CofreError))


class _WithoutTraceback(logging.Formatter):
    """The console's own formatter, minus the traceback of any record that carries one:
    a failed task's line stays, its 50-line trace goes to the run's logs only."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        saved = record.exc_info, record.exc_text, record.stack_info
        record.exc_info = record.exc_text = record.stack_info = None
        try:
            return self.inner.format(record)
        finally:  # the other handlers (the API's) still see the whole record
            record.exc_info, record.exc_text, record.stack_info = saved


def quiet_tracebacks_on_console() -> None:
    """Install both on the console handlers (Prefect's sits on the root logger)."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.StreamHandler):
            continue
        if not any(isinstance(f, _DropCofreTracebacks) for f in handler.filters):
            handler.addFilter(_DropCofreTracebacks())
        if not isinstance(handler.formatter, _WithoutTraceback):
            handler.setFormatter(_WithoutTraceback(handler.formatter or logging.Formatter()))
