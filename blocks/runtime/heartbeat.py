"""The heartbeat of a run started from Cofre's command line, which stops the moment it ends.

Prefect's engine emits a `prefect.flow-run.heartbeat` event every `flows.heartbeat_frequency`
seconds from a thread that sleeps in 1 s steps, and joins that thread when the flow ends: every
run waited about half a second (up to 1 s) for it after its last stage (docs/performance.md).
`python -m flows.<stage>` (flows/stage_cli.py) turns the engine's heartbeat off around the flow
call (`engine_heartbeat_replaced`) and the run's outermost body emits the same event itself
(`run_heartbeat`), from a thread that waits on an event and so ends at once. Runs started any
other way (a deployment on a worker, a flow called from Python) keep Prefect's own heartbeat.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

# Seconds between heartbeats for the outermost run body of this call; None: Prefect's own
# heartbeat is on (or heartbeats are off), emit nothing.
_REPLACED: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "cofre_heartbeat_seconds", default=None
)
_MINIMUM_SECONDS = 30  # Prefect's own floor for the setting


@contextlib.contextmanager
def engine_heartbeat_replaced() -> Iterator[None]:
    """Around a flow call: the engine's heartbeat off, `run_heartbeat` on at the same period."""
    from prefect.settings import get_current_settings, temporary_settings

    seconds = get_current_settings().flows.heartbeat_frequency
    if seconds is None:  # heartbeats turned off by the user: leave them off
        yield
        return
    token = _REPLACED.set(max(seconds, _MINIMUM_SECONDS))
    try:
        with temporary_settings(updates={"flows.heartbeat_frequency": None}):
            yield
    finally:
        _REPLACED.reset(token)


@contextlib.contextmanager
def run_heartbeat() -> Iterator[None]:
    """Inside a run's outermost body: emit the flow run's heartbeat now and every period
    until the body ends, when `engine_heartbeat_replaced` asked for it; else do nothing."""
    from prefect.context import FlowRunContext

    seconds = _REPLACED.get()
    context = FlowRunContext.get()
    if seconds is None or context is None or context.flow_run is None:
        yield
        return
    token = _REPLACED.set(None)  # flows called inside this one: this heartbeat covers them
    stop = threading.Event()
    event = _heartbeat_event(context)
    thread = threading.Thread(
        target=contextvars.copy_context().run,  # the run's settings (its API URL) included
        args=(_beat, event, seconds, stop),
        name="cofre-heartbeat",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=1)  # it waits on `stop`: back at once, unless mid-emit
        _REPLACED.reset(token)


def _heartbeat_event(context) -> dict:
    """The event Prefect's engine emits for this flow run: its resource, flow, deployment
    and tags (`prefect.flow_engine`, `_build_heartbeat_event_template`)."""
    from prefect import __version__
    from prefect.events.related import RelatedResource, tags_as_related_resources

    run = context.flow_run
    related = [
        RelatedResource.model_validate(
            {"prefect.resource.id": f"prefect.flow.{run.flow_id}",
             "prefect.resource.role": "flow",
             "prefect.resource.name": context.flow.name if context.flow else ""}
        )
    ]  # fmt: skip
    if run.deployment_id:
        related.append(
            RelatedResource.model_validate(
                {"prefect.resource.id": f"prefect.deployment.{run.deployment_id}",
                 "prefect.resource.role": "deployment"}
            )
        )  # fmt: skip
    related += tags_as_related_resources(set(run.tags or []))
    resource = {
        "prefect.resource.id": f"prefect.flow-run.{run.id}",
        "prefect.resource.name": run.name or "",
        "prefect.version": __version__,
    }
    return {"event": "prefect.flow-run.heartbeat", "resource": resource, "related": related}


def _beat(event: dict, seconds: int, stop: threading.Event) -> None:
    from prefect.events import emit_event

    while not stop.is_set():
        with contextlib.suppress(Exception):  # as the engine's: a missed beat is not an error
            emit_event(**event)
        if stop.wait(seconds):
            return
