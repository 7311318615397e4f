"""How a command line ends: `cofre` (flows/cli.py) and `python -m flows.*` (flows/stage_cli.py).

One error wrapper, `stop_on_cofre_error`: a failure ends the process with one line and exit
code 1 (130 for Ctrl-C), the traceback only under `--debug`. On the console, once Prefect's
handlers exist, `quiet_tracebacks_on_console` keeps a failed task's line and sends its
traceback to the run's logs only. Standard library and `blocks.errors` only: the stage CLIs
import it before Prefect.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from blocks.errors import CofreError, RunInterrupted

INTERRUPTED_EXIT_CODE = 130  # 128 + SIGINT, what a shell reports for a Ctrl-C'd command

EXIT_DEADLINE_SECONDS = 30.0  # after Ctrl-C, the longest a clean shutdown may take

DEBUG_VARIABLE = "COFRE_DEBUG"  # set by --debug; read from the environment only, so the
# failure path never depends on settings that may be the very thing that failed


def debug_requested() -> bool:
    """True under `--debug` (or COFRE_DEBUG=1): failures show their full traceback."""
    return os.environ.get(DEBUG_VARIABLE, "").lower() in ("1", "true", "yes")


def request_debug() -> None:
    """What `--debug` does: this process and the ones it starts show tracebacks."""
    os.environ[DEBUG_VARIABLE] = "1"


@contextmanager
def stop_on_cofre_error() -> Iterator[None]:
    """For entry points (the `cofre` CLI, `python -m flows.*`): a failure ends the process
    with one line, `Cofre stopped: <type>: <message>`, and exit code 1.

    A `CofreError`'s message already says where and what to do next; a traceback would bury
    it. Any other exception is unexpected: its line says so and how to see the traceback.
    Ctrl-C ends it with `Cofre interrupted (Ctrl-C) ...` (a `RunInterrupted` says during which
    stage and what was published) and exit code 130. Under `--debug` every failure and
    interruption is re-raised with its traceback.
    """
    try:
        yield
    except KeyboardInterrupt as exc:
        if debug_requested():
            raise
        where = f" {exc}" if isinstance(exc, RunInterrupted) else ""
        print(f"\nCofre interrupted (Ctrl-C){where}", file=sys.stderr)
        exit_by_deadline(INTERRUPTED_EXIT_CODE)
        raise SystemExit(INTERRUPTED_EXIT_CODE) from None
    except CofreError as exc:
        if debug_requested():
            raise
        print(f"\nCofre stopped: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as exc:  # the entry point's last word on any failure
        if debug_requested() or hasattr(exc, "exit_code"):
            raise  # click/typer's Exit and Abort carry their own exit code
        from blocks.runtime.redaction import redact  # a driver's message may quote a URL or a DSN

        first = redact(str(exc).splitlines()[0]) if str(exc).strip() else "(no message)"
        print(
            f"\nCofre stopped: {type(exc).__name__}: {first} (unexpected: rerun with --debug "
            "for the traceback)",
            file=sys.stderr,
        )
        raise SystemExit(1) from None


def exit_by_deadline(code: int, seconds: float | None = None) -> None:
    """After Ctrl-C the process ends within `seconds` (EXIT_DEADLINE_SECONDS), whatever it was
    doing. Python waits for every non-daemon thread before it exits; a `KeyboardInterrupt`
    raised at an arbitrary point can leave one waiting forever (a lock never released, a task
    thread whose flow is gone), and the command would hang after its last line. Past the
    deadline: one line, the temporary Prefect API stopped (it is a child process), exit `code`.
    The run was already audited as interrupted and its home released."""
    wait = EXIT_DEADLINE_SECONDS if seconds is None else seconds

    def deadline() -> None:
        time.sleep(wait)
        print(f"Cofre: still shutting down {wait:g} s after Ctrl-C; exiting now",
              file=sys.stderr, flush=True)  # fmt: skip
        _stop_temporary_prefect_api()
        os._exit(code)

    threading.Thread(target=deadline, name="cofre-exit-deadline", daemon=True).start()


def _stop_temporary_prefect_api() -> None:
    """Stop the temporary Prefect API this process started, if any (Prefect stops it at exit,
    which a hard exit skips)."""
    server = sys.modules.get("prefect.server.api.server")
    instances = getattr(getattr(server, "SubprocessASGIServer", None), "_instances", {})
    for instance in list(instances.values()):
        process = getattr(instance, "server_process", None)
        if process is not None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except Exception:  # the last resort must not stop the exit
                process.kill()


class _DropCofreTracebacks(logging.Filter):
    """On the terminal only: Prefect's "Encountered exception" record for a `CofreError`
    is dropped (the closing `Cofre stopped:` line says it once); the API handler still sends
    it to the run's logs."""

    def filter(self, record: logging.LogRecord) -> bool:
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
