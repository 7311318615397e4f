"""Cofre's own Prefect events: what happened to a home, for automations (blocks/runtime/alerts.py).

| event | when | payload |
|---|---|---|
| `cofre.quality-gate.failed` | a silver or gold gate stops a run | dataset, layer, run_id, reason |
| `cofre.security.incident` | any SECURITY_INCIDENT audit record | target, details, outcome, ... |
| `cofre.source.fallback` | a source is served from its bundled snapshot | source, reason, ... |
| `cofre.run.completed` | the full pipeline completed | run id, gold version, rows per stage |
| `cofre.run.failed` | a Cofre run failed, for a reason no other event said | flow, error, reason |
| `cofre.home.busy` | a run was refused: another run holds the home | flow, reason |

Every event's resource is the home, `cofre.home.<sha256 of its path, 12 hex>` (named by the
path); Prefect's events worker adds the flow run, flow, deployment and tags of the run that
emits it. Payloads hold names, counts and reasons only: a value named like a secret or shaped
like key material is refused (the audit trail's rule, a bug to fix, so it raises) and every
known secret value is redacted from the strings.

One event per happening, so one notification: the error behind a gate or an incident event is
marked (`mark_notified`), and a run that fails of it sends no `cofre.run.failed`
(flows/run_failure.py); a stage flow inside the pipeline sends none either (its pipeline does).

Sending never fails a run. Nothing is sent without somewhere to send it (no Prefect server
configured and no run in progress: Prefect would start a temporary API just for the event),
and Prefect's events worker sends in the background, logging a failure. Prefect is imported
here lazily, inside functions: the dashboard imports the audit trail, which imports this.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from blocks.audit.hygiene import normalised_details
from blocks.runtime.redaction import redact
from validation.catalog import Layer

GATE_FAILED = "cofre.quality-gate.failed"
SECURITY_INCIDENT = "cofre.security.incident"
SOURCE_FALLBACK = "cofre.source.fallback"
RUN_COMPLETED = "cofre.run.completed"
RUN_FAILED = "cofre.run.failed"
HOME_BUSY = "cofre.home.busy"
EVENTS = (GATE_FAILED, SECURITY_INCIDENT, SOURCE_FALLBACK, RUN_COMPLETED, RUN_FAILED, HOME_BUSY)
NOTIFIED_BY = "cofre_notified_by"  # the attribute `mark_notified` sets on an error
E = TypeVar("E", bound=BaseException)
HOME_RESOURCE_PREFIX = "cofre.home."
MAX_TEXT = 1000  # a reason is for a notification; the whole story is in the run's logs


def home_resource(home: Path | str) -> dict[str, str]:
    """The resource every event of this home is about: a stable id from its resolved path."""
    resolved = str(Path(home).resolve())
    digest = hashlib.sha256(resolved.encode()).hexdigest()[:12]
    return {
        "prefect.resource.id": f"{HOME_RESOURCE_PREFIX}{digest}",
        "prefect.resource.name": resolved,
    }


def emit(
    event: str,
    payload: Mapping[str, Any],
    *,
    related: Sequence[Mapping[str, str]] = (),
    home: Path | str | None = None,
) -> bool:
    """Hand one Cofre event to Prefect; True when handed over, False when there is nowhere
    to send it. Raises ValueError for an unknown event name or a payload holding what looks
    like a secret (the value is never shown)."""
    if event not in EVENTS:
        raise ValueError(f"Unknown Cofre event {event!r}; declare it in blocks/runtime/events.py.")
    clean = _scrubbed(normalised_details(payload))
    if not _somewhere_to_send():
        return False
    from prefect.events import emit_event

    if home is None:
        from blocks.env_settings import env_only_settings

        home = env_only_settings().home
    sent = emit_event(
        event, resource=home_resource(home), related=[dict(r) for r in related], payload=clean
    )
    return sent is not None


def _scrubbed(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _scrubbed(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item) for item in value]
    if isinstance(value, str):
        text = redact(value)
        return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
    return value


def _somewhere_to_send() -> bool:
    """A Prefect server is configured, or a flow or task run is in progress (its API, a
    temporary one included, receives the event)."""
    from blocks.runtime.prefect_home import server_configured

    if "prefect" not in sys.modules and not server_configured():
        return False  # not even imported: no run in progress, no server to send to
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.settings import PREFECT_API_URL

    return bool(PREFECT_API_URL.value() or FlowRunContext.get() or TaskRunContext.get())


# -- the events ------------------------------------------------------------------------------
def gate_failed(error: Exception, *, layer: Layer, run_id: str) -> bool:
    """`cofre.quality-gate.failed` for a `QualityGateFailed` of the silver or gold stage."""
    dataset = getattr(error, "dataset", None) or layer
    mark_notified(error, GATE_FAILED)
    return emit(
        GATE_FAILED,
        {"dataset": dataset, "layer": layer, "run_id": run_id, "reason": str(error)},
        related=[_resource("dataset", f"{layer}.{dataset}", dataset)],
    )


def audit_recorded(record: Mapping[str, Any], home: Path | str | None = None) -> bool:
    """The event an audit record calls for (blocks/audit/trail.py `record` calls this for every
    record): SECURITY_INCIDENT and SOURCE_FALLBACK records have one, the others none."""
    action, target, details = record["action"], record["target"], record.get("details") or {}
    if action == "SECURITY_INCIDENT":
        payload = {
            "target": target,
            "details": details,
            "outcome": record.get("outcome"),
            "compliance": record.get("compliance"),
            "audit_seq": record.get("seq"),
        }
        return emit(SECURITY_INCIDENT, payload, home=home)
    if action == "SOURCE_FALLBACK":
        payload = {"source": target, **details, "audit_seq": record.get("seq")}
        return emit(
            SOURCE_FALLBACK, payload, related=[_resource("source", target, target)], home=home
        )
    return False


def run_completed(figures: Mapping[str, Any]) -> bool:
    """`cofre.run.completed` with the run summary's key figures (`RunSummary.key_figures`)."""
    return emit(RUN_COMPLETED, figures)


def run_failed(error: BaseException, *, flow: str, run_id: str) -> bool:
    """`cofre.run.failed` for a run that ended in `error` (flows/run_failure.py sends it once,
    for the outermost flow, unless the error was already an event of its own)."""
    payload = {"flow": flow, "run_id": run_id, "error": type(error).__name__}
    return emit(RUN_FAILED, payload | {"reason": str(error) or type(error).__name__})


def home_busy(error: BaseException, *, flow: str, run_id: str) -> bool:
    """`cofre.home.busy`: the run was refused (or lost its lake lock): another run holds the
    home. Not a failure of the data; the reason names the holder."""
    return emit(HOME_BUSY, {"flow": flow, "run_id": run_id, "reason": str(error)})


def mark_notified(error: E, event: str) -> E:
    """Record on `error` that `event` already tells of it; returns `error`."""
    setattr(error, NOTIFIED_BY, event)
    return error


def notified_by(error: BaseException) -> str | None:
    """The event that already told of `error` or of an error it was raised from, else None."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if event := getattr(current, NOTIFIED_BY, None):
            return event
        current = current.__cause__ or current.__context__
    return None


def _resource(role: str, key: str, name: str) -> dict[str, str]:
    return {
        "prefect.resource.id": f"cofre.{role}.{key}",
        "prefect.resource.role": role,
        "prefect.resource.name": name,
    }
