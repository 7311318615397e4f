"""Logging that reaches the Prefect UI inside a run and plain logging outside one."""

from __future__ import annotations

import logging

from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger


def run_logger(name: str) -> logging.Logger | logging.LoggerAdapter:
    """The current flow/task run's logger, or the module logger when no run is active."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(name)
