"""Cofre's module loggers in each run's Prefect logs (the UI's Logs tab), not only the console.

Inside a run most of Cofre logs through `get_run_logger()`, but some code cannot: `spark/`
knows nothing of Prefect, threads (Spark's warm-up, the S3 lease renewal) run outside the run
context, and `cofre.audit` / `cofre.home_lock` are plain loggers. Prefect attaches the loggers
named in `PREFECT_LOGGING_EXTRA_LOGGERS` to its API log handler when it sets up logging, at
its first import. Not py4j (protocol chatter; its errors reach Cofre as exceptions) and not
`panel_dashboard` (it never runs inside a flow). Spark's JVM logs through log4j to stderr,
which no Python logger sees.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping

COFRE_LOGGERS = ("cofre", "blocks", "tasks", "spark", "validation", "flows")
EXTRA_LOGGERS = "PREFECT_LOGGING_EXTRA_LOGGERS"
# Cofre's loggers also log outside runs (the CLI, the dashboard), where the API handler has no
# run to send to and Prefect would warn on every record; Cofre prints those to the console.
WHEN_MISSING_FLOW = "PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"


def merged_extra_loggers(value: str | None) -> str:
    """`value` (a user's own comma-separated list, kept first) plus Cofre's loggers."""
    names = [name.strip() for name in (value or "").split(",") if name.strip()]
    return ",".join(names + [name for name in COFRE_LOGGERS if name not in names])


def send_cofre_logs_to_prefect(env: MutableMapping[str, str]) -> None:
    """Before Prefect is imported: add Cofre's loggers to `PREFECT_LOGGING_EXTRA_LOGGERS`
    (merged with the user's value). Once it is (a worker's flow run imports Prefect before
    Cofre): attach them to Prefect's `prefect.extra` handlers now, as Prefect would have.
    Either way Cofre's loggers pass INFO unless a level was set for them."""
    for name in COFRE_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
    if "prefect" not in sys.modules:
        env[EXTRA_LOGGERS] = merged_extra_loggers(env.get(EXTRA_LOGGERS))
        env.setdefault(WHEN_MISSING_FLOW, "ignore")
        return
    handlers = logging.getLogger("prefect.extra").handlers  # empty until Prefect sets up
    for name in COFRE_LOGGERS:
        logger = logging.getLogger(name)
        for handler in handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
