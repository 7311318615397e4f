"""The frame every Cofre flow runs in: `@cofre_run` under `@flow`.

Before the body: a deployment's flow run created with job variables its deployment does not
declare is refused (blocks/runtime/run_origin.py), secret-shaped parameters are refused (runs
created through the API or a deployment never passed the CLI's check), the umask is set, the audit
key is proved against the trail and the chain verified (before any secret is read: a wrong key
never writes), and COFRE_HOME's lock is taken (blocks/lake/home_lock.py), so nothing is written
before this run is the home's only writer. Then, before the body, the trail is checked against
its anchors (blocks/audit/incident.py): a problem the end-of-run anchor would refuse stops the
run here.

For the outermost flow of a process (a stage run alone, or the full pipeline; not the stage
flows the pipeline calls) the run is audited as PIPELINE_RUN at its start and end, and at
the end the audit trail's head is anchored outside the file (blocks/audit/anchor.py). The
full pipeline closes itself (`closes_itself=True`): it puts the head into its run summary.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from blocks import audit
from blocks.audit.anchor import anchor_audit_head
from blocks.audit.incident import check_anchors_before_run, check_trail_before_run
from blocks.errors import AuditIntegrityError, RunInterrupted
from blocks.lake import Lake
from blocks.lake.home_lock import apply_umask, hold_home, is_held, uses_s3
from blocks.runtime.parameter_guard import refuse_secret_parameters
from blocks.runtime.prefect_home import where_to_see_run
from blocks.runtime.requester import run_request
from blocks.runtime.run_origin import refuse_undeclared_overrides
from blocks.secrets.input_authority import refuse_unsealed_inputs
from blocks.settings import CofreSettings, load_settings
from flows.options import PipelineOptions
from flows.run_failure import notify_run_failure
from tasks.runlog import current_run_id, run_logger
from validation.catalog import Layer

F = TypeVar("F", bound=Callable[..., Any])
# Runs whose end is audited (`close_run`): a flow that closes itself but fails before it could
# (a refused `resume`, a refused warehouse URL) is closed by its frame, not left open.
_CLOSED: set[str] = set()


def cofre_run(fn: F | None = None, *, closes_itself: bool = False) -> Any:
    """Decorate a flow function (under `@flow`). Reads its `lake` and `run_id` parameters
    when it has them. With `closes_itself`, the body audits its own end and anchors."""
    if fn is None:
        return functools.partial(cofre_run, closes_itself=closes_itself)
    signature = _resolved_signature(fn)
    command = f"{_module_name(fn)}.{fn.__name__}"

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with notify_run_failure(command):  # one event per failed run (flows/run_failure.py)
            return framed(*args, **kwargs)

    def framed(*args: Any, **kwargs: Any) -> Any:
        apply_umask()  # before anything below can create a file
        refuse_undeclared_overrides()  # who asked, before any setting or secret is read
        given = signature.bind_partial(*args, **kwargs).arguments
        refuse_secret_parameters(given)  # before building an S3 lake would connect
        settings = load_settings(lake_url=given.get("lake"), olist_dir=given.get("olist_dir"))
        outermost = not is_held(settings)
        if outermost:  # the key and the chain, before an S3 lake reads its credentials
            check_trail_before_run(settings)
        # The lake and the Olist input the sealed config allows, before any is read or any
        # credential decrypted (blocks/secrets/input_authority.py).
        refuse_unsealed_inputs(
            settings,
            reads_olist=_reads_olist(signature, given),
            synthetic_requested=given.get("synthetic_orders") is not None,
        )
        lake = Lake.from_settings(settings) if uses_s3(settings) else None
        run_id = given.get("run_id") or _flow_run_id()
        with hold_home(settings, lake, run_id=run_id, command=command):
            if not outermost:
                return fn(*args, **kwargs)
            lake = lake or Lake.from_settings(settings)
            check_anchors_before_run(settings, lake)  # the only writer now; before any stage
            # Who asked, and whether the parameters are the deployment's
            # (blocks/runtime/requester.py).
            audit_run(lake, run_id, "started", details={"flow": command, **run_request()})
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                if closes_itself and run_id in _CLOSED:
                    raise
                interrupted = isinstance(exc, KeyboardInterrupt)
                _close_failed_run(lake, run_id, command, interrupted=interrupted)
                if interrupted and not isinstance(exc, RunInterrupted):  # Ctrl-C in the body
                    raise RunInterrupted(fn.__name__) from exc
                raise
            finally:
                _CLOSED.discard(run_id)
                if not closes_itself:  # the full pipeline says it after its summary
                    print(where_to_see_run(_flow_run_id()))
            if not closes_itself:
                close_run(lake, run_id, "completed", details={"flow": command})
                _CLOSED.discard(run_id)
            return result

    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return wrapper


@dataclass(frozen=True)
class StageFrame:
    """What a stage's body starts from: its settings, its lake and the lake's `run_id=`."""

    settings: CofreSettings
    lake: Lake
    run_id: str


def stage_frame(options: PipelineOptions, run_id: str | None = None) -> StageFrame:
    """Settings from the flow's options, their lake, and `run_id` (else this flow run's)."""
    settings = options.settings()
    return StageFrame(settings, Lake.from_settings(settings), run_id or current_run_id())


def audit_run(lake: Lake, run_id: str, event: str, *, details: dict[str, Any]) -> None:
    """One PIPELINE_RUN record: `started`, `completed`, `failed` or `interrupted` (Ctrl-C)."""
    audit.record(
        audit.Action.PIPELINE_RUN,
        lake.url(Layer.GOLD),
        details={"run_id": run_id, "event": event, **details},
        outcome="failure" if event in ("failed", "interrupted") else "success",
    )


def close_run(lake: Lake, run_id: str, event: str, *, details: dict[str, Any]) -> dict | None:
    """Audit the run's end and anchor the trail's head; return the head (None if refused).

    A trail that cannot be anchored (cut, swapped with another home's) fails a run that had
    completed: its audit cannot be trusted. On a failed run the first error wins and the
    anchor problem is logged."""
    audit_run(lake, run_id, event, details=details)
    _CLOSED.add(run_id)
    try:
        return anchor_audit_head(lake, run_id=run_id, reason=f"run {event}").as_dict()
    except AuditIntegrityError as exc:
        run_logger(__name__).error("The audit trail was not anchored: %s", exc)
        if event == "completed":
            raise
        return None


def _close_failed_run(lake: Lake, run_id: str, command: str, *, interrupted: bool) -> None:
    event = "interrupted" if interrupted else "failed"
    try:
        close_run(lake, run_id, event, details={"flow": command})
    except Exception as exc:  # the run's own error is the one to report
        run_logger(__name__).error("Could not audit the end of failed run %s: %s", run_id, exc)


def _reads_olist(signature: inspect.Signature, given: dict[str, Any]) -> bool:
    """Whether the flow reads Olist input: it takes `olist_dir` and `only` does not leave
    Olist out (the IPCA and weather deployments)."""
    return "olist_dir" in signature.parameters and "olist" in (given.get("only") or ["olist"])


def _resolved_signature(fn: Callable[..., Any]) -> inspect.Signature:
    # Prefect validates parameters against the wrapper's globals, where the flow's (string)
    # annotations mean nothing: hand it the types already resolved.
    hints = typing.get_type_hints(fn)
    signature = inspect.signature(fn)
    return signature.replace(
        parameters=[
            p.replace(annotation=hints.get(n, p.annotation))
            for n, p in signature.parameters.items()
        ],
        return_annotation=hints.get("return", signature.return_annotation),
    )


def _module_name(fn: Callable[..., Any]) -> str:
    """'flows.full_pipeline', also when it runs as `python -m flows.full_pipeline`."""
    if fn.__module__ == "__main__":
        spec = getattr(sys.modules["__main__"], "__spec__", None)
        return spec.name if spec is not None else "__main__"
    return fn.__module__


def _flow_run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.id or f"local-{os.getpid()}")
