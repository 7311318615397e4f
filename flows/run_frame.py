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

The outermost frame builds the run's resources once (`RunFrame`: its settings, its lake, whose
S3 credentials are decrypted and audited once, and its run id) and every stage flow inside the
run works on them (`current_frame()`): a stage flow is a Prefect subflow, whose parameters
Prefect stores, so the lake cannot travel as one (its encoder would walk into the filesystem's
key and secret). Tasks receive the lake, settings and run id as arguments (no cache policy, so
they are never hashed or stored).
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from blocks import audit
from blocks.audit.anchor import anchor_audit_head
from blocks.audit.incident import check_anchors_before_run, check_trail_before_run
from blocks.errors import AuditIntegrityError, RunInterrupted
from blocks.lake import Lake
from blocks.lake.home_lock import apply_umask, hold_home, is_held, uses_s3
from blocks.runtime.ctrl_c import raise_if_ctrl_c
from blocks.runtime.heartbeat import run_heartbeat
from blocks.runtime.parameter_guard import refuse_secret_parameters
from blocks.runtime.prefect_home import where_to_see_run
from blocks.runtime.requester import run_request
from blocks.runtime.run_origin import refuse_undeclared_overrides
from blocks.secrets.input_authority import refuse_unsealed_inputs
from blocks.settings import CofreSettings
from flows.options import OPTION_NAMES, PipelineOptions
from flows.run_failure import notify_run_failure
from tasks.runlog import run_logger
from validation.catalog import Layer

F = TypeVar("F", bound=Callable[..., Any])
# Runs whose end is audited (`close_run`): a flow that closes itself but fails before it could
# (a refused `resume`, a refused warehouse URL) is closed by its frame, not left open.
_CLOSED: set[str] = set()


@dataclass(frozen=True)
class RunFrame:
    """A run's resources, built once by its outermost frame: its settings, its lake (an S3
    lake's credentials decrypted once) and the lake's `run_id=`."""

    settings: CofreSettings
    lake: Lake
    run_id: str


_RUN: ContextVar[RunFrame | None] = ContextVar("cofre_run_frame", default=None)


def current_frame() -> RunFrame:
    """The resources of the run this flow body runs in (set by `cofre_run`). Raises
    RuntimeError outside a `cofre_run` frame."""
    frame = _RUN.get()
    if frame is None:
        raise RuntimeError("current_frame() is only available inside a @cofre_run flow body.")
    return frame


def use_settings(settings: CofreSettings) -> RunFrame:
    """The run's frame from here on with other settings (a resumed run's options), the same
    lake and run id: for the rest of this flow body and the stages it calls."""
    frame = replace(current_frame(), settings=settings)
    _RUN.set(frame)  # the frame's own token restores the outer value when the run ends
    return frame


def current_run_id() -> str:
    """This Prefect flow run's id, else (no flow run) a fresh `local-<uuid>`: the lake's
    `run_id=` of a run given none."""
    from prefect.runtime import flow_run

    return str(flow_run.id or f"local-{uuid.uuid4().hex[:12]}")


def cofre_run(fn: F | None = None, *, closes_itself: bool = False) -> Any:
    """Decorate a flow function (under `@flow`). Its option parameters (flows/options.py)
    give the run's settings, its `run_id` parameter (else the flow run's id) the run id; a
    flow called inside a run uses that run's frame. With `closes_itself`, the body audits its
    own end and anchors."""
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
        opened = _RUN.get()
        if opened is not None:  # a stage inside a run: the run's resources, nothing rebuilt
            with _stage_in(opened, given, signature, command):
                return fn(*args, **kwargs)
        settings = _options_of(given).settings()
        outermost = not is_held(settings)
        if outermost:  # the key and the chain, before an S3 lake reads its credentials
            check_trail_before_run(settings)
        _refuse_unsealed(settings, signature, given)
        frame = RunFrame(
            settings, Lake.from_settings(settings), given.get("run_id") or current_run_id()
        )
        token = _RUN.set(frame)
        try:
            with (
                run_heartbeat(),  # also while waiting for the home
                hold_home(settings, _s3_lake(frame), run_id=frame.run_id, command=command),
            ):
                if not outermost:
                    return fn(*args, **kwargs)
                return _audited(frame, command, fn, (args, kwargs), closes_itself)
        finally:
            _RUN.reset(token)

    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return wrapper


def _audited(
    frame: RunFrame, command: str, body: Callable, call: tuple[Any, Any], closes_itself: bool
) -> Any:
    """The outermost run: anchors checked, PIPELINE_RUN `started`, the body, its end audited
    and anchored (unless the body `closes_itself`)."""
    args, kwargs = call
    check_anchors_before_run(frame.settings, frame.lake)  # the only writer; before a stage
    # Who asked, and whether the parameters are the deployment's
    # (blocks/runtime/requester.py).
    audit_run(frame, "started", details={"flow": command, **run_request()})
    run_id = frame.run_id
    try:
        result = body(*args, **kwargs)
        raise_if_ctrl_c()  # a Ctrl-C that native code swallowed still ends the run
    except BaseException as exc:
        if closes_itself and run_id in _CLOSED:
            raise
        interrupted = isinstance(exc, KeyboardInterrupt)
        _close_failed_run(current_frame(), command, interrupted=interrupted)
        if interrupted and not isinstance(exc, RunInterrupted):  # Ctrl-C in the body
            raise RunInterrupted(body.__name__) from exc
        raise
    finally:
        _CLOSED.discard(run_id)
        if not closes_itself:  # the full pipeline says it after its summary
            print(where_to_see_run(current_run_id()))
    if not closes_itself:
        close_run(current_frame(), "completed", details={"flow": command})
        _CLOSED.discard(run_id)
    return result


@contextmanager
def _stage_in(
    opened: RunFrame, given: dict[str, Any], signature: inspect.Signature, command: str
) -> Iterator[None]:
    """A stage flow called inside a run: the run's settings pass the stage's input checks
    (a resumed run's Olist source too), the home stays held, the frame is the run's."""
    _refuse_unsealed(opened.settings, signature, given)
    frame = replace(opened, run_id=given.get("run_id") or opened.run_id)
    token = _RUN.set(frame)
    try:
        raise_if_ctrl_c()  # between stages: no stage starts after a Ctrl-C
        with hold_home(frame.settings, _s3_lake(frame), run_id=frame.run_id, command=command):
            yield
        raise_if_ctrl_c()
    finally:
        _RUN.reset(token)


def _refuse_unsealed(
    settings: CofreSettings, signature: inspect.Signature, given: dict[str, Any]
) -> None:
    # The lake and the Olist input the sealed config allows, before any is read or any
    # credential decrypted (blocks/secrets/input_authority.py).
    refuse_unsealed_inputs(
        settings,
        reads_olist=_reads_olist(signature, given),
        synthetic_requested=given.get("synthetic_orders") is not None,
    )


def audit_run(frame: RunFrame, event: str, *, details: dict[str, Any]) -> None:
    """One PIPELINE_RUN record: `started`, `completed`, `failed` or `interrupted` (Ctrl-C)."""
    audit.record(
        audit.Action.PIPELINE_RUN,
        frame.lake.url(Layer.GOLD),
        details={"run_id": frame.run_id, "event": event, **details},
        outcome="failure" if event in ("failed", "interrupted") else "success",
    )


def close_run(frame: RunFrame, event: str, *, details: dict[str, Any]) -> dict | None:
    """Audit the run's end and anchor the trail's head; return the head (None if refused).

    A trail that cannot be anchored (cut, swapped with another home's) fails a run that had
    completed: its audit cannot be trusted. On a failed run the first error wins and the
    anchor problem is logged."""
    audit_run(frame, event, details=details)
    _CLOSED.add(frame.run_id)
    try:
        head = anchor_audit_head(
            frame.lake, run_id=frame.run_id, reason=f"run {event}", settings=frame.settings
        )
        return head.as_dict()
    except AuditIntegrityError as exc:
        run_logger(__name__).error("The audit trail was not anchored: %s", exc)
        if event == "completed":
            raise
        return None


def _close_failed_run(frame: RunFrame, command: str, *, interrupted: bool) -> None:
    event = "interrupted" if interrupted else "failed"
    try:
        close_run(frame, event, details={"flow": command})
    except Exception as exc:  # the run's own error is the one to report
        run_logger(__name__).error(
            "Could not audit the end of failed run %s: %s", frame.run_id, exc
        )


def _options_of(given: dict[str, Any]) -> PipelineOptions:
    """The pipeline options among a flow's given parameters, by name."""
    return PipelineOptions(**{name: given[name] for name in OPTION_NAMES if name in given})


def _s3_lake(frame: RunFrame) -> Lake | None:
    """The lake whose lock object the home lock also holds: an S3 lake's (blocks/lake)."""
    return frame.lake if uses_s3(frame.settings) else None


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
