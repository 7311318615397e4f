"""A run started from the command line keeps its heartbeat, emitted by Cofre instead of
Prefect's engine (whose thread the engine waited for at every run's end), against a real
Prefect server: the event is stored for the run, once per run and not per nested flow, and
the thread is gone when the run's body ends."""

from __future__ import annotations

import threading
import uuid

from prefect import flow
from prefect.context import FlowRunContext
from prefect.settings import get_current_settings, temporary_settings

from blocks.runtime.heartbeat import engine_heartbeat_replaced, run_heartbeat
from tests.alerting import stored_events

HEARTBEAT = "prefect.flow-run.heartbeat"


def _beating() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "cofre-heartbeat"]


@flow
def _inner() -> int:
    with run_heartbeat():
        return len(_beating())


@flow
def _outer(tag: str) -> dict:
    with run_heartbeat():
        seen = {
            "run_id": str(FlowRunContext.get().flow_run.id),
            "engine_heartbeat": get_current_settings().flows.heartbeat_frequency,
            "threads": len(_beating()),
            "threads_in_nested_flow": _inner(),
        }
    seen["threads_after"] = len(_beating())
    return seen


def test_a_cli_run_emits_its_heartbeat_itself_once_and_stops_with_the_run(prefect_api):
    with (
        temporary_settings(updates={"flows.heartbeat_frequency": 60}),
        engine_heartbeat_replaced(),
    ):
        seen = _outer(uuid.uuid4().hex)
    assert seen["engine_heartbeat"] is None  # Prefect's engine started no heartbeat thread
    assert seen["threads"] == 1
    assert seen["threads_in_nested_flow"] == 1  # the run's heartbeat covers the nested flow
    assert seen["threads_after"] == 0  # stopped with the body, not up to a second later
    resource = f"prefect.flow-run.{seen['run_id']}"
    events = stored_events(
        prefect_api.url, HEARTBEAT, lambda e: e["resource"]["prefect.resource.id"] == resource
    )
    mine = [e for e in events if e["resource"]["prefect.resource.id"] == resource]
    assert len(mine) == 1  # at the start; the next one 60 s later
    assert [r["prefect.resource.role"] for r in mine[0]["related"]] == ["flow"]
    assert mine[0]["resource"]["prefect.resource.name"]


def test_without_the_command_line_prefects_own_heartbeat_stays_and_cofre_adds_none(prefect_api):
    with temporary_settings(updates={"flows.heartbeat_frequency": 60}):
        seen = _outer(uuid.uuid4().hex)
    assert seen["engine_heartbeat"] == 60
    assert seen["threads"] == 0


def test_heartbeats_turned_off_by_the_user_stay_off(prefect_api):
    with (
        temporary_settings(updates={"flows.heartbeat_frequency": None}),
        engine_heartbeat_replaced(),
    ):
        seen = _outer(uuid.uuid4().hex)
    assert seen["engine_heartbeat"] is None
    assert seen["threads"] == 0
