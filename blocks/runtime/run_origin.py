"""Who started this flow run, as the Prefect API tells it, and the refusal of run overrides.

A writer of the Prefect API can create a run of a Cofre deployment with its own job variables:
on a process pool whose base job template takes them, `command` is the shell command the worker
runs and `env` is merged into the flow's environment (COFRE_*, AWS_*, PG*, PREFECT_*, proxies,
PYTHON*, LD_* ...). The locked pool (deploy/cofre-local-pool.json) refuses and ignores both; this
is the defence in depth for a pool that is not locked. `refuse_undeclared_overrides` runs first
in every Cofre flow (flows/run_frame.py), before any setting, block or secret is read: a flow run
of a deployment whose job variables are not the deployment's own stops with one line naming the
job variable and records a SECURITY_INCIDENT (names only, never a value). A run outside any
deployment (the CLI, a subflow) is not affected.

It cannot stop what ran before the flow: a per-run `command` replaces the flow process itself,
and pull steps run before any flow code. Only the locked pool, API authentication and network
isolation stop those (docs/security.md, "Threat model").
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from blocks.errors import ConfigurationError

POOL_TEMPLATE = "deploy/cofre-local-pool.json"


class RunOverrideRefused(ConfigurationError):
    """A flow run of a deployment was created with job variables its deployment does not
    declare: refused before any secret is read, audited as SECURITY_INCIDENT."""


@dataclass(frozen=True)
class RunOrigin:
    """A flow run of a deployment: its names and both sets of job variables."""

    flow_run_id: str
    flow_run_name: str
    deployment: str  # "flow/deployment"
    run_job_variables: Mapping[str, Any] = field(default_factory=dict)
    deployment_job_variables: Mapping[str, Any] = field(default_factory=dict)


def undeclared_overrides(
    run_job_variables: Mapping[str, Any], deployment_job_variables: Mapping[str, Any]
) -> list[str]:
    """The run's job variables that its deployment does not declare with the same value,
    named as Prefect takes them (`command`, `env.PGHOST`, `working_dir`), sorted.
    An `env` entry counts one by one, in either form (`{"env": {...}}` or `"env.NAME"`)."""
    declared_env = deployment_job_variables.get("env") or {}
    declared_env = declared_env if isinstance(declared_env, Mapping) else {}
    found: set[str] = set()
    for key, value in run_job_variables.items():
        if key == "env" and isinstance(value, Mapping):
            found.update(
                f"env.{name}"
                for name, item in value.items()
                if name not in declared_env or declared_env[name] != item
            )
        elif key.startswith("env."):
            name = key[len("env.") :]
            if name not in declared_env or declared_env[name] != value:
                found.add(key)
        elif key not in deployment_job_variables or deployment_job_variables[key] != value:
            found.add(key)
    return sorted(found)


def read_run_origin(flow_run_id: str) -> RunOrigin | None:
    """This flow run and its deployment, from the Prefect API; None outside any deployment.
    Raises `ConfigurationError` (one line) when the API cannot say."""
    from prefect.client.orchestration import get_client

    try:
        with get_client(sync_client=True) as client:
            run = client.read_flow_run(UUID(flow_run_id))
            if run.deployment_id is None:
                return None
            deployment = client.read_deployment(run.deployment_id)
            flow = client.read_flow(deployment.flow_id)
    except Exception as exc:  # any API failure: the run cannot prove where it came from
        raise ConfigurationError(
            f"Could not read flow run {flow_run_id} and its deployment from the Prefect API "
            f"({type(exc).__name__}); nothing was read or started. Check PREFECT_API_URL and "
            "PREFECT_API_AUTH_STRING on the worker, then run it again."
        ) from None
    return RunOrigin(
        flow_run_id=flow_run_id,
        flow_run_name=run.name,
        deployment=f"{flow.name}/{deployment.name}",
        run_job_variables=dict(run.job_variables or {}),
        deployment_job_variables=dict(deployment.job_variables or {}),
    )


def _in_effect(job_variable: str, origin: RunOrigin) -> bool | None:
    """For an `env` override: is its value this process's environment (None: not env)?"""
    if not job_variable.startswith("env."):
        return None
    name = job_variable[len("env.") :]
    value = origin.run_job_variables.get(job_variable)
    env = origin.run_job_variables.get("env")
    if isinstance(env, Mapping) and name in env:
        value = env[name]
    return name in os.environ and os.environ[name] == value


def refuse_undeclared_overrides(flow_run_id: str | None = None) -> None:
    """Raise `RunOverrideRefused` (audited) when this flow run of a deployment was created with
    job variables the deployment does not declare. No-op outside a flow run or a deployment.
    Reads nothing but the Prefect API (and, to record the incident, the audit trail)."""
    if flow_run_id is None:
        from prefect.runtime import flow_run

        flow_run_id = flow_run.id
    if not flow_run_id:
        return
    origin = read_run_origin(str(flow_run_id))
    if origin is None:
        return
    overrides = undeclared_overrides(origin.run_job_variables, origin.deployment_job_variables)
    if not overrides:
        return
    from blocks import audit

    audit.record(
        audit.Action.SECURITY_INCIDENT,
        f"prefect-deployment/{origin.deployment}",
        details={
            "check": "run_override",
            "flow_run_id": origin.flow_run_id,
            "job_variables": overrides,
            "in_effect": [name for name in overrides if _in_effect(name, origin)],
        },
        outcome="failure",
        compliance="LGPD_WARNING",
    )
    from blocks.runtime import events

    named = ", ".join(overrides)
    error = RunOverrideRefused(
        f"Flow run {origin.flow_run_name} of deployment {origin.deployment} was created with "
        f"job variable {named}, which the deployment does not declare; nothing was read or "
        "started and a SECURITY_INCIDENT was audited. Run the deployment without job "
        "variables (or declare them in prefect.yaml and deploy again), and lock the pool: "
        f"prefect work-pool create cofre-local --type process --base-job-template "
        f"{POOL_TEMPLATE} --overwrite."
    )
    raise events.mark_notified(error, events.SECURITY_INCIDENT)  # the incident says it
