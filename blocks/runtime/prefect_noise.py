"""Prefect's own noise off Cofre's console, for every entry point (`cofre`, `python -m
flows.*`, a worker's flow run; `./dev` sets the same variables).

- Telemetry: Prefect's client analytics and its server's telemetry service (which, offline,
  logs "ERROR ... Failed to send telemetry" from the temporary API) are off unless the user
  set `DO_NOT_TRACK` or `PREFECT_SERVER_ANALYTICS_ENABLED` themselves. A pipeline that keeps
  its data on the machine sends nothing home by default.
- Prefect's background senders (the events and API-log workers) warn "Still processing items:
  N items remaining..." while they drain at exit, as a command like `cofre secrets verify`
  ends: their loggers show errors only (their failures are still logged, as errors).
- Each task run's closing "Finished in state Completed()" (dozens a run, one per source,
  file and stage) stays off the console: the run's logs in the Prefect UI keep it, and a
  task that ends in any other state (failed, crashed, cached) still says so on the console.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping

NO_TELEMETRY = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
# Named after their class (prefect/_internal/concurrency/services.py), outside "prefect.".
DRAINING_LOGGERS = ("EventsWorker", "APILogWorker")
COMPLETED_TASK = "Finished in state Completed("  # prefect/task_engine.py's closing line


def quiet_prefect(env: MutableMapping[str, str]) -> None:
    """Turn telemetry off in `env` (unless set) and keep the draining warnings off the
    console (unless a level was set for those loggers). Before Prefect is imported for the
    settings to count; the server Prefect starts inherits `env` whenever it starts. Once it
    is (a worker's flow run), the task completions go off the console here; `python -m
    flows.*` does it once it has imported Prefect (flows/stage_cli.py)."""
    for name, value in NO_TELEMETRY.items():
        env.setdefault(name, value)
    for name in DRAINING_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
    if "prefect" in sys.modules:  # a worker's flow run: Prefect's console handler exists
        quiet_task_completions()


# `extra=UI_ONLY` on an INFO record: the run's logs in the Prefect UI keep it, the console
# does not (one line per landed object or written table; the stage's line and report say it).
UI_ONLY = {"console": False}


class DropTaskCompletions(logging.Filter):
    """A console handler's filter: drops a task run's "Finished in state Completed()" and the
    INFO records logged with `extra=UI_ONLY`."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.INFO and getattr(record, "console", True) is False:
            return False
        return not (
            record.name == "prefect.task_runs"
            and record.levelno == logging.INFO
            and record.getMessage().startswith(COMPLETED_TASK)
        )


def quiet_task_completions() -> None:
    """Install `DropTaskCompletions` on the root logger's console handlers (Prefect puts
    its console handler there when it is imported; the API handler is not touched)."""
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.StreamHandler):
            continue
        if not any(isinstance(f, DropTaskCompletions) for f in handler.filters):
            handler.addFilter(DropTaskCompletions())
