"""What Prefect itself costs a Cofre-shaped run: a parent flow calling 4 stage subflows of one
task each, no data work. Each subflow is timed from the end of its body to its return, with
the stage subflows' heartbeats on (Prefect's default) and off (what `full_pipeline` does).

    PREFECT_API_URL=http://127.0.0.1:4200/api python -m benchmarks.prefect_overhead   # JSON
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.settings import temporary_settings

_ends: list[float] = []


@task(cache_policy=NO_CACHE)
def _bookkeeping() -> int:
    return 1


@flow
def _stage(index: int) -> int:
    _bookkeeping()
    _ends.append(time.perf_counter())
    return index


@flow
def _pipeline(heartbeats: bool) -> list[float]:
    """Seconds from each subflow body's end to the subflow call's return."""
    closing = []
    for index in range(4):
        quiet = temporary_settings(updates={"flows.heartbeat_frequency": None})
        with nullcontext() if heartbeats else quiet:
            _stage(index)
        closing.append(time.perf_counter() - _ends[-1])
    return closing


def main() -> None:
    results = {}
    for heartbeats in (True, False, True, False):
        started = time.perf_counter()
        closing = _pipeline(heartbeats)
        key = "subflow heartbeats on" if heartbeats else "subflow heartbeats off"
        results.setdefault(key, []).append(
            {
                "wall": round(time.perf_counter() - started, 2),
                "closing": [round(c, 2) for c in closing],
            }
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
