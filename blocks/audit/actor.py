"""Who is acting, for the `actor` field of an audit record: the Prefect flow and task run
(when inside one), host, user and pid."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from contextlib import suppress
from typing import Any


def _prefect_runs() -> tuple[dict | None, dict | None]:
    """(flow_run, task_run) as {"id", "name"} when inside a Prefect run, else None."""
    flow_run = task_run = None
    # Being inside a run implies Prefect is imported; never import it (slow) just to look.
    if "prefect" in sys.modules:
        with suppress(Exception):  # context is a nicety: the audit must never fail for it
            from prefect.context import FlowRunContext, TaskRunContext

            task_ctx, flow_ctx = TaskRunContext.get(), FlowRunContext.get()
            if task_ctx is not None:
                task_run = {"id": str(task_ctx.task_run.id), "name": task_ctx.task_run.name}
                if task_ctx.task_run.flow_run_id is not None:
                    flow_run = {"id": str(task_ctx.task_run.flow_run_id), "name": None}
            if flow_ctx is not None and flow_ctx.flow_run is not None:
                flow_run = {"id": str(flow_ctx.flow_run.id), "name": flow_ctx.flow_run.name}
    if flow_run is None and (run_id := os.environ.get("PREFECT__FLOW_RUN_ID")):
        flow_run = {"id": run_id, "name": None}  # a worker-started process before its flow
    return flow_run, task_run


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # containers often run a uid with no passwd entry
        return str(os.getuid())


def current_actor() -> dict[str, Any]:
    flow_run, task_run = _prefect_runs()
    return {
        "flow_run": flow_run,
        "task_run": task_run,
        "host": socket.gethostname(),
        "user": _user(),
        "pid": os.getpid(),
    }
