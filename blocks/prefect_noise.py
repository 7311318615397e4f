"""Prefect's own noise off Cofre's console, for every entry point (`cofre`, `python -m
flows.*`, a worker's flow run; `./dev` sets the same variables).

- Telemetry: Prefect's client analytics and its server's telemetry service (which, offline,
  logs "ERROR ... Failed to send telemetry" from the temporary API) are off unless the user
  set `DO_NOT_TRACK` or `PREFECT_SERVER_ANALYTICS_ENABLED` themselves. A pipeline that keeps
  its data on the machine sends nothing home by default.
- Prefect's background senders (the events and API-log workers) warn "Still processing items:
  N items remaining..." while they drain at exit, as a command like `cofre secrets verify`
  ends: their loggers show errors only (their failures are still logged, as errors).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

NO_TELEMETRY = {"DO_NOT_TRACK": "1", "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
# Named after their class (prefect/_internal/concurrency/services.py), outside "prefect.".
DRAINING_LOGGERS = ("EventsWorker", "APILogWorker")


def quiet_prefect(env: MutableMapping[str, str]) -> None:
    """Turn telemetry off in `env` (unless set) and keep the draining warnings off the
    console (unless a level was set for those loggers). Before Prefect is imported for the
    settings to count; the server Prefect starts inherits `env` whenever it starts."""
    for name, value in NO_TELEMETRY.items():
        env.setdefault(name, value)
    for name in DRAINING_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.ERROR)
