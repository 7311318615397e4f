"""Who asked for this run, and whether it runs with the parameters its deployment declares.

A run from the command line (or from Python) was asked for by the local user on this host. A
run of a deployment was asked for through the Prefect API: it names the deployment and the flow
run. A deployment's parameters are what its operator declared (prefect.yaml); a flow run created
through the API may carry others, which narrow or (for inputs) are refused by sealed authority,
and are in any case made visible: `declared` is False and `undeclared` names them (values are
never recorded: a parameter may be long or personal).

A stage run inside the full pipeline is a subflow: its request is the outermost run's.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Mapping
from typing import Any
from uuid import UUID

_CACHE: dict[str, dict[str, Any]] = {}


def undeclared_parameters(run: Mapping[str, Any], declared: Mapping[str, Any]) -> list[str]:
    """Names of the run's parameters that the deployment does not declare with the same
    value (compared as JSON), sorted."""

    def canonical(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    return sorted(
        name
        for name, value in run.items()
        if name not in declared or canonical(value) != canonical(declared[name])
    )


def local_requester() -> str:
    """`user@host (command line)`: who started this process."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = f"uid {os.getuid()}"
    return f"{user}@{socket.gethostname()} (command line)"


def run_request(flow_run_id: str | None = None) -> dict[str, Any]:
    """{"requested_by", "declared", "undeclared"} for this flow run (its outermost run's,
    for a subflow). Outside a flow run: the local user. Reads the Prefect API."""
    if flow_run_id is None:
        from prefect.runtime import flow_run

        flow_run_id = flow_run.id
    if not flow_run_id:
        return {"requested_by": local_requester(), "declared": True, "undeclared": []}
    key = str(flow_run_id)
    if key not in _CACHE:
        _CACHE[key] = _read_request(key)
    return dict(_CACHE[key])


def _read_request(flow_run_id: str) -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        run = client.read_flow_run(UUID(flow_run_id))
        while run.parent_task_run_id is not None:  # a subflow: its outermost run asked
            parent = client.read_task_run(run.parent_task_run_id)
            if parent.flow_run_id is None:
                break
            run = client.read_flow_run(parent.flow_run_id)
        if run.deployment_id is None:
            return {"requested_by": local_requester(), "declared": True, "undeclared": []}
        deployment = client.read_deployment(run.deployment_id)
        flow = client.read_flow(deployment.flow_id)
    undeclared = undeclared_parameters(run.parameters or {}, deployment.parameters or {})
    return {
        "requested_by": f"deployment {flow.name}/{deployment.name}, flow run {run.id}",
        "declared": not undeclared,
        "undeclared": undeclared,
    }
