"""Which failures a Prefect task retries: an I/O task retries what may pass (a busy table, an
unreachable source), and stops at once on anything else."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def retry_only_on(
    retryable: type[Exception], *, never: tuple[type[Exception], ...] = ()
) -> Callable[[Any, Any, Any], bool]:
    """A Prefect `retry_condition_fn`: retry a failed task run only when its exception is a
    `retryable` (and not one of `never`); any other failure ends the run at once."""

    def condition(task: Any, task_run: Any, state: Any) -> bool:
        try:
            state.result()
        except never:
            return False
        except retryable:
            return True
        except Exception:
            return False
        return False

    return condition
