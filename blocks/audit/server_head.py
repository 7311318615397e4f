"""The audit head on the Prefect server: a Variable per home and trail, and a markdown artifact
per run.

Prefect is a second witness, never a dependency: every call runs with no client retries, a
short request timeout and a hard deadline, and a failure comes back as a warning string. Outside
a flow run the server is only contacted when `PREFECT_API_URL` is set, so `cofre audit verify`
never starts a temporary server (or hangs) on a machine without one.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

VARIABLE_PREFIX = "cofre-audit-head-"
ARTIFACT_KEY = "audit-head"
TIMEOUT_SECONDS = 5.0


def variable_name(home: str, trail_id: str) -> str:
    """The Prefect Variable holding the head of trail `trail_id` in the home fingerprinted
    `home`. Named by both: a new home at an old path (a new keyring, so a new trail id) never
    reads the old home's head, and two homes sharing a key never overwrite each other's."""
    return f"{VARIABLE_PREFIX}{home}-{trail_id}"


def _in_run() -> bool:
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def prefect_target() -> str | None:
    """Where Prefect anchors go ("<api url>" or "the run's API"), or None when there is none."""
    import prefect.settings

    url = prefect.settings.PREFECT_API_URL.value()
    if url:
        return str(url)
    return "the flow run's API" if _in_run() else None


def _bounded(work: Callable[[], Any], timeout: float) -> Any:
    """Run `work` with a hard deadline; raise TimeoutError when the API does not answer."""
    import prefect.settings

    outcome: dict[str, Any] = {}
    updates = {
        prefect.settings.PREFECT_CLIENT_MAX_RETRIES: 0,
        prefect.settings.PREFECT_API_REQUEST_TIMEOUT: timeout,
    }

    def run() -> None:
        try:
            with prefect.settings.temporary_settings(updates=updates):
                outcome["value"] = work()
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    # The thread gets a copy of this context, so it sees the flow run and test settings.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(run,), daemon=True)
    thread.start()
    thread.join(timeout * 3)
    if thread.is_alive():
        raise TimeoutError(f"no answer from the Prefect API within {timeout * 3:.0f} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def write_prefect_anchor(head: dict[str, Any], markdown: str) -> str | None:
    """Set the home's Variable (and, inside a run, an artifact). Returns a warning or None."""
    if prefect_target() is None:
        return "Prefect: not anchored (no PREFECT_API_URL and not inside a flow run)"

    def work() -> None:
        from prefect.artifacts import create_markdown_artifact
        from prefect.variables import Variable

        Variable.set(variable_name(head["home"], head["trail_id"]), head, overwrite=True)
        if _in_run():
            create_markdown_artifact(markdown, key=ARTIFACT_KEY, description="Audit trail head")

    try:
        _bounded(work, TIMEOUT_SECONDS)
    except Exception as exc:
        return f"Prefect: not anchored ({type(exc).__name__}: {str(exc)[:200]})"
    return None


def read_prefect_anchor(name: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the Variable `name`'s value or None, a warning when Prefect could not be asked)."""
    if prefect_target() is None:
        return None, "Prefect variable: not checked (PREFECT_API_URL is not set)"

    def work() -> Any:
        from prefect.variables import Variable

        return Variable.get(name, default=None)

    try:
        value = _bounded(work, TIMEOUT_SECONDS)
    except Exception as exc:
        return None, f"Prefect variable: not checked ({type(exc).__name__}: {str(exc)[:200]})"
    if value is not None and not isinstance(value, dict):
        return None, f"Prefect variable {name} does not hold an audit head"
    return value, None
