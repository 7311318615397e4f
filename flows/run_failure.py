"""One notification per failed run: the outermost Cofre flow of a process says it failed,
once, as `cofre.run.failed` (blocks/runtime/events.py), which the `cofre-run-failed`
automation turns into a notification naming the flow run (blocks/runtime/alerts.py).

Not sent: by a stage flow the full pipeline calls (the pipeline's own failure says it, naming
the stage), for an error an event already told of (a failed quality gate, a security
incident: `events.notified_by`), and for a run refused because its home is busy, which is its
own event, `cofre.home.busy`, not a failure alert. A run that dies without raising (killed,
out of memory) cannot say it: Prefect marks a deployment's run Crashed, and the
`cofre-run-crashed` automation notifies that.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from blocks.errors import HomeBusy
from blocks.runtime import events
from tasks.runlog import run_logger

_depth = threading.local()  # Cofre flows in progress on this thread (stage flows nest)


@contextmanager
def notify_run_failure(flow: str) -> Iterator[None]:
    """Around a Cofre flow's body: on an `Exception` leaving the outermost flow, send its one
    event (`cofre.home.busy` for `HomeBusy`, else `cofre.run.failed` unless already told)."""
    depth = getattr(_depth, "value", 0)
    _depth.value = depth + 1
    try:
        yield
    except HomeBusy as exc:
        if depth == 0:
            _send(events.home_busy, exc, flow)
        raise
    except Exception as exc:
        if depth == 0 and events.notified_by(exc) is None:
            _send(events.run_failed, exc, flow)
        raise
    finally:
        _depth.value = depth


def _send(event: Callable[..., bool], error: Exception, flow: str) -> None:
    """Send; never let the event replace the run's own error (a payload refused as
    secret-shaped is logged, not raised)."""
    from prefect.runtime import flow_run

    try:
        event(error, flow=flow, run_id=str(flow_run.id or ""))
    except Exception as refused:  # the run's error is the one to report
        run_logger(__name__).warning("Could not send %s's event: %s", flow, refused)
